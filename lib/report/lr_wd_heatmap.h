// The lr x λ view of Loshchilov & Hutter's Fig. 2: for every preset whose configurations span
// at least two learning rates and two λ, one figure with a heatmap of the final validation loss
// per decay mode (and per value of any other axis). Under coupled L2 the good region should run
// along a diagonal (lr and λ must move together); under decoupled decay it should be roughly
// axis-aligned.
//
//   for (const auto& [preset, fig] : lr_wd_heatmaps(presets)) write(render_heatmap_figure(fig));
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "report/aggregate.h"
#include "report/heatmap.h"

namespace wdlab {

std::vector<std::pair<std::string, HeatmapFigure>> lr_wd_heatmaps(
    const std::vector<PresetVariants>& presets);

}  // namespace wdlab
