#include "report/heatmap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "report/svg.h"

namespace wdlab {

namespace {

constexpr double kMargin = 20, kHeader = 64, kCellW = 66, kCellH = 38;
constexpr double kLeft = 78, kTop = 30, kBottom = 52, kGap = 30, kBarW = 16, kBarArea = 90;
const char* kInk = "#222222";
const char* kMuted = "#666666";

}  // namespace

std::string render_heatmap_figure(const HeatmapFigure& f) {
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
  const double plot_h = static_cast<double>(max_rows) * kCellH;
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
      const double cy = y0 + static_cast<double>(ny - 1 - y) * kCellH;  // y grows upwards
      svg.text(x0 - 8, cy + kCellH / 2 + 4, p.y_ticks[y],
               fmt::format("font-size=\"11\" text-anchor=\"end\" fill=\"{}\"", kMuted));
      for (size_t x = 0; x < nx; ++x) {
        const double cx = x0 + static_cast<double>(x) * kCellW;
        const double v = y < p.values.size() && x < p.values[y].size() ? p.values[y][x] : NAN;
        const bool has = std::isfinite(v);
        const std::string fill = has ? viridis(color_t(v)) : "#eeeeee";
        svg.rect(cx, cy, kCellW - 2, kCellH - 2,
                 fmt::format("class=\"cell\" data-x=\"{}\" data-y=\"{}\" data-value=\"{}\" "
                             "fill=\"{}\"",
                             xml_escape(p.x_ticks[x]), xml_escape(p.y_ticks[y]),
                             has ? fmt::format("{:.6g}", v) : "", fill));
        std::string label = has ? fmt::format("{:.3f}", v) : "";
        if (!has && y < p.marks.size() && x < p.marks[y].size()) label = p.marks[y][x];
        const bool dark = has && color_t(v) < 0.55;
        svg.text(cx + (kCellW - 2) / 2, cy + kCellH / 2 + 3, label,
                 fmt::format("font-size=\"11\" text-anchor=\"middle\" fill=\"{}\"",
                             dark ? "#ffffff" : (has ? "#111111" : kMuted)));
      }
    }
    if (best_x < nx) {
      svg.rect(x0 + static_cast<double>(best_x) * kCellW - 1,
               y0 + static_cast<double>(ny - 1 - best_y) * kCellH - 1, kCellW, kCellH,
               "class=\"best\" fill=\"none\" stroke=\"#e8175d\" stroke-width=\"3\"");
    }
    for (size_t x = 0; x < nx; ++x) {
      svg.text(x0 + static_cast<double>(x) * kCellW + (kCellW - 2) / 2,
               y0 + static_cast<double>(ny) * kCellH + 14, p.x_ticks[x],
               fmt::format("font-size=\"11\" text-anchor=\"middle\" fill=\"{}\"", kMuted));
    }
    svg.text(x0 + nx * kCellW / 2, y0 + ny * kCellH + 36, p.x_label,
             fmt::format("font-size=\"12\" text-anchor=\"middle\" fill=\"{}\"", kInk));
    const double ly = y0 + ny * kCellH / 2;
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
