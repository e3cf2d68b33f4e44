// Does the gradient norm rise at the end of training, and does AdamC stop it? (Defazio, "Why
// Gradients Rapidly Increase Near the End of Training", 2025, arXiv:2506.02285.)
//
// A run's rise is G_end / G_min of a logged gradient norm (the total "grad_norm" or one kind's
// "grad_norm.<kind>"): G_end is the mean over the last 5 % of the run's steps, G_min the lowest
// mean over any window of as many consecutive logged points (the end window included, so the
// rise is >= 1; a flat or falling end gives 1). Single-batch norms are noisy: the windows
// average that out.
//
// For every preset, each decoupled configuration with decay_scaling = lr is paired with each
// that differs from it only in decay_scaling adamc or adamc_all (the same λ, lr, scope, ...),
// and the pair gets a verdict:
//   reproduced      AdamW rises near the end (G_end/G_min >= 1.2, more than 2 SE above 1, and
//                   its lowest window in the second half of the run: a norm growing from the
//                   start is not the paper's late rise), AdamC's rise is smaller beyond 2 SE
//                   and at most half of AdamW's (ratio - 1)
//   partly          AdamW rises and AdamC's rise is smaller beyond 2 SE, but more than half;
//                   or no late minimum (the norm grows from the start), but over the second
//                   half (G_end over the window at the midpoint) AdamW's norm grows by >= 20 %
//                   beyond 2 SE and AdamC's grows less, beyond 2 SE
//   not reproduced  otherwise (no rise under AdamW at this scale, or AdamC does not reduce it)
// With the final validation loss AdamC minus AdamW ± SE beside it (the paper also reports a
// lower loss).
//
//   for (const RisePair& p : gradient_rise_pairs(presets)) ...p.verdict, p.sentence...
#pragma once

#include <string>
#include <vector>

#include "report/aggregate.h"
#include "report/stats.h"

namespace wdlab {

// G_end / G_min of one curve (above); NaN when it has fewer than 2 points.
double rise_ratio(const Curve& curve, double last_step);

struct RisePair {
  std::string preset;
  const Variant* adamw = nullptr;
  const Variant* adamc = nullptr;
  // By metric key ("grad_norm", "grad_norm.matrix", ...), over the finished seeds.
  std::vector<std::pair<std::string, Stat>> adamw_rise, adamc_rise;
  Stat adamw_min_step, adamc_min_step;  // where the total's lowest window starts
  Stat adamw_half, adamc_half;          // the total's G_end over the window at the midpoint
  double steps = 0.0;                   // the AdamW runs' length
  Difference val;                       // final val loss, AdamC minus AdamW
  std::string verdict;                  // reproduced | partly | not reproduced
  std::string sentence;                 // the verdict with its deciding numbers
};

std::vector<RisePair> gradient_rise_pairs(const std::vector<PresetVariants>& presets);

}  // namespace wdlab
