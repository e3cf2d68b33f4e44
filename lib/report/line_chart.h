// Line charts as SVG: a figure of panels sharing one legend (below the panels, wrapped to the
// figure's width), each panel with its own axes (linear or log10), nice ticks, light grid,
// optional shaded bands (e.g. the range over seeds), error bars, horizontal reference bands
// (e.g. no decay's mean ± se) and a dotted reference line (e.g. the entropy floor). Each series
// is an element <g class="series" data-panel="P" data-series="S"> so tests and scripts can find
// it; a log axis is marked data-log-x / data-log-y="1" on the panel's <g class="panel">.
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
  double opacity = 1.0;
  std::vector<double> err = {};  // ± error bar per point (same length as x), or empty
};

// A horizontal line at y with a shaded band [lo, hi] across the panel, e.g. a configuration
// without the x axis' parameter (no decay on a λ axis).
struct HorizontalBand {
  std::string name;
  std::string color;
  double y = 0, lo = 0, hi = 0;
};

struct LinePanel {
  std::string title;
  std::string note;  // small grey line under the title
  std::string x_label, y_label;
  std::vector<LineSeries> series;
  std::optional<double> reference_y;
  std::string reference_label;
  std::optional<double> y_min, y_max;  // default: the data's range; y_max only lowers it
  bool fixed_y = false;                // y_min and y_max exactly (panels that share a scale)
  bool log_x = false, log_y = false;   // log10 axes; values <= 0 are left out
  std::vector<HorizontalBand> bands = {};
};

// Do the panel's positive y values span at least `ratio` (max / min)? Then log_y reads better.
bool spans_decades(const LinePanel& panel, double ratio = 10.0);
// One y range for all panels (their series, bands and error bars), so they compare at a glance.
void share_y_range(std::vector<LinePanel>& panels);

struct LegendEntry {
  std::string name;
  std::string color;
  std::string style = "solid";  // solid | dashed | dotted | band
  double width = 2.5;
  double opacity = 1.0;
};

// Generous width of `text` in pixels at `font_size` (system sans-serif), for layout.
double text_width(const std::string& text, double font_size);

struct LineFigure {
  std::string title;
  std::string subtitle;  // wrapped to the figure's width
  std::vector<LinePanel> panels;
  std::vector<LegendEntry> legend;
  int columns = 2;
};

std::string render_line_figure(const LineFigure& figure);

}  // namespace wdlab
