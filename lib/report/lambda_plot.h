// Validation loss against λ: per preset one panel of the final and one of the best validation
// loss, log λ axis, one line per decay mode × scope (colour = mode, dashed = uniform scope) with
// ± 1 standard-error bars over seeds, and no decay as a horizontal line with its ± se band.
// Where a mode × scope has several configurations at one λ (several lr), the lowest mean is
// plotted and the panel says so.
//
//   const LineFigure fig = lambda_figure(results, aggregate_variants(results));
//   if (!fig.panels.empty()) write_file_atomic("plots/val_vs_lambda.svg", render_line_figure(fig));
#pragma once

#include <vector>

#include "report/aggregate.h"
#include "report/line_chart.h"
#include "report/sweep_results.h"

namespace wdlab {

// No panels when no configuration decays with λ > 0.
LineFigure lambda_figure(const SweepResults& results, const std::vector<PresetVariants>& presets);

}  // namespace wdlab
