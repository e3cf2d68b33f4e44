// From a spec to the list of runs: presets x (the spec's factors, first varying slowest), each
// point resolved into a full config exactly as `wdlab run` would resolve it, checked, and given
// its config id. Points whose config equals an earlier one are run once. A preset that cannot
// take part (no such scale under "all", no published λ for "@published") is left out with the
// reason, not silently.
//
//   SweepPlan plan = expand_sweep(load_sweep_spec(file));
#pragma once

#include "sweep/plan.h"
#include "sweep/spec.h"

namespace wdlab {

SweepPlan expand_sweep(const SweepSpec& spec);

}  // namespace wdlab
