// Fuzz target: a sweep spec's text, parsed and checked as `wdlab sweep FILE` reads it, then, when
// it names at most a few small presets and runs, expanded into its plan (every run resolved and
// parsed, references such as @published resolved) and written as sweep.json would be.
#include <string>

#include "fuzz_target.h"
#include "sweep/expand.h"
#include "sweep/spec.h"

namespace {

// Expanding loads preset files and resolves every run: kept to small plans, so that one input
// stays fast. The product's size itself is the parser's business (it must refuse huge grids).
bool small_enough(const wdlab::SweepSpec& spec) {
  if (spec.all_presets || spec.presets.size() > 2) return false;
  size_t runs = 1;
  for (const wdlab::Factor& f : spec.factors) {
    runs *= f.size();
    if (runs > 16) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wdlab::SweepSpec spec;
  if (!wdlab::fuzz::expect_clean([&] {
        spec = wdlab::parse_sweep_spec(wdlab::fuzz::text(data, size), "fuzz.json", "fuzz");
      }))
    return 0;
  if (!small_enough(spec)) return 0;
  wdlab::fuzz::expect_clean([&] {
    const wdlab::SweepPlan plan = wdlab::expand_sweep(spec);
    wdlab::plan_to_json(plan).dump(2);
  });
  return 0;
}
