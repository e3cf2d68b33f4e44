// File locks shared by sweep processes: exclusive against shared, and a run's lock inherited by
// the run (ProcessJob::keep_fd) outlives the sweep's own descriptor.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "sweep/file_lock.h"
#include "sweep/process_pool.h"

namespace wdlab {
namespace {
namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / name;
  fs::remove_all(dir);
  return dir;
}

TEST(FileLock, ExclusiveExcludesEveryOtherOpener) {
  const fs::path dir = fresh_dir("wdlab_lock_excl");
  FileLock a(dir / ".locks" / "x.lock");  // creates the directory
  FileLock b(dir / ".locks" / "x.lock");
  ASSERT_TRUE(a.try_lock(FileLock::exclusive));
  EXPECT_FALSE(b.try_lock(FileLock::exclusive));
  EXPECT_FALSE(b.try_lock(FileLock::shared));
  fs::remove_all(dir);
}

TEST(FileLock, SharedLocksCoexistAndKeepExclusiveOut) {
  const fs::path dir = fresh_dir("wdlab_lock_shared");
  FileLock a(dir / "x.lock"), b(dir / "x.lock"), c(dir / "x.lock");
  ASSERT_TRUE(a.try_lock(FileLock::shared));
  EXPECT_TRUE(b.try_lock(FileLock::shared));
  EXPECT_FALSE(c.try_lock(FileLock::exclusive));
  fs::remove_all(dir);
}

TEST(FileLock, ReleasedWithItsLastDescriptor) {
  const fs::path dir = fresh_dir("wdlab_lock_release");
  auto a = std::make_unique<FileLock>(dir / "x.lock");
  FileLock b(dir / "x.lock");
  ASSERT_TRUE(a->try_lock(FileLock::exclusive));
  a.reset();
  EXPECT_TRUE(b.try_lock(FileLock::exclusive));
  fs::remove_all(dir);
}

// What keeps a run locked after its sweep is killed with -9: the child holds the lock too.
TEST(FileLock, InheritedByAChildItOutlivesOurs) {
  const fs::path dir = fresh_dir("wdlab_lock_child");
  fs::create_directories(dir);
  std::vector<ProcessJob> jobs = {{{"/bin/sleep", "1"}, dir / "0.log", {}},
                                  {{"/bin/true"}, dir / "1.log", {}}};
  auto ours = std::make_unique<FileLock>(dir / "run.lock");
  bool held_by_child = false, free_after = false;
  run_processes(
      jobs, 2, nullptr,
      [&](size_t i, ProcessJob& job) {
        if (i == 0) {
          EXPECT_TRUE(ours->try_lock(FileLock::exclusive));
          job.keep_fd = ours->fd();
        } else {  // the sleep has started: drop our descriptor, the child's still locks
          ours.reset();
          FileLock probe(dir / "run.lock");
          held_by_child = !probe.try_lock(FileLock::exclusive);
        }
        return true;
      },
      [&](size_t i, const ProcessExit&) {
        if (i != 0) return;
        FileLock probe(dir / "run.lock");
        free_after = probe.try_lock(FileLock::exclusive);
      });
  EXPECT_TRUE(held_by_child);
  EXPECT_TRUE(free_after);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wdlab
