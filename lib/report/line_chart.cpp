#include "report/line_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "report/svg.h"

namespace wdlab {

namespace {

constexpr double kMargin = 20, kHeader = 64;
constexpr double kPanelW = 460, kPanelH = 310;
constexpr double kPlotLeft = 62, kPlotRight = 18, kPlotTop = 46, kPlotBottom = 46;
constexpr double kLegendRow = 20, kLegendColW = 450;
const char* kInk = "#222222";
const char* kMuted = "#666666";

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

std::string dash_of(const std::string& style) {
  if (style == "dashed") return " stroke-dasharray=\"6 4\"";
  if (style == "dotted") return " stroke-dasharray=\"2 3\"";
  return "";
}

void draw_panel(Svg& svg, const LinePanel& p, double px, double py, double panel_w, int index) {
  const double x0 = px + kPlotLeft, y0 = py + kPlotTop;
  const double w = panel_w - kPlotLeft - kPlotRight, h = kPanelH - kPlotTop - kPlotBottom;
  svg.text(x0, py + 18, p.title,
           fmt::format("font-size=\"14\" font-weight=\"600\" fill=\"{}\"", kInk));
  if (!p.note.empty())
    svg.text(x0, py + 34, p.note, fmt::format("font-size=\"11\" fill=\"{}\"", kMuted));

  Range xr, yr;
  for (const LineSeries& s : p.series) {
    for (double v : s.x) xr.add(v);
    for (double v : s.y) yr.add(v);
    for (double v : s.lo) yr.add(v);
    for (double v : s.hi) yr.add(v);
  }
  if (p.y_min) yr.lo = *p.y_min;
  if (p.y_max) yr.hi = std::min(yr.hi, *p.y_max);
  // The reference joins the range when it is near the data; far below, it would squash the
  // curves into a line, so it is only named at the bottom edge.
  bool reference_shown = false;
  if (p.reference_y && !yr.empty() &&
      *p.reference_y >= yr.lo - 0.5 * std::max(yr.hi - yr.lo, 1e-9)) {
    yr.lo = std::min(yr.lo, *p.reference_y);
    yr.hi = std::max(yr.hi, *p.reference_y);
    reference_shown = true;
  }
  if (xr.empty() || yr.empty()) {
    svg.rect(x0, y0, w, h, "fill=\"#fafafa\" stroke=\"#dddddd\"");
    svg.text(x0 + w / 2, y0 + h / 2, "no data",
             fmt::format("font-size=\"12\" text-anchor=\"middle\" fill=\"{}\"", kMuted));
    return;
  }
  if (xr.hi - xr.lo < 1e-12) xr.hi = xr.lo + 1;
  if (yr.hi - yr.lo < 1e-12) yr.lo -= 0.5, yr.hi += 0.5;
  const double pad = 0.04 * (yr.hi - yr.lo);
  yr.lo -= pad;
  yr.hi += pad;
  auto X = [&](double v) { return x0 + (v - xr.lo) / (xr.hi - xr.lo) * w; };
  auto Y = [&](double v) { return y0 + h - (v - yr.lo) / (yr.hi - yr.lo) * h; };

  svg.rect(x0, y0, w, h, "fill=\"#ffffff\" stroke=\"#cccccc\"");
  const std::vector<double> yt = nice_ticks(yr.lo, yr.hi, 5);
  const double ys = yt.size() > 1 ? yt[1] - yt[0] : 1;
  for (double t : yt) {
    svg.line(x0, Y(t), x0 + w, Y(t), "stroke=\"#ebebeb\"");
    svg.text(x0 - 6, Y(t) + 4, tick_label(t, ys),
             fmt::format("font-size=\"11\" text-anchor=\"end\" fill=\"{}\"", kMuted));
  }
  const std::vector<double> xt = nice_ticks(xr.lo, xr.hi, 6);
  const double xs = xt.size() > 1 ? xt[1] - xt[0] : 1;
  for (double t : xt) {
    svg.line(X(t), y0 + h, X(t), y0 + h + 4, "stroke=\"#999999\"");
    svg.text(X(t), y0 + h + 17, tick_label(t, xs),
             fmt::format("font-size=\"11\" text-anchor=\"middle\" fill=\"{}\"", kMuted));
  }
  svg.text(x0 + w / 2, y0 + h + 36, p.x_label,
           fmt::format("font-size=\"12\" text-anchor=\"middle\" fill=\"{}\"", kInk));
  svg.text(px + 16, y0 + h / 2, p.y_label,
           fmt::format("font-size=\"12\" text-anchor=\"middle\" fill=\"{}\" "
                       "transform=\"rotate(-90 {} {})\"",
                       kInk, svg_number(px + 16), svg_number(y0 + h / 2)));

  const std::string clip = fmt::format("panel-clip-{}", index);
  svg.raw(
      fmt::format("<clipPath id=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>"
                  "</clipPath>\n",
                  clip, svg_number(x0), svg_number(y0), svg_number(w), svg_number(h)));
  if (reference_shown) {
    svg.line(x0, Y(*p.reference_y), x0 + w, Y(*p.reference_y),
             "stroke=\"#555555\" stroke-width=\"1\" stroke-dasharray=\"2 3\"");
    svg.text(x0 + w - 4, Y(*p.reference_y) - 4, p.reference_label,
             fmt::format("font-size=\"10\" text-anchor=\"end\" fill=\"{}\"", kMuted));
  } else if (p.reference_y) {
    svg.text(x0 + w - 4, y0 + h - 6, "↓ " + p.reference_label + " (below)",
             fmt::format("font-size=\"10\" text-anchor=\"end\" fill=\"{}\"", kMuted));
  }
  svg.open(fmt::format("g clip-path=\"url(#{})\"", clip));
  for (const LineSeries& s : p.series) {
    svg.open(fmt::format("g class=\"series\" data-panel=\"{}\" data-series=\"{}\"",
                         xml_escape(p.title), xml_escape(s.name)));
    svg.raw("<title>" + xml_escape(s.name) + "</title>\n");
    if (s.lo.size() == s.x.size() && s.hi.size() == s.x.size() && s.x.size() > 1) {
      std::vector<std::pair<double, double>> band;
      for (size_t i = 0; i < s.x.size(); ++i) band.emplace_back(X(s.x[i]), Y(s.hi[i]));
      for (size_t i = s.x.size(); i-- > 0;) band.emplace_back(X(s.x[i]), Y(s.lo[i]));
      svg.polygon(band, fmt::format("fill=\"{}\" fill-opacity=\"0.16\" stroke=\"none\"", s.color));
    }
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      pts.emplace_back(X(s.x[i]), Y(s.y[i]));
    svg.polyline(
        pts, fmt::format("stroke=\"{}\" stroke-width=\"{}\" stroke-linejoin=\"round\"{}", s.color,
                         svg_number(s.width), dash_of(s.dashed ? "dashed" : "solid")));
    if (s.markers) {
      for (const auto& [x, y] : pts)
        svg.raw(fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"{}\"/>\n", svg_number(x),
                            svg_number(y), s.color));
    }
    svg.close("g");
  }
  svg.close("g");
}

}  // namespace

std::string render_line_figure(const LineFigure& f) {
  const int n = std::max<int>(1, static_cast<int>(f.panels.size()));
  const int cols = std::clamp(f.columns, 1, n);
  const int rows = (n + cols - 1) / cols;
  // A lone panel gets the width of two, so titles and the legend fit.
  const double panel_w = cols == 1 ? 2 * kPanelW : kPanelW;
  const double width = 2 * kMargin + cols * panel_w;
  const int legend_cols = std::max(1, static_cast<int>((width - 2 * kMargin) / kLegendColW));
  const int legend_rows = (static_cast<int>(f.legend.size()) + legend_cols - 1) / legend_cols;
  const double legend_h = legend_rows > 0 ? legend_rows * kLegendRow + 16 : 0;
  const double height = kHeader + rows * kPanelH + legend_h + kMargin;

  Svg svg(width, height);
  svg.text(kMargin, 30, f.title,
           fmt::format("font-size=\"18\" font-weight=\"700\" fill=\"{}\"", kInk));
  if (!f.subtitle.empty())
    svg.text(kMargin, 50, f.subtitle, fmt::format("font-size=\"12\" fill=\"{}\"", kMuted));
  for (int i = 0; i < static_cast<int>(f.panels.size()); ++i) {
    draw_panel(svg, f.panels[i], kMargin + (i % cols) * panel_w, kHeader + (i / cols) * kPanelH,
               panel_w, i);
  }
  const double ly = kHeader + rows * kPanelH + 8;
  svg.open("g class=\"legend\"");
  for (size_t i = 0; i < f.legend.size(); ++i) {
    const LegendEntry& e = f.legend[i];
    const double x = kMargin + static_cast<double>(i % legend_cols) * kLegendColW;
    const double y = ly + static_cast<double>(i / legend_cols) * kLegendRow;
    if (e.style == "band") {
      svg.rect(x, y + 3, 28, 10, fmt::format("fill=\"{}\" fill-opacity=\"0.25\"", e.color));
    } else {
      svg.line(x, y + 8, x + 28, y + 8,
               fmt::format("stroke=\"{}\" stroke-width=\"2.5\"{}", e.color, dash_of(e.style)));
    }
    svg.text(x + 36, y + 12, e.name, fmt::format("font-size=\"12\" fill=\"{}\"", kInk));
  }
  svg.close("g");
  return svg.str();
}

}  // namespace wdlab
