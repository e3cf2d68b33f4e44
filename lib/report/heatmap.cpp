#include "report/heatmap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "report/svg.h"

namespace wdlab {

namespace {

constexpr double kMargin = 20, kHeader = 64, kCellW = 66, kCellH = 38;
// Taller cells when a standard error goes under each value, with room for a valley marker.
constexpr double kCellHWithErrors = 50;
constexpr double kLeft = 78, kTop = 30, kBottom = 52, kGap = 30, kBarW = 16, kBarArea = 90;
const char* kInk = "#222222";
const char* kMuted = "#666666";

}  // namespace

std::string render_heatmap_figure(const HeatmapFigure& f) {
  bool any_errors = false;
  for (const HeatmapPanel& p : f.panels) any_errors = any_errors || !p.errors.empty();
  const double cell_h = any_errors ? kCellHWithErrors : kCellH;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  size_t max_rows = 1;
  for (const HeatmapPanel& p : f.panels) {
    max_rows = std::max(max_rows, p.y_ticks.size());
    for (const auto& row : p.values) {
      for (double v : row) {
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
      }
    }
  }
  if (lo > hi) lo = 0, hi = 1;
  if (hi - lo < 1e-12) hi = lo + 1e-3;
  // The colours resolve the region near the minimum (the basin): values further above it than
  // three times the median's distance share the top colour (their numbers are still written).
  std::vector<double> all;
  for (const HeatmapPanel& p : f.panels) {
    for (const auto& row : p.values) {
      for (double v : row) {
        if (std::isfinite(v)) all.push_back(v);
      }
    }
  }
  bool saturated = false;
  if (all.size() >= 4) {
    std::nth_element(all.begin(), all.begin() + all.size() / 2, all.end());
    const double cap = lo + 3 * (all[all.size() / 2] - lo);
    if (cap > lo && cap < hi) hi = cap, saturated = true;
  }

  std::vector<double> panel_w;
  double width = 2 * kMargin + kBarArea;
  for (const HeatmapPanel& p : f.panels) {
    panel_w.push_back(kLeft + std::max<double>(p.x_ticks.size() * kCellW, 160));
    width += panel_w.back() + kGap;
  }
  const double plot_h = static_cast<double>(max_rows) * cell_h;
  const double height = kHeader + kTop + plot_h + kBottom + kMargin;

  Svg svg(width, height);
  svg.text(kMargin, 30, f.title,
           fmt::format("font-size=\"18\" font-weight=\"700\" fill=\"{}\"", kInk));
  if (!f.subtitle.empty())
    svg.text(kMargin, 50, f.subtitle, fmt::format("font-size=\"12\" fill=\"{}\"", kMuted));
  auto color_t = [&](double v) {
    const double t = std::clamp((v - lo) / (hi - lo), 0.0, 1.0);
    return f.low_is_dark ? t : 1 - t;
  };

  double px = kMargin;
  for (size_t k = 0; k < f.panels.size(); ++k) {
    const HeatmapPanel& p = f.panels[k];
    const double x0 = px + kLeft, y0 = kHeader + kTop;
    const size_t nx = p.x_ticks.size(), ny = p.y_ticks.size();
    svg.open(fmt::format("g class=\"heatmap\" data-panel=\"{}\"", xml_escape(p.title)));
    svg.text(x0, kHeader + 16, p.title,
             fmt::format("font-size=\"14\" font-weight=\"600\" fill=\"{}\"", kInk));
    // Lowest cell, outlined.
    size_t best_x = nx, best_y = ny;
    double best = std::numeric_limits<double>::infinity();
    for (size_t y = 0; y < ny && y < p.values.size(); ++y) {
      for (size_t x = 0; x < nx && x < p.values[y].size(); ++x) {
        if (std::isfinite(p.values[y][x]) && p.values[y][x] < best)
          best = p.values[y][x], best_x = x, best_y = y;
      }
    }
    for (size_t y = 0; y < ny; ++y) {
      const double cy = y0 + static_cast<double>(ny - 1 - y) * cell_h;  // y grows upwards
      svg.text(x0 - 8, cy + cell_h / 2 + 4, p.y_ticks[y],
               fmt::format("font-size=\"11\" text-anchor=\"end\" fill=\"{}\"", kMuted));
      for (size_t x = 0; x < nx; ++x) {
        const double cx = x0 + static_cast<double>(x) * kCellW;
        const double v = y < p.values.size() && x < p.values[y].size() ? p.values[y][x] : NAN;
        const bool has = std::isfinite(v);
        const std::string fill = has ? viridis(color_t(v)) : "#eeeeee";
        const double se =
            has && y < p.errors.size() && x < p.errors[y].size() ? p.errors[y][x] : NAN;
        const bool has_se = std::isfinite(se);
        svg.rect(cx, cy, kCellW - 2, cell_h - 2,
                 fmt::format("class=\"cell\" data-x=\"{}\" data-y=\"{}\" data-value=\"{}\"{} "
                             "fill=\"{}\"",
                             xml_escape(p.x_ticks[x]), xml_escape(p.y_ticks[y]),
                             has ? fmt::format("{:.6g}", v) : "",
                             has_se ? fmt::format(" data-se=\"{:.6g}\"", se) : "", fill));
        std::string label = has ? fmt::format("{:.3f}", v) : "";
        if (!has && y < p.marks.size() && x < p.marks[y].size()) label = p.marks[y][x];
        const bool dark = has && color_t(v) < 0.55;
        const std::string ink = dark ? "#ffffff" : (has ? "#111111" : kMuted);
        // With a standard error the value moves up and the error goes under it, smaller.
        svg.text(cx + (kCellW - 2) / 2, cy + cell_h / 2 + (has_se ? -6 : 3), label,
                 fmt::format("font-size=\"11\" text-anchor=\"middle\" fill=\"{}\"", ink));
        if (has_se) {
          svg.text(cx + (kCellW - 2) / 2, cy + cell_h / 2 + 7, fmt::format("± {:.3f}", se),
                   fmt::format("font-size=\"9.5\" text-anchor=\"middle\" fill=\"{}\"", ink));
        }
      }
    }
    if (best_x < nx) {
      svg.rect(x0 + static_cast<double>(best_x) * kCellW - 1,
               y0 + static_cast<double>(ny - 1 - best_y) * cell_h - 1, kCellW, cell_h,
               "class=\"best\" fill=\"none\" stroke=\"#e8175d\" stroke-width=\"3\"");
    }
    // The valley: one marker per row at its position, near the row's bottom edge (under the
    // numbers), joined by a thin dashed line.
    std::vector<std::pair<double, double>> valley;
    for (size_t y = 0; y < ny && y < p.valley_x.size(); ++y) {
      if (!std::isfinite(p.valley_x[y])) continue;
      valley.emplace_back(x0 + p.valley_x[y] * kCellW + (kCellW - 2) / 2,
                          y0 + static_cast<double>(ny - 1 - y) * cell_h + cell_h - 9);
    }
    if (!valley.empty()) {
      svg.open("g class=\"valley\"");
      if (valley.size() > 1) {
        svg.polyline(valley,
                     "stroke=\"#e8175d\" stroke-opacity=\"0.8\" "
                     "stroke-width=\"1.5\" stroke-dasharray=\"4 3\"");
      }
      for (const auto& [vx, vy] : valley) {
        svg.polygon({{vx, vy - 4}, {vx + 4, vy}, {vx, vy + 4}, {vx - 4, vy}},
                    "fill=\"#ffffff\" stroke=\"#e8175d\" stroke-width=\"1.5\"");
      }
      svg.close("g");
    }
    for (size_t x = 0; x < nx; ++x) {
      svg.text(x0 + static_cast<double>(x) * kCellW + (kCellW - 2) / 2,
               y0 + static_cast<double>(ny) * cell_h + 14, p.x_ticks[x],
               fmt::format("font-size=\"11\" text-anchor=\"middle\" fill=\"{}\"", kMuted));
    }
    svg.text(x0 + nx * kCellW / 2, y0 + ny * cell_h + 36, p.x_label,
             fmt::format("font-size=\"12\" text-anchor=\"middle\" fill=\"{}\"", kInk));
    const double ly = y0 + ny * cell_h / 2;
    svg.text(px + 14, ly, p.y_label,
             fmt::format("font-size=\"12\" text-anchor=\"middle\" fill=\"{}\" "
                         "transform=\"rotate(-90 {} {})\"",
                         kInk, svg_number(px + 14), svg_number(ly)));
    svg.close("g");
    px += panel_w[k] + kGap;
  }

  // Colour bar: low value at the bottom.
  const double bx = px + 6, by = kHeader + kTop, bh = plot_h;
  svg.raw(
      fmt::format("<defs><linearGradient id=\"colorbar\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"));
  for (int i = 0; i <= 8; ++i) {
    const double t = i / 8.0;
    svg.raw(fmt::format("<stop offset=\"{}\" stop-color=\"{}\"/>", svg_number(t),
                        viridis(f.low_is_dark ? t : 1 - t)));
  }
  svg.raw("</linearGradient></defs>\n");
  svg.rect(bx, by, kBarW, bh, "fill=\"url(#colorbar)\" stroke=\"#cccccc\"");
  const std::vector<double> ticks = nice_ticks(lo, hi, 4);
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : hi - lo;
  for (double t : ticks) {
    const double y = by + bh - (t - lo) / (hi - lo) * bh;
    if (saturated && y < by + 14) continue;  // room for the "≥" label at the top
    svg.line(bx + kBarW, y, bx + kBarW + 4, y, "stroke=\"#999999\"");
    svg.text(bx + kBarW + 7, y + 4, tick_label(t, step),
             fmt::format("font-size=\"11\" fill=\"{}\"", kMuted));
  }
  if (saturated) {
    svg.text(bx + kBarW + 7, by + 4, "≥ " + tick_label(hi, step),
             fmt::format("font-size=\"11\" fill=\"{}\"", kMuted));
  }
  svg.text(bx, by - 10, f.value_label, fmt::format("font-size=\"11\" fill=\"{}\"", kInk));
  return svg.str();
}

}  // namespace wdlab
