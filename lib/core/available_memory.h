// How much memory a new run can use: MemAvailable from /proc/meminfo, or less when the process
// sits in a memory cgroup whose limit leaves less room (a container, a systemd slice). Under a
// cgroup the room is limit - usage, where usage leaves out the page cache the kernel would
// reclaim first (inactive_file), and every ancestor's limit counts.
//
//   const AvailableMemory have = available_memory();
//   if (need > have.bytes) ...  // have.source says where the number comes from
#pragma once

#include <filesystem>
#include <string>

namespace wdlab {

struct AvailableMemory {
  double bytes = 0.0;  // +inf when nothing could be read
  std::string source;  // "MemAvailable" or "the memory cgroup /x (limit 4.00 GB, 1.20 GB in use)"
};

// `root` is where /proc and /sys are found ("/" but for tests).
AvailableMemory available_memory(const std::filesystem::path& root = "/");

// "1.23 GB", "456 MB", "789 kB": for messages.
std::string human_bytes(double bytes);

}  // namespace wdlab
