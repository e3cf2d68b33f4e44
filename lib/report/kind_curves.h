// Per-parameter-kind curves against step for one preset: the metrics the trainer logs per kind
// (matrix, embedding, bias, norm_gain, norm_bias, router, expert):
//
//   "norm"        ‖w‖ per kind (runs without per-kind keys: the decayed / not-decayed norms)
//   "grad_norm"   ‖g‖ per kind before clipping, and the total (older runs: the total only)
//   "update_rel"  ‖Δw‖ / ‖w‖ per kind (older runs: none)
//
// One panel per decay option at its best configuration in the sweep (findings.h), one colour per
// kind (the same in every plot), mean over finished seeds with the range shaded, log y when the
// values span a decade (then in every panel, so they compare).
//
//   const LineFigure fig = kind_curve_figure(results, preset, "norm");
//   if (!fig.panels.empty()) write_file_atomic("plots/norms_gpt2.svg", render_line_figure(fig));
#pragma once

#include <string>
#include <vector>

#include "report/aggregate.h"
#include "report/line_chart.h"
#include "report/sweep_results.h"

namespace wdlab {

// The kinds in the trainer's order, then any other.
const std::vector<std::string>& parameter_kinds();

// `metric` is "norm", "grad_norm" or "update_rel". No panels when no run logged the metric.
LineFigure kind_curve_figure(const SweepResults& results, const PresetVariants& preset,
                             const std::string& metric);

// The same for the configurations given, one panel each in that order (report/gradient_rise.h
// puts AdamW and AdamC side by side).
LineFigure kind_curve_figure_of(const std::vector<const Variant*>& variants,
                                const std::string& metric, const std::string& title,
                                const std::string& subtitle);

}  // namespace wdlab
