// Seeds aggregated into configurations ("variants"), grouped by preset, with the best variant of
// each preset and every variant's difference to its preset's baseline: the variant whose config
// matches the spec's baseline (coupled L2 with uniform decay unless the spec says otherwise) and
// that agrees on every other axis (same λ, same lr, ...).
//
//   for (const PresetVariants& p : aggregate_variants(results))
//     for (const Variant& v : p.variants) ...v.label, format_stat(v.final_val)...
#pragma once

#include <cmath>
#include <map>
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
  Stat final_val, best_val, best_step, val_minus_floor, final_train, norm_decay, norm_no_decay;
  // Σ s_t λ: decoupled decay only (n = 0 otherwise, also for old summaries that logged one).
  Stat decay_budget;
  std::map<std::string, Stat> kind_norms;  // final norm.<kind> by kind, where summaries have them
  double weight_decay = NAN;  // λ as resolved for this preset (NaN until a run has a config)
  double lr = NAN;            // optim.lr (peak)
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

// The decay option a variant belongs to: "none", "decoupled/selective", "coupled/uniform".
std::string option_of(const Variant& v);
// The same in words: "no decay", "decoupled selective", "coupled L2 uniform".
std::string option_words(const std::string& option);
// A variant in words for sentences and legends: "decoupled selective λ=8.11 (@budget_matched)",
// with lr when `with_lr`, and every other axis the variant sets ("decay_scaling=schedule").
std::string describe_variant(const Variant& v, bool with_lr, bool with_scope = true);
// 3 significant digits: "0.001", "8.11", "4.17e+03".
std::string short_number(double x);

}  // namespace wdlab
