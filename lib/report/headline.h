// The headline of a table-reproduction sweep: the published weight-decay table with the
// measured outcome beside each row (headline_table): the recipe (decoupled, the preset's scope and
// scaling, budget-matched λ) and what no decay, coupled L2 at its best λ and uniform scope give
// against it, each ± the standard error of the difference with the seed-noise verdict; then the
// best lr-scaled decoupled λ with its timescales τ_iter and τ_EMA beside the published τ_EMA.
// headline_cell is the older per-reference summary (the winner at "@published" or
// "@budget_matched"), kept for specs that compare modes at one λ.
//
//   TextTable t = headline_table(results, aggregate_variants(results), published_table());
#pragma once

#include <vector>

#include "report/aggregate.h"
#include "report/published_table.h"
#include "report/sweep_results.h"
#include "report/text_table.h"

namespace wdlab {

struct HeadlineCell {
  bool measured = false;
  double lambda = 0.0;  // λ of the runs at this reference (0 when the sweep has none)
  // Per decay mode, when the modes resolved the reference differently (a budget-matched λ
  // depends on how each mode scales its decay): "coupled 6.09, decoupled 4170".
  std::string lambda_by_mode;
  std::string winner;  // "decoupled/selective"
  Stat winner_val;
  std::string runner_up;
  Difference margin;  // runner-up minus winner (>= 0)
  int runs = 0;       // planned runs of the options compared, and how many completed
  int completed = 0;
};

// `ref` is "@published" or "@budget_matched".
HeadlineCell headline_cell(const PresetVariants& preset, const std::string& ref);

TextTable headline_table(const SweepResults& results, const std::vector<PresetVariants>& presets,
                         const std::vector<PublishedRow>& published);

}  // namespace wdlab
