// The report's loss-curve figure: one panel per preset; colour = decay mode (no decay grey,
// coupled L2 blue, decoupled orange), shaded by λ (darker: larger); dash = scope (solid
// selective, dashed uniform). Validation loss thick with dots at the evaluations, training loss
// of the same runs thin and faint (a gap between them is overfitting), the range over seeds
// shaded, the entropy floor of the synthetic data dotted; log y where the losses span a
// decade.
//
//   std::string svg = render_line_figure(loss_curve_figure(results, aggregate_variants(results)));
#pragma once

#include <map>
#include <string>
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

// The shade of each (decay mode, λ) over all presets: "decoupled|0.1" -> [0.25, 1], light for
// the mode's smallest λ, dark for its largest, so a λ has one colour in every panel and plot.
std::map<std::string, double> lambda_shades(const std::vector<PresetVariants>& presets);
std::string variant_color(const Variant& v, const std::map<std::string, double>& shades);

}  // namespace wdlab
