// Line charts as SVG: a figure of panels sharing one legend, each panel with its own axes,
// nice ticks, light grid, optional shaded bands (e.g. the range over seeds) and a dotted
// reference line (e.g. the entropy floor). Each series is an element
// <g class="series" data-panel="P" data-series="S"> so tests and scripts can find it.
//
//   LineFigure fig{"Loss curves", "smoke sweep", {panel}, {{"coupled", "#4e79a7", "solid"}}};
//   write_file_atomic("loss.svg", render_line_figure(fig));
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace wdlab {

struct LineSeries {
  std::string name;
  std::string color;
  std::vector<double> x, y;
  std::vector<double> lo, hi;  // band, same length as x, or empty
  bool dashed = false;
  bool markers = false;
  double width = 2.0;
};

struct LinePanel {
  std::string title;
  std::string note;  // small grey line under the title
  std::string x_label, y_label;
  std::vector<LineSeries> series;
  std::optional<double> reference_y;
  std::string reference_label;
  std::optional<double> y_min, y_max;  // default: the data's range
};

struct LegendEntry {
  std::string name;
  std::string color;
  std::string style = "solid";  // solid | dashed | dotted | band
};

struct LineFigure {
  std::string title;
  std::string subtitle;
  std::vector<LinePanel> panels;
  std::vector<LegendEntry> legend;
  int columns = 2;
};

std::string render_line_figure(const LineFigure& figure);

}  // namespace wdlab
