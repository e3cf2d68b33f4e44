// An advisory lock on a file (flock), held until destruction: what lets several `wdlab sweep`
// processes share one sweep directory (runner.cpp). flock locks belong to the open file, so a
// child started with the descriptor (ProcessJob::keep_fd) keeps the lock after this process is
// gone: a run's lock lasts as long as the run, even when its sweep is killed with -9.
//
//   FileLock lock(root / ".locks" / "run-ID.lock");
//   if (!lock.try_lock(FileLock::exclusive)) ...another process holds it...
#pragma once

#include <filesystem>

namespace wdlab {

class FileLock {
 public:
  enum Mode { shared, exclusive };

  // Opens (creating it and its directory) `file`, close-on-exec; takes no lock yet.
  explicit FileLock(const std::filesystem::path& file);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // False when another process holds a conflicting lock. Throws with the system's reason and
  // the path when the filesystem cannot lock at all (some network filesystems).
  bool try_lock(Mode mode);
  // Waits for the lock; same errors.
  void lock(Mode mode);

  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return file_; }

 private:
  std::filesystem::path file_;
  int fd_ = -1;
};

}  // namespace wdlab
