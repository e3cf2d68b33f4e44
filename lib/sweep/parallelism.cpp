#include "sweep/parallelism.h"

#include <sched.h>

#include <algorithm>
#include <thread>

#include "run/config.h"

namespace wdlab {

// Measured on the project's 2-core machine with gpt2 (other engineers' builds running, hence the
// spread; 2-3 repeats). Wall seconds for two runs:
//
//   scale (d_model)        2 runs x 1 thread, side by side   2 runs x 2 threads, one by one
//   tiny  (64), 300 steps   7.4   7.7  11.4                   24.5  18.7  13.2
//   small (128), 100 steps 26.6  28.7  25.8                   69.5  52.0  46.6
//   base  (256), 30 steps  145   71.5                         165   104
//
// and one run alone, 1 vs 2 threads: tiny 3.8 4.8 3.6 vs 6.4 5.6 4.3; small 21.7 22.0 22.6 vs
// 21.0 26.2 21.4; base 71.0 71.7 vs 63.3 49.6. Side by side wins at every size (most of a step,
// attention, norms, element-wise passes and the optimizer, is single-threaded), and a second
// BLAS thread only pays for itself on base-sized matrices.
Parallelism default_parallelism(int cores, int runs, int threads, int d_model) {
  cores = std::max(1, cores);
  runs = std::max(1, runs);
  Parallelism p;
  if (threads > 0) {
    p.threads = threads;
    p.jobs = std::clamp(cores / threads, 1, runs);
  } else {
    p.jobs = std::min(cores, runs);
    p.threads = d_model >= kThreadedWidth ? std::max(1, cores / p.jobs) : 1;
  }
  return p;
}

int widest_model(const SweepPlan& plan) {
  int widest = 0;
  for (const PlannedRun& run : plan.runs) {
    const nlohmann::json c = resolve_config(load_preset(run.preset), run.scale, run.overrides);
    widest = std::max(widest, c["model"]["d_model"].get<int>());
  }
  return widest;
}

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace wdlab
