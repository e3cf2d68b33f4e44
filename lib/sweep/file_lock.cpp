#include "sweep/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace wdlab {
namespace fs = std::filesystem;

namespace {

// Not "another sweep is running": the lock cannot be taken at all (ENOLCK, EOPNOTSUPP, ...).
[[noreturn]] void cannot_lock(const fs::path& file) {
  fail(
      "{}: cannot lock: {}. The sweep directory's filesystem does not support file locks "
      "(flock), which processes sharing a sweep directory need; use a directory on a filesystem "
      "that does (local disk, NFSv4, Lustre mounted with flock)",
      file.string(), std::strerror(errno));
}

}  // namespace

FileLock::FileLock(const fs::path& file) : file_(file) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  WD_CHECK(!ec, "{}: cannot create: {}", file.parent_path().string(), ec.message());
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  WD_CHECK(fd_ >= 0, "{}: cannot create the lock file: {}", file.string(), std::strerror(errno));
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool FileLock::try_lock(Mode mode) {
  const int op = (mode == exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
  for (;;) {
    if (::flock(fd_, op) == 0) return true;
    if (errno == EWOULDBLOCK) return false;
    if (errno != EINTR) break;
  }
  cannot_lock(file_);
}

void FileLock::lock(Mode mode) {
  const int op = mode == exclusive ? LOCK_EX : LOCK_SH;
  while (::flock(fd_, op) != 0) {
    if (errno == EINTR) continue;
    cannot_lock(file_);
  }
}

}  // namespace wdlab
