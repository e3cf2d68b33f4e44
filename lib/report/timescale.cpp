#include "report/timescale.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "report/svg.h"
#include "report/text_table.h"

namespace wdlab {
namespace {

double config_number(const Variant& v, const std::string& key) {
  const nlohmann::json x = v.runs.empty() ? nlohmann::json() : v.runs.front()->config_value(key);
  return x.is_number() ? x.get<double>() : NAN;
}

std::string config_string(const Variant& v, const std::string& key) {
  const nlohmann::json x = v.runs.empty() ? nlohmann::json() : v.runs.front()->config_value(key);
  return x.is_string() ? x.get<std::string>() : std::string();
}

// Final validation loss by seed of one configuration's finished runs.
std::map<int, double> losses_by_seed(const Variant& v) {
  std::map<int, double> out;
  for (const RunResult* r : v.runs) {
    const nlohmann::json seed = r->config_value("seed");
    const double loss = r->summary_number("final_val_loss");
    if (r->status == "finished" && seed.is_number_integer() && std::isfinite(loss))
      out[seed.get<int>()] = loss;
  }
  return out;
}

double mean_of(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return x.empty() ? NAN : s / static_cast<double>(x.size());
}

double sd_of(const std::vector<double>& x) {
  if (x.size() < 2) return NAN;
  const double m = mean_of(x);
  double s = 0;
  for (double v : x) s += (v - m) * (v - m);
  return std::sqrt(s / static_cast<double>(x.size() - 1));
}

// The seed means at each batch size's λ grid, for the seeds drawn (with multiplicity).
std::vector<std::vector<double>> means_for(
    const std::vector<std::vector<std::map<int, double>>>& by_seed, const std::vector<int>& drawn) {
  std::vector<std::vector<double>> out(by_seed.size());
  for (size_t b = 0; b < by_seed.size(); ++b) {
    for (const std::map<int, double>& at : by_seed[b]) {
      double sum = 0;
      int n = 0;
      for (int s : drawn) {
        const auto it = at.find(s);
        if (it != at.end()) sum += it->second, ++n;
      }
      out[b].push_back(n ? sum / n : NAN);
    }
  }
  return out;
}

// lambda_optimum on the points with a loss (a λ whose drawn seeds all lack a run is left out).
LambdaOptimum optimum_of(const std::vector<double>& lambdas, const std::vector<double>& losses) {
  std::vector<double> l, y;
  for (size_t i = 0; i < lambdas.size(); ++i) {
    if (std::isfinite(losses[i])) l.push_back(lambdas[i]), y.push_back(losses[i]);
  }
  return lambda_optimum(l, y);
}

// "0.95 ± 0.12", or without an error where there is none.
std::string slope_text(const TimescaleAnalysis& a) {
  return std::isfinite(a.slope_error) ? fmt::format("{:.2f} ± {:.2f}", a.fit.slope, a.slope_error)
                                      : fmt::format("{:.2f}, no error", a.fit.slope);
}

std::string lambda_text(double x) {
  return fmt::format("{:.3g}", x);
}

// "2.1 (×/÷ 1.15)": a log-normal error as a factor.
std::string factor_text(double value, double log_error) {
  if (!std::isfinite(log_error)) return lambda_text(value);
  return fmt::format("{} (×/÷ {:.2f})", lambda_text(value), std::exp(log_error));
}

void analyse(TimescaleAnalysis& a) {
  std::sort(a.points.begin(), a.points.end(), [](const TimescalePoint& x, const TimescalePoint& y) {
    return x.batch_size < y.batch_size;
  });
  std::vector<std::vector<std::map<int, double>>> by_seed;
  std::set<int> seed_set;
  for (TimescalePoint& p : a.points) {
    std::sort(p.variants.begin(), p.variants.end(),
              [](const Variant* x, const Variant* y) { return x->weight_decay < y->weight_decay; });
    by_seed.emplace_back();
    for (const Variant* v : p.variants) {
      p.lambdas.push_back(v->weight_decay);
      by_seed.back().push_back(losses_by_seed(*v));
      for (const auto& [seed, loss] : by_seed.back().back()) seed_set.insert(seed);
    }
  }
  const std::vector<int> seeds(seed_set.begin(), seed_set.end());
  a.seeds = static_cast<int>(seeds.size());

  auto estimate = [&](const std::vector<int>& drawn, std::vector<LambdaOptimum>& optima) {
    const std::vector<std::vector<double>> means = means_for(by_seed, drawn);
    std::vector<double> x, y;
    optima.clear();
    for (size_t b = 0; b < a.points.size(); ++b) {
      optima.push_back(optimum_of(a.points[b].lambdas, means[b]));
      if (optima.back().lowest < 0) continue;
      x.push_back(std::log(static_cast<double>(a.points[b].batch_size)));
      y.push_back(optima.back().log_lambda);
    }
    return fit_line(x, y);
  };

  std::vector<LambdaOptimum> optima;
  a.fit = estimate(seeds, optima);
  bool all_interior = !a.points.empty();
  for (size_t b = 0; b < a.points.size(); ++b) {
    a.points[b].optimum = optima[b];
    all_interior = all_interior && optima[b].interior;
  }

  // Bootstrap over seeds: the same draw for every batch size and λ.
  if (seeds.size() > 1) {
    std::mt19937_64 rng(kTimescaleBootstrapSeed);
    std::vector<std::vector<double>> log_lambda(a.points.size());
    std::vector<int> edges(a.points.size(), 0);
    std::vector<double> slopes;
    std::vector<int> drawn(seeds.size());
    for (int r = 0; r < kTimescaleResamples; ++r) {
      for (int& s : drawn) s = seeds[rng() % seeds.size()];
      const LineFit f = estimate(drawn, optima);
      for (size_t b = 0; b < a.points.size(); ++b) {
        if (optima[b].lowest < 0) continue;
        log_lambda[b].push_back(optima[b].log_lambda);
        edges[b] += !optima[b].interior;
      }
      if (std::isfinite(f.slope)) slopes.push_back(f.slope);
    }
    for (size_t b = 0; b < a.points.size(); ++b) {
      a.points[b].log_lambda_error = sd_of(log_lambda[b]);
      a.points[b].edge_share =
          log_lambda[b].empty() ? 0.0 : static_cast<double>(edges[b]) / log_lambda[b].size();
    }
    a.slope_error = sd_of(slopes);
    a.resamples = static_cast<int>(slopes.size());
  }
  a.verdict = timescale_verdict(all_interior, a.fit.slope, a.slope_error);

  std::string bs, taus;
  for (const TimescalePoint& p : a.points) {
    bs += (bs.empty() ? "" : ", ") + std::to_string(p.batch_size);
    taus += (taus.empty() ? "" : ", ") +
            (p.optimum.interior ? fmt::format("{:.3f}", 1.0 / (a.lr * p.lambda_opt() * p.steps))
                                : std::string("not measured"));
  }
  a.line = fmt::format(
      "**AdamW timescale: {} at this scale.** λ_opt ∝ B^s with s = {} (least-squares "
      "slope of ln λ_opt against ln B for B = {} sequences at a fixed {} tokens, ± the bootstrap "
      "SD over {} seed{}; the claim is s = 1): {}. τ_EMA = 1/(lr·λ_opt·steps) at the optimum: {}.",
      a.verdict.word, slope_text(a), bs, a.points.empty() ? 0.0 : a.points.front().tokens(),
      a.seeds, a.seeds == 1 ? "" : "s", a.verdict.reason, taus);
}

// One batch size's colour, the same in every timescale plot.
std::string batch_color(size_t i) {
  return palette_color(i);
}

LineFigure loss_figure(const TimescaleAnalysis& a) {
  LineFigure fig;
  fig.title = "Final validation loss against λ per batch size: " + a.preset;
  fig.subtitle = fmt::format(
      "{}; mean over seeds with ± 1 SE bars; thin dashed: the parabola in ln λ through the lowest "
      "mean and its neighbours, whose vertex is λ_opt; right: the same against τ_EMA = "
      "1/(lr·λ·steps), where the claim puts every batch size's optimum at one value",
      a.setting);
  fig.columns = 2;
  LinePanel by_lambda, by_tau;
  by_lambda.title = a.preset + ": against λ";
  by_lambda.x_label = "λ (optim.weight_decay)";
  by_tau.title = a.preset + ": against the timescale";
  by_tau.x_label = "τ_EMA = 1/(lr·λ·steps), fraction of the run";
  for (LinePanel* p : {&by_lambda, &by_tau}) {
    p->y_label = "final val loss (nats/token)";
    p->log_x = true;
  }
  for (size_t i = 0; i < a.points.size(); ++i) {
    const TimescalePoint& p = a.points[i];
    LineSeries s, t;
    s.name = t.name = fmt::format("B = {}", p.batch_size);
    s.color = t.color = batch_color(i);
    s.markers = t.markers = true;
    s.width = t.width = 2.0;
    for (const Variant* v : p.variants) {
      if (v->final_val.n == 0) continue;
      const double err = v->final_val.n > 1 ? v->final_val.se : NAN;
      s.x.push_back(v->weight_decay);
      t.x.push_back(1.0 / (a.lr * v->weight_decay * p.steps));
      for (LineSeries* u : {&s, &t}) u->y.push_back(v->final_val.mean), u->err.push_back(err);
    }
    fig.legend.push_back({s.name, s.color, "solid"});
    by_lambda.series.push_back(s);
    by_tau.series.push_back(t);
    if (!p.optimum.interior) continue;
    // The fitted parabola over its three points.
    const int k = p.optimum.lowest;
    double x[3], y[3];
    for (int j = 0; j < 3; ++j) {
      x[j] = std::log(p.lambdas[k - 1 + j]);
      y[j] = p.variants[k - 1 + j]->final_val.mean;
    }
    const Parabola q = parabola_through(x, y);
    LineSeries fit{s.name + " fit", s.color, {}, {}, {}, {}, true, false, 1.2};
    LineSeries fit_tau = fit;
    for (int j = 0; j <= 24; ++j) {
      const double u = x[0] + (x[2] - x[0]) * j / 24.0;
      fit.x.push_back(std::exp(u)), fit.y.push_back(q.at(u));
      fit_tau.x.push_back(1.0 / (a.lr * std::exp(u) * p.steps)), fit_tau.y.push_back(q.at(u));
    }
    by_lambda.series.push_back(std::move(fit));
    by_tau.series.push_back(std::move(fit_tau));
  }
  fig.legend.push_back({"parabola fit", "#555555", "dashed", 1.2});
  fig.panels = {std::move(by_lambda), std::move(by_tau)};
  share_y_range(fig.panels);
  return fig;
}

LineFigure optimum_figure(const TimescaleAnalysis& a) {
  LineFigure fig;
  fig.title = "λ_opt and τ_EMA at the optimum against batch size: " + a.preset;
  fig.subtitle = fmt::format(
      "{}; bars: ×/÷ the bootstrap SD over seeds; left: solid the least-squares fit (slope {}), "
      "dashed the claim's slope 1 through the same centre; right: τ_EMA = 1/(lr·λ_opt·steps) "
      "with the same two lines (the claim's is flat)",
      a.setting, slope_text(a));
  fig.columns = 2;
  LinePanel lam, tau;
  lam.title = a.preset + ": λ_opt against B";
  lam.y_label = "λ_opt";
  tau.title = a.preset + ": τ_EMA at the optimum against B";
  tau.y_label = "τ_EMA (fraction of the run)";
  for (LinePanel* p : {&lam, &tau}) {
    p->x_label = "batch size B (sequences; fixed token budget)";
    p->log_x = p->log_y = true;
  }
  LineSeries points, taus;
  points.name = "λ_opt", taus.name = "τ_EMA";
  points.color = taus.color = palette_color(0);
  points.markers = taus.markers = true;
  points.width = taus.width = 0.0;
  std::vector<double> xs;
  for (const TimescalePoint& p : a.points) {
    if (!p.optimum.interior) continue;
    const double b = p.batch_size, l = p.lambda_opt(), t = 1.0 / (a.lr * l * p.steps);
    xs.push_back(std::log(b));
    points.x.push_back(b), points.y.push_back(l);
    taus.x.push_back(b), taus.y.push_back(t);
    if (std::isfinite(p.log_lambda_error) && p.log_lambda_error > 0) {
      const double f = std::exp(p.log_lambda_error);
      lam.series.push_back(
          {"", palette_color(0), {b, b}, {l / f, l * f}, {}, {}, false, false, 1.5});
      tau.series.push_back(
          {"", palette_color(0), {b, b}, {t / f, t * f}, {}, {}, false, false, 1.5});
    }
  }
  if (xs.size() >= 2 && std::isfinite(a.fit.slope)) {
    const double lo = *std::min_element(xs.begin(), xs.end()),
                 hi = *std::max_element(xs.begin(), xs.end());
    const double centre = mean_of(xs);
    const double at_centre = a.fit.intercept + a.fit.slope * centre;
    // The same lines on the right: τ_EMA = 1/(lr·λ·steps) with steps = D / (B·T).
    const TimescalePoint& first = a.points.front();
    const double per_sequence = first.step_tokens / first.batch_size;  // T
    auto tau_at = [&](double b, double lambda) {
      return 1.0 / (a.lr * lambda * first.tokens() / (b * per_sequence));
    };
    LineSeries fit{"fit", "#d62728", {}, {}, {}, {}, false, false, 2.0};
    LineSeries claim{"slope 1", "#555555", {}, {}, {}, {}, true, false, 1.5};
    LineSeries fit_tau = fit, claim_tau = claim;
    for (double u : {lo, hi}) {
      const double b = std::exp(u), l_fit = std::exp(a.fit.intercept + a.fit.slope * u),
                   l_claim = std::exp(at_centre + (u - centre));
      fit.x.push_back(b), fit.y.push_back(l_fit);
      claim.x.push_back(b), claim.y.push_back(l_claim);
      fit_tau.x.push_back(b), fit_tau.y.push_back(tau_at(b, l_fit));
      claim_tau.x.push_back(b), claim_tau.y.push_back(tau_at(b, l_claim));
    }
    lam.series.push_back(std::move(fit));
    lam.series.push_back(std::move(claim));
    tau.series.push_back(std::move(fit_tau));
    tau.series.push_back(std::move(claim_tau));
  }
  lam.series.push_back(std::move(points));
  tau.series.push_back(std::move(taus));
  fig.legend = {{"λ_opt (left), τ_EMA (right)", palette_color(0), "solid"},
                {"least-squares fit", "#d62728", "solid"},
                {"slope 1 (the claim)", "#555555", "dashed"}};
  fig.panels = {std::move(lam), std::move(tau)};
  return fig;
}

}  // namespace

Parabola parabola_through(const double x[3], const double y[3]) {
  // Newton's divided differences, then expanded.
  const double d01 = (y[1] - y[0]) / (x[1] - x[0]);
  const double d12 = (y[2] - y[1]) / (x[2] - x[1]);
  const double c = (d12 - d01) / (x[2] - x[0]);
  const double b = d01 - c * (x[0] + x[1]);
  return {y[0] - b * x[0] - c * x[0] * x[0], b, c};
}

LambdaOptimum lambda_optimum(const std::vector<double>& lambdas,
                             const std::vector<double>& losses) {
  LambdaOptimum o;
  const size_t n = std::min(lambdas.size(), losses.size());
  if (n == 0) return o;
  o.lowest =
      static_cast<int>(std::min_element(losses.begin(), losses.begin() + n) - losses.begin());
  o.log_lambda = std::log(lambdas[o.lowest]);
  if (o.lowest == 0 || o.lowest + 1 == static_cast<int>(n)) return o;
  double x[3], y[3];
  for (int j = 0; j < 3; ++j) {
    x[j] = std::log(lambdas[o.lowest - 1 + j]);
    y[j] = losses[o.lowest - 1 + j];
  }
  const Parabola q = parabola_through(x, y);
  // The middle point is the lowest, so c >= 0; c = 0 only for three equal losses.
  o.interior = true;
  o.curvature = q.c;
  o.log_lambda = q.c > 0 ? -q.b / (2 * q.c) : x[1];
  return o;
}

LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  LineFit f;
  f.n = static_cast<int>(std::min(x.size(), y.size()));
  if (f.n < 2) return f;
  double mx = 0, my = 0;
  for (int i = 0; i < f.n; ++i) mx += x[i], my += y[i];
  mx /= f.n, my /= f.n;
  double sxx = 0, sxy = 0;
  for (int i = 0; i < f.n; ++i) sxx += (x[i] - mx) * (x[i] - mx), sxy += (x[i] - mx) * (y[i] - my);
  if (!(sxx > 0)) return f;
  f.slope = sxy / sxx;
  f.intercept = my - f.slope * mx;
  if (f.n > 2) {
    double rss = 0;
    for (int i = 0; i < f.n; ++i) {
      const double r = y[i] - f.intercept - f.slope * x[i];
      rss += r * r;
    }
    f.slope_se = std::sqrt(rss / (f.n - 2) / sxx);
  }
  return f;
}

TimescaleVerdict timescale_verdict(bool all_interior, double slope, double slope_error) {
  TimescaleVerdict v;
  if (!all_interior) {
    v.word = "not reproduced";
    v.reason =
        "the optimum of some batch size lies at the edge of its λ grid, so λ_opt is not "
        "measured there";
    return v;
  }
  if (!std::isfinite(slope) || !std::isfinite(slope_error)) {
    v.word = "not reproduced";
    v.reason = "no slope with an error (fewer than 2 batch sizes or 2 seeds)";
    return v;
  }
  const double k = kTimescaleSigmas;
  const bool grows = slope > k * slope_error;
  const double band = std::max(k * slope_error, kTimescaleSlopeTolerance);
  const bool linear = std::fabs(slope - 1.0) <= band && slope_error <= kTimescaleMaxSlopeError;
  if (grows && linear) {
    v.word = "reproduced";
    v.reason =
        fmt::format("λ_opt grows with B (s > {:.0f}·error) and s is within {:.2f} of 1", k, band);
  } else if (grows) {
    v.word = "partly reproduced";
    v.reason = slope_error > kTimescaleMaxSlopeError
                   ? fmt::format(
                         "λ_opt grows with B (s > {:.0f}·error), but the error exceeds "
                         "{:.2f}, too wide to call the growth linear",
                         k, kTimescaleMaxSlopeError)
                   : fmt::format(
                         "λ_opt grows with B (s > {:.0f}·error), but s is {:.2f} from 1, "
                         "beyond max({:.0f}·error, {:.2f})",
                         k, std::fabs(slope - 1.0), k, kTimescaleSlopeTolerance);
  } else {
    v.word = "not reproduced";
    v.reason = fmt::format("λ_opt does not grow with B beyond noise (s ≤ {:.0f}·error)", k);
  }
  return v;
}

std::vector<TimescaleAnalysis> timescale_analyses(const std::vector<PresetVariants>& presets) {
  std::vector<TimescaleAnalysis> out;
  for (const PresetVariants& preset : presets) {
    // One analysis per lr, scope, decay scaling and token budget: the claim holds D fixed.
    using Key = std::tuple<double, std::string, std::string, double>;
    std::map<Key, std::map<int, TimescalePoint>> groups;
    std::vector<Key> order;
    for (const Variant& v : preset.variants) {
      if (v.decay_mode != "decoupled" || !(v.weight_decay > 0) || v.final_val.n == 0) continue;
      TimescalePoint p;
      p.batch_size = static_cast<int>(config_number(v, "train.batch_size"));
      p.steps = config_number(v, "train.steps");
      p.step_tokens = p.batch_size * config_number(v, "model.block_size");
      p.train_tokens = config_number(v, "data.train_tokens");
      if (p.batch_size <= 0 || !(p.steps > 0) || !(p.step_tokens > 0)) continue;
      const Key key{v.lr, v.decay_scope, config_string(v, "optim.decay_scaling"), p.tokens()};
      if (!groups.contains(key)) order.push_back(key);
      auto [it, inserted] = groups[key].emplace(p.batch_size, p);
      // Two configurations at one B and λ differ in an axis this analysis does not model.
      bool duplicate = false;
      for (const Variant* w : it->second.variants) duplicate |= w->weight_decay == v.weight_decay;
      if (!duplicate) it->second.variants.push_back(&v);
    }
    for (const Key& key : order) {
      TimescaleAnalysis a;
      a.preset = preset.preset;
      a.lr = std::get<0>(key);
      for (auto& [b, p] : groups[key]) {
        if (p.variants.size() >= 3) a.points.push_back(std::move(p));
      }
      if (static_cast<int>(a.points.size()) < kTimescaleMinBatchSizes) continue;
      const std::string& scaling = std::get<2>(key);
      a.setting = fmt::format(
          "{}, decoupled {} decay{}, peak lr {}, {} tokens per run", a.preset, std::get<1>(key),
          scaling.empty() || scaling == "lr" ? "" : " (decay_scaling=" + scaling + ")",
          lambda_text(a.lr), std::get<3>(key));
      analyse(a);
      out.push_back(std::move(a));
    }
  }
  return out;
}

TimescaleSection timescale_section(const std::vector<PresetVariants>& presets) {
  TimescaleSection s;
  const std::vector<TimescaleAnalysis> analyses = timescale_analyses(presets);
  if (analyses.empty()) return s;
  s.present = true;
  std::string md = "## The AdamW timescale: λ_opt against batch size at a fixed token budget\n\n";
  md += fmt::format(
      "Wang & Aitchison (\"How to set AdamW's weight decay as you scale model and dataset size\", "
      "2024, arXiv:2405.13698) and Bergsma et al. (\"Power Lines\", 2025, arXiv:2505.13738): "
      "decoupled decay makes the weights an exponential moving average of the updates over "
      "τ_iter = 1/(lr·λ) steps, and at a fixed token budget D the best λ grows linearly with the "
      "batch size B, so that τ_EMA = B/(lr·λ·D) = 1/(lr·λ·steps) stays the same. Per batch size, "
      "λ_opt is the vertex of the parabola in ln λ through the lowest mean final validation loss "
      "and its two grid neighbours (a lowest point at the grid's edge gives no estimate); the "
      "exponent s is the least-squares slope of ln λ_opt against ln B; errors are the SD over "
      "{} bootstrap resamples of the seeds (one draw for every B and λ; n seeds give only "
      "C(2n−1, n) distinct resamples, 10 for 3 seeds and 35 for 4, so the error is coarse, and it "
      "holds seed noise only: the residual error of the slope, printed below it, also holds how "
      "far the λ_opt lie off a straight line). lr is the peak lr of the schedule. "
      "Verdict rule (fixed in advance, lib/report/timescale.h): reproduced when every batch size "
      "has an interior optimum, s > {:.0f}·error and |s − 1| ≤ max({:.0f}·error, {:.2f}) with an "
      "error ≤ {:.2f}; partly when λ_opt grows (s > {:.0f}·error) but not so; not reproduced "
      "otherwise.\n\n",
      kTimescaleResamples, kTimescaleSigmas, kTimescaleSigmas, kTimescaleSlopeTolerance,
      kTimescaleMaxSlopeError, kTimescaleSigmas);
  for (size_t n = 0; n < analyses.size(); ++n) {
    const TimescaleAnalysis& a = analyses[n];
    if (analyses.size() > 1) md += "### " + a.setting + "\n\n";
    md += a.line + "\n\n";
    s.verdict += a.line + "\n";
    TextTable t;
    t.columns = {"batch size B",
                 "tokens per step",
                 "steps",
                 "λ grid",
                 "lowest mean final val loss",
                 "λ_opt (×/÷ bootstrap SD)",
                 "resamples at a grid edge",
                 "τ_iter = 1/(lr·λ_opt) steps",
                 "τ_EMA = 1/(lr·λ_opt·steps)",
                 "τ in epochs"};
    for (const TimescalePoint& p : a.points) {
      std::string grid;
      for (double l : p.lambdas) grid += (grid.empty() ? "" : ", ") + lambda_text(l);
      const Variant& low = *p.variants[p.optimum.lowest];
      const double tau_iter = 1.0 / (a.lr * p.lambda_opt());
      const bool ok = p.optimum.interior;
      t.rows.push_back(
          {std::to_string(p.batch_size), fmt::format("{:.0f}", p.step_tokens),
           fmt::format("{:.0f}", p.steps), grid,
           fmt::format("{} at λ = {}", format_stat(low.final_val), lambda_text(low.weight_decay)),
           ok ? factor_text(p.lambda_opt(), p.log_lambda_error) : "— (at the grid edge)",
           fmt::format("{:.0f}%", 100 * p.edge_share), ok ? fmt::format("{:.0f}", tau_iter) : "—",
           ok ? factor_text(tau_iter / p.steps, p.log_lambda_error) : "—",
           ok && p.train_tokens > 0
               ? fmt::format("{:.1f}", tau_iter * p.step_tokens / p.train_tokens)
               : "—"});
    }
    md += to_markdown(t) + "\n";
    md += fmt::format(
        "Slope of ln λ_opt against ln B: {:.3f} ± {:.3f} (bootstrap SD, {} resamples); the "
        "residual standard error of the least-squares slope through the means is {}.\n\n",
        a.fit.slope, a.slope_error, a.resamples,
        std::isfinite(a.fit.slope_se) ? fmt::format("{:.3f}", a.fit.slope_se)
                                      : std::string("undefined with 2 points"));
    const std::string suffix = analyses.size() > 1 ? fmt::format("_{}", n + 1) : "";
    const std::string loss_name = "timescale_val_vs_lambda" + suffix + ".svg";
    const std::string opt_name = "timescale_lambda_opt" + suffix + ".svg";
    s.figures.emplace_back(loss_name, loss_figure(a));
    s.figures.emplace_back(opt_name, optimum_figure(a));
    md += fmt::format(
        "![Final validation loss against λ and against τ_EMA per batch size](plots/{})\n\n",
        loss_name);
    md += fmt::format("![λ_opt and τ_EMA at the optimum against batch size, log-log](plots/{})\n\n",
                      opt_name);
  }
  s.markdown = md;
  return s;
}

}  // namespace wdlab
