// Which share of a sweep's run list one process runs (`wdlab sweep --shard i/N`), so that N
// processes (Slurm array tasks, Kubernetes Indexed Job pods, GNU parallel jobs) together run
// every run exactly once. Run k (its 0-based index in the deterministic run list, sweep.json)
// belongs to shard k mod N: round robin, so each shard gets a mix of presets and sizes instead
// of one block of the slowest runs.
//
//   SweepShard s = parse_shard("auto", getenv_function);   // or "2/8", "auto/8"
//   if (s.owns(run.index)) ...
#pragma once

#include <functional>
#include <string>

namespace wdlab {

struct SweepShard {
  int index = 0;
  int count = 1;

  bool owns(int run_index) const { return run_index % count == index; }
  bool whole() const { return count == 1; }
};

// Reads an environment variable; null when unset (std::getenv in production).
using EnvLookup = std::function<const char*(const char*)>;

// "i/N" (0 <= i < N); "auto" takes i and N from the environment:
//   Slurm array   SLURM_ARRAY_TASK_ID, with N = SLURM_ARRAY_TASK_COUNT (or MAX - MIN + 1;
//                 i = ID - MIN), so --array=0-7 or 1-8 give shards 0/8 .. 7/8
//   Kubernetes    JOB_COMPLETION_INDEX (an Indexed Job), with N given as "auto/N"
// "auto/N" fixes N, and then takes i as is from either (SLURM_ARRAY_TASK_ID, not ID - MIN): it
// keeps the shards right when a subset of a 0..N-1 array is resubmitted (sbatch --array=3). Errors
// name what is missing or inconsistent.
SweepShard parse_shard(const std::string& arg, const EnvLookup& env);

}  // namespace wdlab
