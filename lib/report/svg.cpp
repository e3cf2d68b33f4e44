#include "report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>

namespace wdlab {

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string svg_number(double x) {
  if (!std::isfinite(x)) return "0";
  std::string s = fmt::format("{:.2f}", x);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

Svg::Svg(double width, double height) : width_(width), height_(height) {}

void Svg::rect(double x, double y, double w, double h, const std::string& attrs) {
  body_ += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {}/>\n", svg_number(x),
                       svg_number(y), svg_number(w), svg_number(h), attrs);
}

void Svg::line(double x1, double y1, double x2, double y2, const std::string& attrs) {
  body_ += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {}/>\n", svg_number(x1),
                       svg_number(y1), svg_number(x2), svg_number(y2), attrs);
}

namespace {
std::string points_attr(const std::vector<std::pair<double, double>>& points) {
  std::string s;
  for (const auto& [x, y] : points) {
    if (!s.empty()) s += ' ';
    s += svg_number(x) + "," + svg_number(y);
  }
  return s;
}
}  // namespace

void Svg::polyline(const std::vector<std::pair<double, double>>& points, const std::string& attrs) {
  body_ += fmt::format("<polyline points=\"{}\" fill=\"none\" {}/>\n", points_attr(points), attrs);
}

void Svg::polygon(const std::vector<std::pair<double, double>>& points, const std::string& attrs) {
  body_ += fmt::format("<polygon points=\"{}\" {}/>\n", points_attr(points), attrs);
}

void Svg::text(double x, double y, std::string_view content, const std::string& attrs) {
  body_ += fmt::format("<text x=\"{}\" y=\"{}\" {}>{}</text>\n", svg_number(x), svg_number(y),
                       attrs, xml_escape(content));
}

void Svg::open(const std::string& element_and_attrs) {
  body_ += "<" + element_and_attrs + ">\n";
}

void Svg::close(const std::string& element) {
  body_ += "</" + element + ">\n";
}

void Svg::raw(const std::string& markup) {
  body_ += markup;
}

std::string Svg::str() const {
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"system-ui, -apple-system, 'Segoe UI', Helvetica, "
      "Arial, sans-serif\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n{2}</svg>\n",
      svg_number(width_), svg_number(height_), body_);
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12) return {lo};
  const double raw = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

std::string tick_label(double value, double spacing) {
  const int decimals =
      spacing > 0 ? std::clamp(static_cast<int>(std::ceil(-std::log10(spacing) - 1e-9)), 0, 6) : 2;
  if (std::fabs(value) >= 1e5 || (value != 0 && std::fabs(value) < 1e-4))
    return fmt::format("{:.2g}", value);
  // 2.5-steps need one more digit than their power of ten.
  const double scaled = spacing * std::pow(10.0, decimals);
  const int extra = std::fabs(scaled - std::round(scaled)) > 1e-6 ? 1 : 0;
  return fmt::format("{:.{}f}", value, decimals + extra);
}

const std::string& palette_color(size_t i) {
  static const std::array<std::string, 10> colors = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                                     "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                                     "#9c755f", "#bab0ac"};
  return colors[i % colors.size()];
}

std::string viridis(double t) {
  // Nine samples of matplotlib's viridis, linearly interpolated.
  static const std::array<std::array<double, 3>, 9> stops = {{{68, 1, 84},
                                                              {71, 44, 122},
                                                              {59, 81, 139},
                                                              {44, 113, 142},
                                                              {33, 144, 141},
                                                              {39, 173, 129},
                                                              {92, 200, 99},
                                                              {170, 220, 50},
                                                              {253, 231, 37}}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * (stops.size() - 1);
  const size_t i = std::min(static_cast<size_t>(t), stops.size() - 2);
  const double f = t - static_cast<double>(i);
  std::array<int, 3> rgb;
  for (int c = 0; c < 3; ++c)
    rgb[c] = static_cast<int>(std::lround(stops[i][c] + f * (stops[i + 1][c] - stops[i][c])));
  return fmt::format("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
}

namespace {
std::array<int, 3> rgb_of(const char* hex) {
  unsigned r = 0, g = 0, b = 0;
  std::sscanf(hex, "#%02x%02x%02x", &r, &g, &b);
  return {static_cast<int>(r), static_cast<int>(g), static_cast<int>(b)};
}
}  // namespace

std::string decay_mode_color(const std::string& mode, double shade) {
  // Light and dark ends of ColorBrewer's Blues and Oranges, both legible on white.
  const char* light = "#8c8c8c";
  const char* dark = "#333333";
  if (mode == "coupled") {
    light = "#6baed6";
    dark = "#08306b";
  } else if (mode == "decoupled") {
    light = "#fdae6b";
    dark = "#8c2d04";
  } else if (mode == "decoupled+rules") {  // decoupled with decay rules on top of the scope
    light = "#74c476";
    dark = "#00441b";
  }
  const double t = std::clamp(std::isfinite(shade) ? shade : 1.0, 0.0, 1.0);
  const std::array<int, 3> a = rgb_of(light), b = rgb_of(dark);
  std::array<int, 3> c;
  for (int i = 0; i < 3; ++i) c[i] = static_cast<int>(std::lround(a[i] + t * (b[i] - a[i])));
  return fmt::format("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
}

std::string parameter_kind_color(const std::string& kind) {
  static const std::array<std::pair<const char*, size_t>, 7> known = {{{"matrix", 0},
                                                                       {"embedding", 1},
                                                                       {"bias", 2},
                                                                       {"norm_gain", 3},
                                                                       {"norm_bias", 4},
                                                                       {"router", 6},
                                                                       {"expert", 8}}};
  for (const auto& [name, index] : known) {
    if (kind == name) return palette_color(index);
  }
  return palette_color(9 + std::hash<std::string>{}(kind) % 7);
}

}  // namespace wdlab
