// The findings of a sweep in plain sentences, per preset, each with its effect size and seed
// noise, comparing like with like:
//
//   - every decay option (no decay, coupled L2 / decoupled × selective / uniform) at its own best
//     λ (and lr, when the sweep varied it) from the sweep, ranked by mean final validation loss;
//   - the best decay against no decay, the best decoupled against the best coupled option, and
//     uniform against selective scope at the same λ;
//   - a verdict ("beats") only where the difference clears 2 standard errors; "within noise"
//     below that; "1 seed: no noise estimate" and no verdict with a single seed.
//
//   for (const PresetVariants& p : aggregate_variants(results)) {
//     const PresetFindings f = preset_findings(p);
//     for (const std::string& s : f.sentences) ...
//   }
#pragma once

#include <string>
#include <vector>

#include "report/aggregate.h"
#include "report/stats.h"
#include "report/text_table.h"

namespace wdlab {

// One decay option at its best configuration in the sweep.
struct OptionBest {
  std::string option;  // "none", "decoupled/selective", ...
  const Variant* best = nullptr;
  int tried = 0;  // configurations of this option with a result
};

struct PresetFindings {
  std::string preset;
  std::vector<OptionBest> ranking;  // lowest mean final validation loss first
  std::string lr_note;  // "lr not tuned per mode (lr = 0.001 for all)", or how lr was chosen
  std::vector<std::string> sentences;
};

PresetFindings preset_findings(const PresetVariants& preset);

// "decoupled selective beats no decay by 0.370 ± 0.010 nats (final val loss, 2 seeds)", with
// "within noise" or "1 seed: no noise estimate" wording. `d` is loser minus winner.
std::string comparison_sentence(const std::string& winner, const std::string& loser,
                                const Difference& d, const std::string& what = "final val loss");

// One row per option: rank, option, its best λ and lr, how many configurations it tried, final
// and best validation loss (mean ± se), the step of the best, and the gap to the top option.
TextTable ranking_table(const PresetFindings& findings);

}  // namespace wdlab
