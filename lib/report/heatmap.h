// Heatmaps as SVG: panels side by side over categorical axes (e.g. λ across, lr up), one colour
// scale shared by all panels so they compare at a glance, a colour bar, the value written in
// every cell and the lowest cell of each panel outlined. Cells without a value show a mark
// ("diverged", "missing") on grey. Each panel is <g class="heatmap" data-panel="P">, each cell
// <rect class="cell" data-x data-y data-value>.
//
//   HeatmapFigure fig{"Final validation loss", "", "val loss", {panel}};
//   write_file_atomic("heatmap.svg", render_heatmap_figure(fig));
#pragma once

#include <string>
#include <vector>

namespace wdlab {

struct HeatmapPanel {
  std::string title;
  std::string x_label, y_label;
  std::vector<std::string> x_ticks;             // left to right
  std::vector<std::string> y_ticks;             // bottom to top
  std::vector<std::vector<double>> values;      // [y][x]; NaN: no value
  std::vector<std::vector<std::string>> marks;  // [y][x]: shown when the value is NaN
};

struct HeatmapFigure {
  std::string title;
  std::string subtitle;
  std::string value_label;  // colour bar caption
  std::vector<HeatmapPanel> panels;
  bool low_is_dark = true;  // lower values darker: a loss basin reads as a dark valley
};

std::string render_heatmap_figure(const HeatmapFigure& figure);

}  // namespace wdlab
