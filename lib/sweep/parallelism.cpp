#include "sweep/parallelism.h"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace wdlab {

// Measured by bench/run.sh (bench/RESULTS.md, "Sweep throughput", full run of 2026-11-25) on the
// project's 2-core machine, since a threaded run splits its batch: aggregate tokens/s of two
// single-threaded runs side by side / one two-threaded run =
//   gpt2     tiny 0.82  small 0.86  base 0.99  large 1.01
//   llama    tiny 1.24  small 0.95  base 1.07  large 1.02
//   mixtral  tiny 1.35  small 1.10  base 1.08  large 1.02
// Side by side is as fast or faster in 8 of 12 cases and never far behind, and no run waits for
// another; so the jobs fill the cores first and cores without a run of their own become threads.
Parallelism default_parallelism(int cores, int runs, int jobs, int threads) {
  cores = std::max(1, cores);
  runs = std::max(1, runs);
  Parallelism p;
  if (jobs > 0) {
    p.jobs = jobs;
  } else if (threads > 0) {
    p.jobs = std::clamp(cores / threads, 1, runs);
  } else {
    p.jobs = std::min(cores, runs);
  }
  p.threads = threads > 0 ? threads : std::max(1, cores / std::min(p.jobs, runs));
  return p;
}

int usable_cores() {
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = std::max(1, CPU_COUNT(&set));
  // A Slurm task owns --cpus-per-task cores, though without task binding (TaskPlugin=task/none)
  // its affinity still shows the whole node.
  if (const char* s = std::getenv("SLURM_CPUS_PER_TASK")) {
    const int n = std::atoi(s);
    if (n > 0) cores = std::min(cores, n);
  }
  return cores;
}

}  // namespace wdlab
