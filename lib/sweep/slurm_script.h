// The sbatch array script `wdlab slurm` writes: one array task per shard (shard.h), each task
// `srun wdlab sweep SPEC --shard auto/N --out DIR --jobs C` into the one shared sweep directory.
// Submitted unchanged; submitted again, it skips finished runs and resumes interrupted ones, so
// a failed, cancelled or preempted task is redone by resubmitting (or `sbatch --array=I`).
//
//   std::string text = slurm_script({.executable = "/opt/wdlab", .spec = ..., .runs = 36});
#pragma once

#include <string>
#include <vector>

namespace wdlab {

struct SlurmOptions {
  std::string executable;  // absolute paths: the job may start in any directory
  std::string spec;
  std::string out;
  std::string sweep_name;
  int runs = 1;           // in the plan
  int shards = 0;         // array tasks; 0: default_shards(runs)
  int parallelism = 0;    // tasks at once (the %K of --array); 0: no limit
  int cpus_per_task = 1;  // also the runs at once within a task (--jobs)
  std::string partition;  // the optional #SBATCH lines, left out when empty
  std::string time;
  std::string mem;
  std::string account;
  std::vector<std::string> extra;  // more sbatch options, e.g. "--qos=low"
};

// Many runs per task: a task costs the scheduler more than a run costs to start, and a
// cluster's MaxArraySize (1001 by default) bounds the array.
int default_shards(int runs);

std::string slurm_script(const SlurmOptions& options);

}  // namespace wdlab
