// How many runs at once, and how many threads each: the defaults of `wdlab sweep --jobs` and
// `--threads`, chosen by measurement (numbers in parallelism.cpp).
//
//   Parallelism p = default_parallelism(usable_cores(), plan.runs.size());
#pragma once

#include "sweep/plan.h"

namespace wdlab {

struct Parallelism {
  int jobs = 1;
  int threads = 1;  // per run
};

// One single-threaded run per core; when there are fewer runs (or --jobs) than cores, the spare
// cores become each run's threads. `jobs` / `threads`, when given (> 0), are kept and the other
// fills the cores.
Parallelism default_parallelism(int cores, int runs, int jobs = 0, int threads = 0);

// The cores this process may run on (its CPU affinity; containers often allow fewer than the
// machine has), and no more than a Slurm task's SLURM_CPUS_PER_TASK.
int usable_cores();

}  // namespace wdlab
