// How many runs at once, and how many BLAS threads each: the defaults of `wdlab sweep --jobs`
// and `--threads`, chosen by measurement (numbers in parallelism.cpp).
//
//   Parallelism p = default_parallelism(usable_cores(), plan.runs.size(), 0, widest_model(plan));
#pragma once

#include "sweep/plan.h"

namespace wdlab {

struct Parallelism {
  int jobs = 1;
  int threads = 1;  // per run
};

// One single-threaded run per core. When there are fewer runs than cores, the spare cores become
// BLAS threads, but only for models of width >= kThreadedWidth (smaller ones run slower with
// more threads). `threads`, when given (> 0), is kept and the jobs fill the cores.
Parallelism default_parallelism(int cores, int runs, int threads = 0, int d_model = 0);
constexpr int kThreadedWidth = 256;

// The largest model.d_model among the plan's runs.
int widest_model(const SweepPlan& plan);

// The cores this process may run on (its CPU affinity; containers often allow fewer than the
// machine has).
int usable_cores();

}  // namespace wdlab
