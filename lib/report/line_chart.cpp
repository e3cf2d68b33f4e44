#include "report/line_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "report/svg.h"

namespace wdlab {

namespace {

constexpr double kMargin = 20, kHeader = 64, kSubtitleRow = 16;
constexpr double kPanelW = 460, kPanelH = 310;
constexpr double kPlotLeft = 62, kPlotRight = 18, kPlotTop = 46, kPlotBottom = 46;
constexpr double kLegendRow = 20, kLegendSwatch = 30, kLegendGap = 22, kLegendFont = 12;
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

// A value on the axis' scale: log10 on a log axis (NaN for values <= 0).
double scaled(double v, bool log) {
  if (!log) return v;
  return v > 0 ? std::log10(v) : NAN;
}

// Ticks in scaled units: powers of ten on a log axis (with 2 and 5 when under two decades).
std::vector<double> axis_ticks(double lo, double hi, bool log, int target) {
  if (!log) return nice_ticks(lo, hi, target);
  std::vector<double> ticks;
  for (const std::vector<double>& mantissas :
       {std::vector<double>{1}, std::vector<double>{1, 2, 5}}) {
    ticks.clear();
    for (double k = std::floor(lo); k <= std::ceil(hi); ++k) {
      for (double m : mantissas) {
        const double t = k + std::log10(m);
        if (t >= lo - 1e-9 && t <= hi + 1e-9) ticks.push_back(t);
      }
    }
    if (ticks.size() >= 3) return ticks;
  }
  std::vector<double> linear = nice_ticks(std::pow(10.0, lo), std::pow(10.0, hi), target);
  ticks.clear();
  for (double t : linear) {
    if (t > 0) ticks.push_back(std::log10(t));
  }
  return ticks;
}

std::string axis_label(double t, const std::vector<double>& ticks, bool log) {
  if (log) {
    // Compact beyond 0.001 .. 1000, so the labels fit the margin: "1e-05" -> "1e-5".
    const double v = std::pow(10.0, t);
    if (v >= 1e-3 && v < 1e4) return fmt::format("{:g}", v);
    const int exponent = static_cast<int>(std::floor(t + 1e-9));
    return fmt::format("{:g}e{}", std::round(v / std::pow(10.0, exponent)), exponent);
  }
  return tick_label(t, ticks.size() > 1 ? ticks[1] - ticks[0] : 1);
}

void draw_panel(Svg& svg, const LinePanel& p, double px, double py, double panel_w, int index) {
  const double x0 = px + kPlotLeft, y0 = py + kPlotTop;
  const double w = panel_w - kPlotLeft - kPlotRight, h = kPanelH - kPlotTop - kPlotBottom;
  svg.open(fmt::format("g class=\"panel\" data-panel=\"{}\" data-log-x=\"{}\" data-log-y=\"{}\"",
                       xml_escape(p.title), p.log_x ? 1 : 0, p.log_y ? 1 : 0));
  svg.text(x0, py + 18, p.title,
           fmt::format("font-size=\"14\" font-weight=\"600\" fill=\"{}\"", kInk));
  if (!p.note.empty())
    svg.text(x0, py + 34, p.note, fmt::format("font-size=\"11\" fill=\"{}\"", kMuted));

  auto sx = [&](double v) { return scaled(v, p.log_x); };
  auto sy = [&](double v) { return scaled(v, p.log_y); };
  Range xr, yr;
  for (const LineSeries& s : p.series) {
    for (double v : s.x) xr.add(sx(v));
    for (double v : s.y) yr.add(sy(v));
    for (double v : s.lo) yr.add(sy(v));
    for (double v : s.hi) yr.add(sy(v));
    for (size_t i = 0; i < s.err.size() && i < s.y.size(); ++i) {
      yr.add(sy(s.y[i] - s.err[i]));
      yr.add(sy(s.y[i] + s.err[i]));
    }
  }
  for (const HorizontalBand& b : p.bands) {
    yr.add(sy(b.lo));
    yr.add(sy(b.hi));
  }
  if (p.y_min) yr.lo = sy(*p.y_min);
  if (p.y_max) yr.hi = p.fixed_y ? sy(*p.y_max) : std::min(yr.hi, sy(*p.y_max));
  // The reference joins the range when it is near the data; far below, it would squash the
  // curves into a line, so it is only named at the bottom edge.
  bool reference_shown = false;
  const double ref = p.reference_y ? sy(*p.reference_y) : NAN;
  if (std::isfinite(ref) && !yr.empty() && ref >= yr.lo - 0.5 * std::max(yr.hi - yr.lo, 1e-9)) {
    yr.lo = std::min(yr.lo, ref);
    yr.hi = std::max(yr.hi, ref);
    reference_shown = true;
  }
  if (xr.empty() || yr.empty()) {
    svg.rect(x0, y0, w, h, "fill=\"#fafafa\" stroke=\"#dddddd\"");
    svg.text(x0 + w / 2, y0 + h / 2, "no data",
             fmt::format("font-size=\"12\" text-anchor=\"middle\" fill=\"{}\"", kMuted));
    svg.close("g");
    return;
  }
  if (xr.hi - xr.lo < 1e-12) xr.lo -= 0.5, xr.hi += 0.5;
  if (yr.hi - yr.lo < 1e-12) yr.lo -= 0.5, yr.hi += 0.5;
  const double pad = 0.04 * (yr.hi - yr.lo);
  yr.lo -= pad;
  yr.hi += pad;
  if (p.log_x) {  // room for the end markers and error bars
    const double xpad = 0.04 * (xr.hi - xr.lo);
    xr.lo -= xpad;
    xr.hi += xpad;
  }
  // Scaled values to pixels; NaN stays NaN.
  auto X = [&](double v) { return x0 + (v - xr.lo) / (xr.hi - xr.lo) * w; };
  auto Y = [&](double v) { return y0 + h - (v - yr.lo) / (yr.hi - yr.lo) * h; };

  svg.rect(x0, y0, w, h, "fill=\"#ffffff\" stroke=\"#cccccc\"");
  const std::vector<double> yt = axis_ticks(yr.lo, yr.hi, p.log_y, 5);
  for (double t : yt) {
    svg.line(x0, Y(t), x0 + w, Y(t), "stroke=\"#ebebeb\"");
    svg.text(x0 - 6, Y(t) + 4, axis_label(t, yt, p.log_y),
             fmt::format("font-size=\"11\" text-anchor=\"end\" fill=\"{}\"", kMuted));
  }
  const std::vector<double> xt = axis_ticks(xr.lo, xr.hi, p.log_x, 6);
  for (double t : xt) {
    svg.line(X(t), y0 + h, X(t), y0 + h + 4, "stroke=\"#999999\"");
    svg.text(X(t), y0 + h + 17, axis_label(t, xt, p.log_x),
             fmt::format("font-size=\"11\" text-anchor=\"middle\" fill=\"{}\"", kMuted));
  }
  svg.text(x0 + w / 2, y0 + h + 36, p.x_label + (p.log_x ? " (log scale)" : ""),
           fmt::format("font-size=\"12\" text-anchor=\"middle\" fill=\"{}\"", kInk));
  svg.text(px + 16, y0 + h / 2, p.y_label + (p.log_y ? " (log scale)" : ""),
           fmt::format("font-size=\"12\" text-anchor=\"middle\" fill=\"{}\" "
                       "transform=\"rotate(-90 {} {})\"",
                       kInk, svg_number(px + 16), svg_number(y0 + h / 2)));

  const std::string clip = fmt::format("panel-clip-{}", index);
  svg.raw(
      fmt::format("<clipPath id=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>"
                  "</clipPath>\n",
                  clip, svg_number(x0), svg_number(y0), svg_number(w), svg_number(h)));
  if (reference_shown) {
    svg.line(x0, Y(ref), x0 + w, Y(ref),
             "stroke=\"#555555\" stroke-width=\"1\" stroke-dasharray=\"2 3\"");
    svg.text(x0 + w - 4, Y(ref) - 4, p.reference_label,
             fmt::format("font-size=\"10\" text-anchor=\"end\" fill=\"{}\"", kMuted));
  } else if (p.reference_y) {
    svg.text(x0 + w - 4, y0 + h - 6, "↓ " + p.reference_label + " (below)",
             fmt::format("font-size=\"10\" text-anchor=\"end\" fill=\"{}\"", kMuted));
  }
  svg.open(fmt::format("g clip-path=\"url(#{})\"", clip));
  for (const HorizontalBand& b : p.bands) {
    svg.open(fmt::format("g class=\"hband\" data-panel=\"{}\" data-series=\"{}\"",
                         xml_escape(p.title), xml_escape(b.name)));
    svg.raw("<title>" + xml_escape(b.name) + "</title>\n");
    const double top = Y(sy(b.hi)), bottom = Y(sy(b.lo));
    if (std::isfinite(top) && std::isfinite(bottom) && bottom > top)
      svg.rect(x0, top, w, bottom - top, fmt::format("fill=\"{}\" fill-opacity=\"0.15\"", b.color));
    svg.line(
        x0, Y(sy(b.y)), x0 + w, Y(sy(b.y)),
        fmt::format("stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"8 3 2 3\"", b.color));
    svg.text(x0 + w / 2, (std::isfinite(top) ? top : Y(sy(b.y))) - 4, b.name,
             fmt::format("font-size=\"10\" text-anchor=\"middle\" fill=\"{}\"", b.color));
    svg.close("g");
  }
  for (const LineSeries& s : p.series) {
    svg.open(fmt::format("g class=\"series\" data-panel=\"{}\" data-series=\"{}\"",
                         xml_escape(p.title), xml_escape(s.name)));
    svg.raw("<title>" + xml_escape(s.name) + "</title>\n");
    const std::string opacity =
        s.opacity < 1 ? fmt::format(" stroke-opacity=\"{}\"", svg_number(s.opacity)) : "";
    if (s.lo.size() == s.x.size() && s.hi.size() == s.x.size() && s.x.size() > 1) {
      std::vector<std::pair<double, double>> band;
      for (size_t i = 0; i < s.x.size(); ++i) band.emplace_back(X(sx(s.x[i])), Y(sy(s.hi[i])));
      for (size_t i = s.x.size(); i-- > 0;) band.emplace_back(X(sx(s.x[i])), Y(sy(s.lo[i])));
      std::erase_if(
          band, [](const auto& q) { return !std::isfinite(q.first) || !std::isfinite(q.second); });
      svg.polygon(band, fmt::format("fill=\"{}\" fill-opacity=\"{}\" stroke=\"none\"", s.color,
                                    svg_number(0.16 * s.opacity)));
    }
    // A gap (a value the axis cannot show) breaks the line.
    std::vector<std::vector<std::pair<double, double>>> pieces(1);
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      const double x = X(sx(s.x[i])), y = Y(sy(s.y[i]));
      if (!std::isfinite(x) || !std::isfinite(y)) {
        if (!pieces.back().empty()) pieces.emplace_back();
        continue;
      }
      pieces.back().emplace_back(x, y);
      pts.emplace_back(x, y);
    }
    for (const auto& piece : pieces) {
      if (piece.empty()) continue;
      svg.polyline(piece, fmt::format("stroke=\"{}\" stroke-width=\"{}\" "
                                      "stroke-linejoin=\"round\"{}{}",
                                      s.color, svg_number(s.width),
                                      dash_of(s.dashed ? "dashed" : "solid"), opacity));
    }
    for (size_t i = 0; i < s.err.size() && i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.err[i]) || s.err[i] <= 0) continue;
      const double x = X(sx(s.x[i]));
      const double top = Y(sy(s.y[i] + s.err[i]));
      double bottom = Y(sy(s.y[i] - s.err[i]));
      if (!std::isfinite(bottom)) bottom = y0 + h;  // below zero on a log axis
      if (!std::isfinite(x) || !std::isfinite(top)) continue;
      const std::string stroke =
          fmt::format("class=\"errorbar\" stroke=\"{}\" stroke-width=\"1.4\"", s.color);
      svg.line(x, top, x, bottom, stroke);
      svg.line(x - 4, top, x + 4, top, stroke);
      svg.line(x - 4, bottom, x + 4, bottom, stroke);
    }
    if (s.markers) {
      for (const auto& [x, y] : pts)
        svg.raw(fmt::format(
            "<circle cx=\"{}\" cy=\"{}\" r=\"2.8\" fill=\"{}\"{}/>\n", svg_number(x), svg_number(y),
            s.color,
            s.opacity < 1 ? fmt::format(" fill-opacity=\"{}\"", svg_number(s.opacity)) : ""));
    }
    svg.close("g");
  }
  svg.close("g");
  svg.close("g");
}

}  // namespace

bool spans_decades(const LinePanel& panel, double ratio) {
  Range r;
  for (const LineSeries& s : panel.series) {
    for (double v : s.y) {
      if (v > 0) r.add(v);
    }
  }
  return !r.empty() && r.hi >= ratio * r.lo;
}

void share_y_range(std::vector<LinePanel>& panels) {
  Range r;
  for (const LinePanel& p : panels) {
    for (const LineSeries& s : p.series) {
      for (const std::vector<double>* values : {&s.y, &s.lo, &s.hi}) {
        for (double v : *values) {
          if (!p.log_y || v > 0) r.add(v);
        }
      }
      for (size_t i = 0; i < s.err.size() && i < s.y.size(); ++i) {
        r.add(s.y[i] + s.err[i]);
        if (!p.log_y || s.y[i] - s.err[i] > 0) r.add(s.y[i] - s.err[i]);
      }
    }
    for (const HorizontalBand& b : p.bands) {
      r.add(b.hi);
      if (!p.log_y || b.lo > 0) r.add(b.lo);
    }
  }
  if (r.empty()) return;
  for (LinePanel& p : panels) {
    p.y_min = r.lo;
    p.y_max = r.hi;
    p.fixed_y = true;
  }
}

// Words of `text` in lines no wider than `width` at `font_size`.
std::vector<std::string> wrap(const std::string& text, double width, double font_size) {
  std::vector<std::string> lines;
  std::string line, word;
  std::istringstream words(text);
  while (words >> word) {
    const std::string longer = line.empty() ? word : line + " " + word;
    if (!line.empty() && text_width(longer, font_size) > width) {
      lines.push_back(line);
      line = word;
    } else {
      line = longer;
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

double text_width(const std::string& text, double font_size) {
  double units = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte
    // Capitals and wide glyphs (λ, Σ, ‖) take more room; err on the wide side.
    units += (c >= 'A' && c <= 'Z') || c == 'm' || c == 'w' || c >= 0x80 ? 0.8 : 0.6;
  }
  return units * font_size;
}

std::string render_line_figure(const LineFigure& f) {
  const int n = std::max<int>(1, static_cast<int>(f.panels.size()));
  const int cols = std::clamp(f.columns, 1, n);
  const int rows = (n + cols - 1) / cols;
  // A lone panel gets the width of two, so titles and the legend fit.
  const double panel_w = cols == 1 ? 2 * kPanelW : kPanelW;
  const double width = 2 * kMargin + cols * panel_w;
  // The legend flows left to right below the panels and wraps at the figure's edge.
  struct Placed {
    double x, y;
  };
  std::vector<Placed> placed;
  double lx = kMargin, ly = 0;
  for (const LegendEntry& e : f.legend) {
    const double entry_w = kLegendSwatch + 8 + text_width(e.name, kLegendFont) + kLegendGap;
    if (lx > kMargin && lx + entry_w > width - kMargin) {
      lx = kMargin;
      ly += kLegendRow;
    }
    placed.push_back({lx, ly});
    lx += entry_w;
  }
  const double legend_h = f.legend.empty() ? 0 : ly + kLegendRow + 16;
  const std::vector<std::string> subtitle = wrap(f.subtitle, width - 2 * kMargin, 12);
  const double header = kHeader + kSubtitleRow * std::max<double>(0, subtitle.size() - 1.0);
  const double height = header + rows * kPanelH + legend_h + kMargin;

  Svg svg(width, height);
  svg.text(kMargin, 30, f.title,
           fmt::format("font-size=\"18\" font-weight=\"700\" fill=\"{}\"", kInk));
  for (size_t i = 0; i < subtitle.size(); ++i)
    svg.text(kMargin, 50 + kSubtitleRow * static_cast<double>(i), subtitle[i],
             fmt::format("font-size=\"12\" fill=\"{}\"", kMuted));
  for (int i = 0; i < static_cast<int>(f.panels.size()); ++i) {
    draw_panel(svg, f.panels[i], kMargin + (i % cols) * panel_w, header + (i / cols) * kPanelH,
               panel_w, i);
  }
  const double top = header + rows * kPanelH + 8;
  svg.open("g class=\"legend\"");
  for (size_t i = 0; i < f.legend.size(); ++i) {
    const LegendEntry& e = f.legend[i];
    const double x = placed[i].x, y = top + placed[i].y;
    if (e.style == "band") {
      svg.rect(x, y + 3, kLegendSwatch, 10,
               fmt::format("fill=\"{}\" fill-opacity=\"0.25\"", e.color));
    } else {
      svg.line(
          x, y + 8, x + kLegendSwatch, y + 8,
          fmt::format(
              "stroke=\"{}\" stroke-width=\"{}\"{}{}", e.color, svg_number(e.width),
              dash_of(e.style),
              e.opacity < 1 ? fmt::format(" stroke-opacity=\"{}\"", svg_number(e.opacity)) : ""));
    }
    svg.text(x + kLegendSwatch + 8, y + 12, e.name,
             fmt::format("font-size=\"{}\" fill=\"{}\"", svg_number(kLegendFont), kInk));
  }
  svg.close("g");
  return svg.str();
}

}  // namespace wdlab
