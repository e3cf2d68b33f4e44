#include "report/basin.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "report/text_table.h"

namespace wdlab {
namespace {

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return NAN;
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

std::vector<std::vector<double>> cell_means(const BasinGrid& g) {
  std::vector<std::vector<double>> m(g.lrs.size(), std::vector<double>(g.lambdas.size(), NAN));
  for (size_t i = 0; i < g.lrs.size(); ++i) {
    for (size_t j = 0; j < g.lambdas.size(); ++j) m[i][j] = mean_of(g.losses[i][j]);
  }
  return m;
}

// The q-quantile of sorted values, linearly interpolated.
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return NAN;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t k = static_cast<size_t>(pos);
  if (k + 1 >= sorted.size()) return sorted.back();
  return sorted[k] + (pos - static_cast<double>(k)) * (sorted[k + 1] - sorted[k]);
}

std::string mode_words(const BasinGrid& g, const std::string& scaling) {
  if (g.mode == "coupled") return "Coupled L2 (Adam)";
  return scaling.empty() ? "Decoupled (AdamW)"
                         : fmt::format("Decoupled (AdamW, decay_scaling={})", scaling);
}

std::string slope_text(const ModeResult& m) {
  const SlopeEstimate& s = m.slope;
  if (!std::isfinite(s.valley.slope)) return "none";
  if (!std::isfinite(s.se)) return fmt::format("{:+.2f}", s.valley.slope);
  return fmt::format("{:+.2f} ± {:.2f} (95% interval [{:+.2f}, {:+.2f}])", s.valley.slope, s.se,
                     s.lo, s.hi);
}

std::string decay_scaling_of(const PresetVariants& p) {
  for (const Variant& v : p.variants) {
    if (v.decay_mode != "decoupled") continue;
    for (const RunResult* r : v.runs) {
      const nlohmann::json s = r->config_value("optim.decay_scaling");
      if (s.is_string()) return s.get<std::string>();
    }
  }
  return "";
}

// Where log10 λ* sits among the grid's λ, in cell units (0 = the first λ's cell).
double cell_position(const std::vector<double>& lambdas, double log_lambda) {
  if (!std::isfinite(log_lambda) || lambdas.empty()) return NAN;
  for (size_t j = 0; j + 1 < lambdas.size(); ++j) {
    const double a = std::log10(lambdas[j]), b = std::log10(lambdas[j + 1]);
    if (log_lambda <= b)
      return static_cast<double>(j) + std::clamp((log_lambda - a) / (b - a), 0.0, 1.0);
  }
  return static_cast<double>(lambdas.size() - 1);
}

}  // namespace

double parabola_vertex(double x0, double y0, double x1, double y1, double x2, double y2) {
  const double a = (x1 - x0) * (y1 - y2), b = (x1 - x2) * (y1 - y0);
  const double den = a - b;
  if (std::abs(den) < 1e-300) return x1;
  const double v = x1 - 0.5 * ((x1 - x0) * a - (x1 - x2) * b) / den;
  return std::isfinite(v) ? std::clamp(v, x0, x2) : x1;
}

double least_squares_slope(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = std::min(x.size(), y.size());
  if (n < 2) return NAN;
  double mx = 0.0, my = 0.0;
  for (size_t i = 0; i < n; ++i) mx += x[i], my += y[i];
  mx /= static_cast<double>(n), my /= static_cast<double>(n);
  double sxx = 0.0, sxy = 0.0;
  for (size_t i = 0; i < n; ++i) sxx += (x[i] - mx) * (x[i] - mx), sxy += (x[i] - mx) * (y[i] - my);
  return sxx > 0.0 ? sxy / sxx : NAN;
}

Valley fit_valley(const std::vector<double>& lrs, const std::vector<double>& lambdas,
                  const std::vector<std::vector<double>>& mean_loss, const std::vector<int>* rows) {
  Valley v;
  const size_t nl = lambdas.size();
  for (size_t i = 0; i < lrs.size(); ++i) {
    int best = -1;
    for (size_t j = 0; j < nl; ++j) {
      const double m = mean_loss[i][j];
      if (std::isfinite(m) && (best < 0 || m < mean_loss[i][best])) best = static_cast<int>(j);
    }
    v.best.push_back(best);
    if (best < 0) {
      v.log_lambda.push_back(NAN);
      v.interior.push_back(false);
      continue;
    }
    const size_t b = static_cast<size_t>(best);
    const bool interior = b > 0 && b + 1 < nl && std::isfinite(mean_loss[i][b - 1]) &&
                          std::isfinite(mean_loss[i][b + 1]);
    v.interior.push_back(interior);
    v.log_lambda.push_back(interior
                               ? parabola_vertex(std::log10(lambdas[b - 1]), mean_loss[i][b - 1],
                                                 std::log10(lambdas[b]), mean_loss[i][b],
                                                 std::log10(lambdas[b + 1]), mean_loss[i][b + 1])
                               : std::log10(lambdas[b]));
  }
  if (rows) {
    v.rows = *rows;
  } else {
    for (size_t i = 0; i < lrs.size(); ++i) {
      if (v.interior[i]) v.rows.push_back(static_cast<int>(i));
    }
  }
  if (static_cast<int>(v.rows.size()) < kBasinMinInteriorRows) return v;
  std::vector<double> x, y;
  for (int i : v.rows) {
    if (!std::isfinite(v.log_lambda[i])) return v;
    x.push_back(std::log10(lrs[i]));
    y.push_back(v.log_lambda[i]);
  }
  v.slope = least_squares_slope(x, y);
  return v;
}

SlopeEstimate estimate_slope(const BasinGrid& g, int resamples, uint64_t seed) {
  SlopeEstimate e;
  e.valley = fit_valley(g.lrs, g.lambdas, cell_means(g));
  e.min_seeds = std::numeric_limits<int>::max();
  for (const auto& row : g.losses) {
    for (const auto& cell : row) e.min_seeds = std::min<int>(e.min_seeds, cell.size());
  }
  if (g.losses.empty()) e.min_seeds = 0;
  if (!std::isfinite(e.valley.slope) || e.min_seeds < 2) return e;
  // mt19937_64's sequence is fixed by the standard; the index is taken by hand (modulo; the bias
  // over a few seeds is ~1e-19) because std::uniform_int_distribution differs between libraries.
  std::mt19937_64 rng(seed);
  std::vector<double> slopes;
  std::vector<std::vector<double>> means(g.lrs.size(), std::vector<double>(g.lambdas.size()));
  for (int k = 0; k < resamples; ++k) {
    for (size_t i = 0; i < g.lrs.size(); ++i) {
      for (size_t j = 0; j < g.lambdas.size(); ++j) {
        const std::vector<double>& cell = g.losses[i][j];
        double s = 0.0;
        for (size_t d = 0; d < cell.size(); ++d) s += cell[rng() % cell.size()];
        means[i][j] = s / static_cast<double>(cell.size());
      }
    }
    const double slope = fit_valley(g.lrs, g.lambdas, means, &e.valley.rows).slope;
    if (std::isfinite(slope)) slopes.push_back(slope);
  }
  e.resamples = static_cast<int>(slopes.size());
  if (slopes.size() < 2) return e;
  std::sort(slopes.begin(), slopes.end());
  const double m = mean_of(slopes);
  double ss = 0.0;
  for (double s : slopes) ss += (s - m) * (s - m);
  e.se = std::sqrt(ss / static_cast<double>(slopes.size() - 1));
  e.lo = quantile(slopes, 0.025);
  e.hi = quantile(slopes, 0.975);
  return e;
}

SeedSpread seed_spread(const BasinGrid& g, const Valley& valley) {
  SeedSpread s;
  double lo = INFINITY, hi = -INFINITY, var_sum = 0.0;
  int var_n = 0;
  s.max_cell_range = 0.0, s.valley_cell_range = 0.0;
  std::set<std::pair<size_t, size_t>> deciding;
  for (int r : valley.rows) {
    const size_t i = static_cast<size_t>(r);
    if (i >= valley.best.size() || valley.best[i] < 0) continue;
    const size_t b = static_cast<size_t>(valley.best[i]);
    for (size_t j = b > 0 ? b - 1 : 0; j <= b + 1 && j < g.lambdas.size(); ++j)
      deciding.insert({i, j});
  }
  auto name = [&](size_t i, size_t j) {
    return fmt::format("lr={}, λ={}", short_number(g.lrs[i]), short_number(g.lambdas[j]));
  };
  for (size_t i = 0; i < g.lrs.size(); ++i) {
    for (size_t j = 0; j < g.lambdas.size(); ++j) {
      const std::vector<double>& c = g.losses[i][j];
      if (c.empty()) continue;
      const double m = mean_of(c);
      lo = std::min(lo, m), hi = std::max(hi, m);
      if (c.size() < 2) continue;
      const auto [mn, mx] = std::minmax_element(c.begin(), c.end());
      const double range = *mx - *mn;
      if (range > s.max_cell_range) s.max_cell_range = range, s.worst_cell = name(i, j);
      if (deciding.contains({i, j}) && range > s.valley_cell_range)
        s.valley_cell_range = range, s.worst_valley_cell = name(i, j);
      double ss = 0.0;
      for (double x : c) ss += (x - m) * (x - m);
      var_sum += ss / static_cast<double>(c.size() - 1), ++var_n;
    }
  }
  if (lo > hi) return s;
  s.grid_range = hi - lo;
  if (var_n > 0) s.pooled_sd = std::sqrt(var_sum / var_n);
  s.ok = var_n > 0 && !deciding.empty() &&
         s.valley_cell_range <= kBasinMaxSeedRangeFraction * s.grid_range;
  return s;
}

ModeResult analyse_mode(BasinGrid grid) {
  ModeResult m;
  m.grid = std::move(grid);
  m.slope = estimate_slope(m.grid);
  m.spread = seed_spread(m.grid, m.slope.valley);
  const int interior = static_cast<int>(
      std::count(m.slope.valley.interior.begin(), m.slope.valley.interior.end(), true));
  if (m.slope.min_seeds < 2) {
    m.why_not = fmt::format("{} seed(s) in some cell: no noise estimate", m.slope.min_seeds);
  } else if (interior < kBasinMinInteriorRows) {
    m.why_not = fmt::format(
        "the valley leaves the λ grid: {} of {} learning rates have their lowest loss inside it, "
        "the slope needs {}",
        interior, m.grid.lrs.size(), kBasinMinInteriorRows);
  } else if (!m.spread.ok) {
    m.why_not = fmt::format(
        "the seeds disagree: the seed range {:.3f} of a cell that decides the valley ({}) "
        "exceeds {:.0f}% of the grid's range {:.3f}",
        m.spread.valley_cell_range, m.spread.worst_valley_cell, 100 * kBasinMaxSeedRangeFraction,
        m.spread.grid_range);
  } else if (m.slope.resamples < 2) {
    m.why_not = "no bootstrap interval";
  }
  m.measured = m.why_not.empty();
  if (m.measured) {
    const SlopeEstimate& s = m.slope;
    m.shape = m.grid.mode == "coupled"
                  ? (s.hi < 0.0 || s.lo > 0.0) && std::abs(s.valley.slope) >= kBasinDiagonalSlope
                  : s.lo >= -kBasinAxisAlignedSlope && s.hi <= kBasinAxisAlignedSlope;
  }
  return m;
}

BasinVerdict basin_verdict(const ModeResult& coupled, const ModeResult& decoupled) {
  BasinVerdict v;
  const int met = coupled.shape + decoupled.shape;
  v.word = met == 2 ? "reproduced" : met == 1 ? "partly reproduced" : "not reproduced";
  auto part = [](const ModeResult& m, const std::string& who, const std::string& shape,
                 const std::string& rule) {
    std::string s = fmt::format("{}: valley slope d log λ*/d log lr = {}", who, slope_text(m));
    if (!m.measured) return s + fmt::format("; not measured ({})", m.why_not);
    return s + fmt::format("; {} (the rule: {}): {}", shape, rule, m.shape ? "met" : "not met");
  };
  v.line =
      fmt::format("**AdamW basin: {} at this scale.** {}. {}.", v.word,
                  part(coupled, "Coupled L2", "diagonal",
                       fmt::format("interval excludes 0 and |slope| ≥ {}", kBasinDiagonalSlope)),
                  part(decoupled, "Decoupled", "axis-aligned",
                       fmt::format("interval within ±{}", kBasinAxisAlignedSlope)));
  return v;
}

std::vector<BasinGrid> basin_grids(const PresetVariants& p) {
  std::map<std::string, std::set<double>> lrs, lambdas;
  for (const Variant& v : p.variants) {
    if (v.decay_mode != "coupled" && v.decay_mode != "decoupled") continue;
    if (!std::isfinite(v.lr) || !std::isfinite(v.weight_decay) || v.weight_decay <= 0) continue;
    lrs[v.decay_mode].insert(v.lr), lambdas[v.decay_mode].insert(v.weight_decay);
  }
  std::vector<BasinGrid> grids;
  for (const std::string mode : {"coupled", "decoupled"}) {
    if (lrs[mode].size() < 3 || lambdas[mode].size() < 3) return {};
    BasinGrid g;
    g.mode = mode;
    g.lrs.assign(lrs[mode].begin(), lrs[mode].end());
    g.lambdas.assign(lambdas[mode].begin(), lambdas[mode].end());
    g.losses.assign(g.lrs.size(), std::vector<std::vector<double>>(g.lambdas.size()));
    g.diverged.assign(g.lrs.size(), std::vector<int>(g.lambdas.size(), 0));
    std::vector<std::vector<bool>> taken(g.lrs.size(), std::vector<bool>(g.lambdas.size()));
    for (const Variant& v : p.variants) {
      if (v.decay_mode != mode || !std::isfinite(v.lr) || !std::isfinite(v.weight_decay) ||
          v.weight_decay <= 0)
        continue;
      const size_t i = std::lower_bound(g.lrs.begin(), g.lrs.end(), v.lr) - g.lrs.begin();
      const size_t j =
          std::lower_bound(g.lambdas.begin(), g.lambdas.end(), v.weight_decay) - g.lambdas.begin();
      if (taken[i][j]) return {};  // another axis varies too: not one lr × λ grid per mode
      taken[i][j] = true;
      for (const RunResult* r : v.runs) {
        if (r->status == "diverged") ++g.diverged[i][j];
        if (r->status != "finished") continue;
        const double loss = r->summary_number("final_val_loss");
        if (std::isfinite(loss)) g.losses[i][j].push_back(loss);
      }
    }
    grids.push_back(std::move(g));
  }
  return grids;
}

std::vector<BasinSection> basin_sections(const std::vector<PresetVariants>& presets) {
  std::vector<BasinSection> out;
  for (const PresetVariants& p : presets) {
    std::vector<BasinGrid> grids = basin_grids(p);
    if (grids.size() != 2) continue;
    const std::string scaling = decay_scaling_of(p);
    const ModeResult coupled = analyse_mode(std::move(grids[0]));
    const ModeResult decoupled = analyse_mode(std::move(grids[1]));
    const BasinVerdict verdict = basin_verdict(coupled, decoupled);
    BasinSection s;
    s.preset = p.preset;
    s.plot_name = "basin_" + p.preset + ".svg";
    s.verdict = verdict.line;

    HeatmapFigure& fig = s.figure;
    fig.title = p.preset + ": final validation loss over learning rate × λ";
    fig.subtitle =
        "mean ± SE over seeds; outlined: lowest cell; diamonds: fitted best λ per learning rate";
    fig.value_label = "final val loss";
    std::string md = fmt::format("## The AdamW basin: learning rate × λ{}\n\n",
                                 presets.size() > 1 ? ", " + p.preset : "");
    md += fmt::format(
        "Loshchilov & Hutter, \"Decoupled Weight Decay Regularization\" (ICLR 2019, "
        "arXiv:1711.05101), Fig. 2: with L2 coupled into Adam's gradient the good region of "
        "(learning rate, λ) runs along a diagonal (the best λ moves with the learning rate); with "
        "decay decoupled from the gradient step and multiplied by the schedule only "
        "(decay_scaling=schedule) it is axis-aligned. Per learning rate, the best λ is the λ of "
        "the lowest mean final validation loss, refined by the vertex of a parabola in log λ "
        "through it and its neighbours (λ*; at an end of the λ grid it is that end and the row "
        "is left out of the fit). The valley slope is the least-squares slope of log10 λ* against "
        "log10 lr over the rows with an inside minimum (at least {}); its error is a bootstrap "
        "over seeds ({} resamples, each cell's seeds drawn with replacement): standard deviation "
        "and 95% percentile interval. Verdict rule (fixed before the run, lib/report/basin.h): "
        "coupled is diagonal when the interval excludes 0 and |slope| ≥ {}; decoupled is "
        "axis-aligned when the interval lies within ±{}; reproduced when both hold, partly when "
        "one does. A mode is measured only when its final loss is not bimodal across seeds where "
        "it "
        "matters: no cell that decides the valley (each fitted row's lowest cell and its two "
        "neighbours) has a seed range (max − min) above {:.0f}% of the range of the mode's cell "
        "means over the grid.\n\n",
        kBasinMinInteriorRows, kBasinResamples, kBasinDiagonalSlope, kBasinAxisAlignedSlope,
        100 * kBasinMaxSeedRangeFraction);
    md += verdict.line + "\n\n";

    TextTable t;
    t.columns = {"lr"};
    for (const ModeResult* m : {&coupled, &decoupled}) {
      const std::string w = m->grid.mode == "coupled" ? "coupled" : "decoupled";
      for (const std::string c : {" best λ (grid)", " λ* (fitted)", " its final val loss"})
        t.columns.push_back(w + c);
    }
    std::set<double> all_lrs(coupled.grid.lrs.begin(), coupled.grid.lrs.end());
    all_lrs.insert(decoupled.grid.lrs.begin(), decoupled.grid.lrs.end());
    for (double lr : all_lrs) {
      std::vector<std::string> row = {short_number(lr)};
      for (const ModeResult* m : {&coupled, &decoupled}) {
        const BasinGrid& g = m->grid;
        const auto it = std::find(g.lrs.begin(), g.lrs.end(), lr);
        const Valley& val = m->slope.valley;
        if (it == g.lrs.end() || val.best[it - g.lrs.begin()] < 0) {
          row.insert(row.end(), {"—", "—", "—"});
          continue;
        }
        const size_t i = it - g.lrs.begin();
        const size_t j = static_cast<size_t>(val.best[i]);
        row.push_back(short_number(g.lambdas[j]) + (val.interior[i] ? "" : " (grid edge)"));
        row.push_back(val.interior[i] ? short_number(std::pow(10.0, val.log_lambda[i])) : "—");
        row.push_back(format_stat(summarize(g.losses[i][j])));
      }
      t.rows.push_back(std::move(row));
    }
    md += to_markdown(t) + "\n";
    for (const ModeResult* m : {&coupled, &decoupled}) {
      const SeedSpread& sp = m->spread;
      md += fmt::format(
          "- {}: valley slope {}; seed spread: largest range among the cells that decide the "
          "valley {:.3f} ({}), {:.0f}% of the grid's range of cell means {:.3f} (the check "
          "allows {:.0f}%: {}); largest range of any cell {:.3f} ({}); pooled within-cell SD "
          "{:.3f}; {} seeds in the fewest-seeded cell.\n",
          mode_words(m->grid, m->grid.mode == "decoupled" ? scaling : ""), slope_text(*m),
          sp.valley_cell_range,
          sp.worst_valley_cell.empty() ? "no fitted row" : sp.worst_valley_cell,
          sp.grid_range > 0 ? 100 * sp.valley_cell_range / sp.grid_range : NAN, sp.grid_range,
          100 * kBasinMaxSeedRangeFraction, sp.ok ? "passed" : "failed", sp.max_cell_range,
          sp.worst_cell.empty() ? "—" : sp.worst_cell, sp.pooled_sd, m->slope.min_seeds);
    }
    md += fmt::format("\n![{} learning rate × λ, mean ± SE per cell](plots/{})\n\n", p.preset,
                      s.plot_name);

    for (const ModeResult* m : {&coupled, &decoupled}) {
      const BasinGrid& g = m->grid;
      HeatmapPanel hp;
      hp.title = fmt::format(
          "{}: slope {}", g.mode == "coupled" ? "coupled L2" : "decoupled",
          std::isfinite(m->slope.valley.slope)
              ? (std::isfinite(m->slope.se)
                     ? fmt::format("{:+.2f} ± {:.2f}", m->slope.valley.slope, m->slope.se)
                     : fmt::format("{:+.2f}", m->slope.valley.slope))
              : "—");
      hp.x_label = g.mode == "coupled" ? "L2 coefficient λ" : "decay λ (× schedule)";
      hp.y_label = "peak learning rate";
      for (double x : g.lambdas) hp.x_ticks.push_back(short_number(x));
      for (double y : g.lrs) hp.y_ticks.push_back(short_number(y));
      hp.values.assign(g.lrs.size(), std::vector<double>(g.lambdas.size(), NAN));
      hp.errors = hp.values;
      hp.marks.assign(g.lrs.size(), std::vector<std::string>(g.lambdas.size(), "missing"));
      for (size_t i = 0; i < g.lrs.size(); ++i) {
        for (size_t j = 0; j < g.lambdas.size(); ++j) {
          const Stat st = summarize(g.losses[i][j]);
          if (st.n > 0) hp.values[i][j] = st.mean;
          if (st.n > 1) hp.errors[i][j] = st.se;
          if (st.n == 0 && g.diverged[i][j] > 0) hp.marks[i][j] = "diverged";
        }
        hp.valley_x.push_back(cell_position(g.lambdas, m->slope.valley.log_lambda[i]));
      }
      fig.panels.push_back(std::move(hp));
    }
    s.markdown = md;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace wdlab
