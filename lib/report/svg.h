// A minimal SVG writer for the report's plots: shapes and text appended to a document, numbers
// written compactly, text escaped. No dependency; the result opens in any browser.
//
//   Svg svg(640, 400);
//   svg.text(320, 24, "Loss curves", "font-size=\"16\" text-anchor=\"middle\"");
//   svg.polyline({{0, 0}, {10, 5}}, "stroke=\"#4e79a7\"");
//   write_file_atomic("plot.svg", svg.str());
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wdlab {

std::string xml_escape(std::string_view s);
// Compact decimal for coordinates: at most 2 decimals, no trailing zeros.
std::string svg_number(double x);

class Svg {
 public:
  Svg(double width, double height);

  // `attrs` are further attributes written as is (callers escape what they interpolate).
  void rect(double x, double y, double w, double h, const std::string& attrs);
  void line(double x1, double y1, double x2, double y2, const std::string& attrs);
  void polyline(const std::vector<std::pair<double, double>>& points, const std::string& attrs);
  void polygon(const std::vector<std::pair<double, double>>& points, const std::string& attrs);
  void text(double x, double y, std::string_view content, const std::string& attrs);
  void open(const std::string& element_and_attrs);  // e.g. "g class=\"series\""
  void close(const std::string& element);
  void raw(const std::string& markup);

  std::string str() const;  // the complete document

 private:
  double width_, height_;
  std::string body_;
};

// About `target` round tick values (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// A tick value with as many decimals as the tick spacing needs.
std::string tick_label(double value, double spacing);

// Colour-blind-safe categorical palette (Tableau 10), cycled.
const std::string& palette_color(size_t i);
// Sequential colour map (viridis) at t in [0, 1].
std::string viridis(double t);

// The colour of a decay mode, the same in every plot: no decay dark grey, coupled L2 blue,
// decoupled orange; `shade` in [0, 1] runs from light to dark (e.g. small to large λ).
std::string decay_mode_color(const std::string& mode, double shade = 1.0);
// The colour of a parameter kind (matrix, embedding, bias, norm_gain, ...), the same in every
// plot; an unknown kind gets a palette colour.
std::string parameter_kind_color(const std::string& kind);

}  // namespace wdlab
