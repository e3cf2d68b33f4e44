#include "sweep/parallelism.h"

#include <sched.h>

#include <algorithm>
#include <thread>

namespace wdlab {

// Measured by bench/run.sh (bench/RESULTS.md, "Sweep throughput") on the project's 2-core
// machine, since the model splits each batch between its threads: two single-threaded runs side
// by side against one two-threaded run, aggregate tokens/s, side by side / 2 threads =
//   gpt2 tiny 0.97, small 0.97;  llama tiny 0.90, small 0.98;  mixtral tiny 1.04, small 1.04
// (quick run, 2026-11-25). The two are equal within the run-to-run spread, so the jobs fill the
// cores first (no run waits for another) and cores without a run of their own become threads.
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
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace wdlab
