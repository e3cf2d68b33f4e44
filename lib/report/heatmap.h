// Heatmaps as SVG: panels side by side over categorical axes (e.g. λ across, lr up), one colour
// scale shared by all panels so they compare at a glance, a colour bar, the value written in
// every cell and the lowest cell of each panel outlined. Cells without a value show a mark
// ("diverged", "missing") on grey. Each panel is <g class="heatmap" data-panel="P">, each cell
// <rect class="cell" data-x data-y data-value>. Optional per panel: a standard error under each
// value ("± 0.004", data-se on the cell), and a valley line through one point per row (e.g. the
// fitted best λ of each learning rate), <g class="valley"> with one <polygon> marker per row.
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
  std::vector<std::vector<double>> errors;      // [y][x] standard errors, or empty; NaN: none
  // Per row (y), a position along x in cell units (0 = the first cell's centre, 1 = the
  // second's, fractions between), or empty; NaN: no point in that row.
  std::vector<double> valley_x;
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
