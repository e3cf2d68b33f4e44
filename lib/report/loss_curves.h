// The report's loss-curve figure: one panel per preset, one colour per configuration (the same
// colour in every panel), validation loss solid with dots at the evaluations, training loss
// dashed, the range over seeds shaded, the entropy floor of the synthetic data dotted.
//
//   std::string svg = render_line_figure(loss_curve_figure(results, aggregate_variants(results)));
#pragma once

#include <vector>

#include "report/aggregate.h"
#include "report/line_chart.h"
#include "report/sweep_results.h"

namespace wdlab {

// At most this many configurations per panel (the lowest final validation loss first).
constexpr size_t kMaxCurvesPerPanel = 10;

LineFigure loss_curve_figure(const SweepResults& results,
                             const std::vector<PresetVariants>& presets);

// Mean over runs at each step any of them logged, with the min-max band over runs.
struct SeedCurve {
  std::vector<double> step, mean, lo, hi;
};
SeedCurve combine_seeds(const std::vector<const Curve*>& curves);

}  // namespace wdlab
