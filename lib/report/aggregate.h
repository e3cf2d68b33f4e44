// Seeds aggregated into configurations ("variants"), grouped by preset, with the best variant of
// each preset and every variant's difference to its preset's baseline: the variant whose config
// matches the spec's baseline (coupled L2 with uniform decay unless the spec says otherwise) and
// that agrees on every other axis (same λ, same lr, ...).
//
//   for (const PresetVariants& p : aggregate_variants(results))
//     for (const Variant& v : p.variants) ...v.label, format_stat(v.final_val)...
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "report/stats.h"
#include "report/sweep_results.h"

namespace wdlab {

struct Variant {
  std::string preset;
  std::vector<Assignment> axes;  // the runs' axes without preset and seed
  std::string label;             // "decay_mode=coupled, weight_decay=@published"; "base" if none
  std::vector<const RunResult*> runs;
  int finished = 0, diverged = 0, incomplete = 0;
  // Over finished runs (a diverged run's last loss says nothing about the configuration).
  Stat final_val, best_val, val_minus_floor, final_train, decay_budget, norm_decay, norm_no_decay;
  double weight_decay = NAN;  // λ as resolved for this preset (NaN until a run has a config)
  std::string decay_mode, decay_scope;
  int baseline = -1;  // index of the baseline in the preset's variants; -1 when none matches
  std::optional<Difference> vs_baseline;  // final validation loss, this minus baseline
};

struct PresetVariants {
  std::string preset;
  std::vector<Variant> variants;  // in sweep order
  int best = -1;                  // lowest mean final validation loss
};

std::vector<PresetVariants> aggregate_variants(const SweepResults& results);

// "decay_mode=coupled, decay_scope=uniform": axes by their last dotted component; a value that
// came from a reference shows the reference ("@published").
std::string variant_label(const std::vector<Assignment>& axes);

}  // namespace wdlab
