#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "core/error.h"

namespace wdlab {

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  // The temporary is named by host, process and call: Slurm shards on several nodes may share a
  // directory and a process id, and two writers of one path must never share a temporary file.
  static std::atomic<uint64_t> calls{0};
  char host[256] = "host";
  ::gethostname(host, sizeof host - 1);
  const std::string tmp = path.string() + ".tmp." + host + "." + std::to_string(::getpid()) + "." +
                          std::to_string(calls.fetch_add(1));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  WD_CHECK(fd >= 0, "{}: cannot create: {}", tmp, std::strerror(errno));
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail("{}: write failed: {}", tmp, std::strerror(err));
    }
    written += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail("{}: cannot write: {}", path.string(), std::strerror(err));
  }
}

}  // namespace wdlab
