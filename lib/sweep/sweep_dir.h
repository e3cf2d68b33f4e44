// How several sweep processes share one sweep directory: the shards of a Slurm array or an
// Indexed Job, or a plain `wdlab sweep` beside them. Locks (file_lock.h) under root/.locks/:
//
//   sweep.lock    held shared by every sweep process for its lifetime ("a sweep is active")
//   plan.lock     held exclusively while one process checks or writes sweep.json and renames
//                 completed runs into place: short, so others wait for it
//   run-ID.lock   held exclusively by the process that clears, starts or resumes run ID, and
//                 inherited by the run itself: no run is ever executed twice at once, and no
//                 process clears a run another one is executing
//
// Data built once for all runs go to root/.cache/data/ (data/synthetic_cache.h); each entry is
// validated on reading, so no lock guards it.
//
// sweep.json is written atomically; it is replaced only when no other sweep is active (a spec
// that grew, as before), otherwise it must list the same runs, or the sweep refuses to start.
//
//   SweepDirMember member(root, plan, [&] { ...decide runs, apply renames... });
//   FileLock lock(run_lock_path(root, run.id));
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "sweep/file_lock.h"
#include "sweep/plan.h"

namespace wdlab {

class SweepDirMember {
 public:
  // Joins `root` (which exists): under the plan lock, writes or checks sweep.json, then calls
  // `prepare`; returns holding the shared sweep lock until destruction.
  SweepDirMember(const std::filesystem::path& root, const SweepPlan& plan,
                 const std::function<void()>& prepare);

 private:
  FileLock active_;
};

std::filesystem::path run_lock_path(const std::filesystem::path& root, const std::string& id);

// root/.cache/data (absolute): the synthetic data built once and shared by the sweep's runs and
// shards (data/synthetic_cache.h); given to every run in WDLAB_DATA_CACHE.
std::filesystem::path data_cache_dir(const std::filesystem::path& root);

}  // namespace wdlab
