// The memory a new run can use: MemAvailable, or a cgroup's room when lower (available_memory.h).
#include "core/available_memory.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

namespace wdlab {
namespace fs = std::filesystem;

namespace {

// cgroup v1 writes "no limit" as a huge number (2^63 - 4096); v2 writes "max".
constexpr double kNoLimit = 0x1p62;

// The first word of a file as a number; nullopt when missing or "max".
std::optional<double> read_number(const fs::path& file) {
  std::ifstream in(file);
  std::string word;
  if (!(in >> word) || word == "max") return std::nullopt;
  std::istringstream parse(word);
  double value = 0.0;
  if (!(parse >> value)) return std::nullopt;
  return value;
}

// The number after `key` on the line that starts with it ("MemAvailable:", "inactive_file").
std::optional<double> read_field(const fs::path& file, std::string_view key) {
  std::ifstream in(file);
  std::string line, name;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    double value = 0.0;
    if (words >> name >> value && name == key) return value;
  }
  return std::nullopt;
}

// One memory cgroup hierarchy: where it is mounted and the names of its files.
struct Hierarchy {
  fs::path mount;
  const char* limit;     // memory.max | memory.limit_in_bytes
  const char* usage;     // memory.current | memory.usage_in_bytes
  const char* inactive;  // memory.stat's reclaimable page cache: inactive_file | total_...
};

// Our cgroup and its ancestors: the tightest limit - usage among them, if any has a limit.
std::optional<AvailableMemory> cgroup_room(const Hierarchy& h, const std::string& cgroup) {
  std::error_code ec;
  const fs::path relative = fs::path(cgroup).relative_path();
  fs::path dir = relative.empty() ? h.mount : h.mount / relative;
  // In a container the path may be the host's while the mount shows our own cgroup as its root.
  if (!fs::is_directory(dir, ec)) dir = h.mount;
  std::optional<AvailableMemory> best;
  for (;;) {
    const std::optional<double> limit = read_number(dir / h.limit);
    const std::optional<double> usage = read_number(dir / h.usage);
    if (limit && *limit < kNoLimit && usage) {
      const double reclaimable = read_field(dir / "memory.stat", h.inactive).value_or(0.0);
      const double used = std::max(0.0, *usage - reclaimable);
      const double room = std::max(0.0, *limit - used);
      if (!best || room < best->bytes) {
        const std::string name = dir == h.mount ? "" : dir.lexically_relative(h.mount).string();
        best = AvailableMemory{room, fmt::format("the memory cgroup /{} (limit {}, {} in use)",
                                                 name, human_bytes(*limit), human_bytes(used))};
      }
    }
    if (dir == h.mount || !dir.has_relative_path()) break;
    dir = dir.parent_path();
  }
  return best;
}

}  // namespace

std::string human_bytes(double bytes) {
  if (bytes >= 1e9) return fmt::format("{:.2f} GB", bytes / 1e9);
  if (bytes >= 1e6) return fmt::format("{:.1f} MB", bytes / 1e6);
  return fmt::format("{:.0f} kB", bytes / 1e3);
}

AvailableMemory available_memory(const fs::path& root) {
  AvailableMemory out{std::numeric_limits<double>::infinity(), "nothing (no /proc/meminfo)"};
  if (const auto kb = read_field(root / "proc/meminfo", "MemAvailable:"))
    out = {*kb * 1024.0, "MemAvailable"};

  // /proc/self/cgroup: "0::/path" (v2), "4:memory:/path" (v1, with its controllers).
  std::ifstream in(root / "proc/self/cgroup");
  std::string line;
  const fs::path sys = root / "sys/fs/cgroup";
  while (std::getline(in, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    const std::string cgroup = line.substr(b + 1);
    std::vector<Hierarchy> hierarchies;
    if (controllers == ",,") {
      for (const fs::path& mount : {sys, sys / "unified"})
        hierarchies.push_back({mount, "memory.max", "memory.current", "inactive_file"});
    } else if (controllers.find(",memory,") != std::string::npos) {
      hierarchies.push_back({sys / "memory", "memory.limit_in_bytes", "memory.usage_in_bytes",
                             "total_inactive_file"});
    }
    for (const Hierarchy& h : hierarchies) {
      const std::optional<AvailableMemory> room = cgroup_room(h, cgroup);
      if (room && room->bytes < out.bytes) out = *room;
    }
  }
  return out;
}

}  // namespace wdlab
