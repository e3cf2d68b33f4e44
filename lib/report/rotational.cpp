#include "report/rotational.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <optional>
#include <sstream>

#include "report/svg.h"
#include "report/text_table.h"

namespace wdlab {

double rotational_prediction(double lr, double lambda, double beta1) {
  const double d = lr * lambda;
  if (!(d > 0.0)) return NAN;
  return std::sqrt(2.0 * d * (1.0 - beta1) / (1.0 + beta1) +
                   d * d * (1.0 - 3.0 * beta1) / (1.0 + beta1));
}

double equilibrium_norm_prediction(double lr, double lambda, double coordinates) {
  if (!(lr > 0.0 && lambda > 0.0)) return NAN;
  return std::sqrt(lr * coordinates / (2.0 * lambda));
}

PowerFit fit_power_law(const std::vector<PowerPoint>& points) {
  std::vector<double> x1, x2, y;
  for (const PowerPoint& p : points) {
    if (!(p.y > 0.0 && p.lr > 0.0 && p.lambda > 0.0)) continue;
    x1.push_back(std::log(p.lr)), x2.push_back(std::log(p.lambda)), y.push_back(std::log(p.y));
  }
  PowerFit fit;
  const size_t n = y.size();
  if (n < 2) return fit;
  auto mean = [](const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  };
  const double m1 = mean(x1), m2 = mean(x2), my = mean(y);
  double s11 = 0, s22 = 0, s12 = 0, s1y = 0, s2y = 0;
  for (size_t i = 0; i < n; ++i) {
    const double a = x1[i] - m1, b = x2[i] - m2, c = y[i] - my;
    s11 += a * a, s22 += b * b, s12 += a * b, s1y += a * c, s2y += b * c;
  }
  constexpr double kTiny = 1e-12;  // a factor that does not vary, in log units squared
  const bool lr_varies = s11 > kTiny, lambda_varies = s22 > kTiny;
  if (lr_varies && lambda_varies) {
    const double det = s11 * s22 - s12 * s12;
    if (det <= kTiny * s11 * s22) return fit;  // collinear: lr and λ moved together
    fit.lr_exponent = (s1y * s22 - s2y * s12) / det;
    fit.lambda_exponent = (s2y * s11 - s1y * s12) / det;
  } else if (lr_varies) {
    fit.lr_exponent = s1y / s11;
  } else if (lambda_varies) {
    fit.lambda_exponent = s2y / s22;
  }
  return fit;
}

double coefficient_of_variation(const std::vector<double>& values) {
  const Stat s = summarize(values);
  if (s.n < 2 || s.mean == 0.0) return NAN;
  return s.std / std::fabs(s.mean);
}

namespace {

bool within(const Stat& s, double target) {
  return s.n > 0 && std::isfinite(s.mean) && std::fabs(s.mean - target) <= kExponentTolerance;
}

std::string exponent_text(const Stat& s) {
  if (s.n == 0 || !std::isfinite(s.mean)) return "n/a";
  return s.n > 1 ? fmt::format("{:+.2f} ± {:.2f}", s.mean, s.se) : fmt::format("{:+.2f}", s.mean);
}

std::string number_or_na(double x, const char* format) {
  return std::isfinite(x) ? fmt::format(fmt::runtime(format), x) : "n/a";
}

const char* met(bool ok) {
  return ok ? "met" : "not met";
}

}  // namespace

RotationalVerdict rotational_verdict(const RotationalEvidence& e) {
  RotationalVerdict v;
  v.equilibrium = std::isfinite(e.max_median_drift) && e.max_median_drift <= kMaxDrift;
  v.level = std::isfinite(e.level_ratio) && e.level_ratio >= 1.0 / kLevelFactor &&
            e.level_ratio <= kLevelFactor;
  v.homogeneous = std::isfinite(e.adamw_spread) && std::isfinite(e.coupled_spread) &&
                  e.adamw_spread <= kMaxAdamWSpread &&
                  e.coupled_spread >= kCoupledSpreadFactor * e.adamw_spread;
  v.rotation_scaling = within(e.rel_lr, 0.5) && within(e.rel_lambda, 0.5);
  v.norm_scaling = within(e.norm_lr, 0.5) && within(e.norm_lambda, -0.5);
  if (v.equilibrium && v.level && v.homogeneous && v.rotation_scaling && v.norm_scaling) {
    v.word = "reproduced";
  } else if (!v.equilibrium || !(v.level || v.homogeneous || v.rotation_scaling)) {
    v.word = "not reproduced";
  } else {
    v.word = "partly reproduced";
  }
  v.line = fmt::format(
      "**Rotational equilibrium: {} at this scale.** Equilibrium (median |drift| of update_rel "
      "over the last third ≤ {:.2f} in every AdamW configuration): largest {}, {}. Level (AdamW "
      "centre, measured / predicted within {:.0f}×): {}, {}. Homogeneity (AdamW spread across "
      "tensors ≤ {:.2f}, every Adam + L2 configuration's ≥ {:.0f}× it): AdamW {}, Adam + L2 at "
      "least {}, {}. Rotation scaling (update_rel ∝ lr^0.5 λ^0.5, each exponent within ±{:.2f}): "
      "lr {}, λ {}, {}. Norm scaling (‖w‖ ∝ lr^0.5 λ^−0.5): lr {}, λ {}, {}.",
      v.word, kMaxDrift, number_or_na(e.max_median_drift, "{:.3f}"), met(v.equilibrium),
      kLevelFactor, number_or_na(e.level_ratio, "{:.2f}"), met(v.level), kMaxAdamWSpread,
      kCoupledSpreadFactor, number_or_na(e.adamw_spread, "{:.3f}"),
      number_or_na(e.coupled_spread, "{:.3f}"), met(v.homogeneous), kExponentTolerance,
      exponent_text(e.rel_lr), exponent_text(e.rel_lambda), met(v.rotation_scaling),
      exponent_text(e.norm_lr), exponent_text(e.norm_lambda), met(v.norm_scaling));
  return v;
}

}  // namespace wdlab

namespace wdlab {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// One decayed tensor of one run: its equilibrium values (means over the last third).
struct TensorEquilibrium {
  std::string name, kind;
  double coordinates = 0;
  double rel = NAN, norm = NAN, rms = NAN, cos = NAN, drift = NAN;
};

struct RunEquilibrium {
  int seed = 0;
  std::vector<TensorEquilibrium> tensors;  // the decayed ones, in table order
};

// One configuration of the sweep with the runs that logged per-tensor updates.
struct Arm {
  const Variant* variant = nullptr;
  double lr = NAN, lambda = NAN, beta1 = NAN;
  bool adamw = false, coupled = false;
  std::vector<RunEquilibrium> runs;
  double prediction = NAN;  // AdamW only
};

json read_json_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return nullptr;
  std::stringstream text;
  text << in.rdbuf();
  return parse_result_json(text.str());
}

double mean_of(const std::vector<double>& v) {
  return v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// A run's decayed tensors and their equilibrium values, or nothing when it logged no updates.
std::optional<RunEquilibrium> run_equilibrium(const fs::path& dir, const RunResult& r) {
  const json groups = read_json_file(dir / "param_groups.json");
  if (!groups.is_object() || !groups.contains("tensors")) return std::nullopt;
  std::vector<TensorEquilibrium> tensors;
  for (const json& t : groups["tensors"]) {
    if (!t.value("decay", false)) continue;
    TensorEquilibrium e;
    e.name = t.value("name", ""), e.kind = t.value("kind", "");
    double c = 1;
    for (const json& d : t.value("shape", json::array())) c *= d.get<double>();
    e.coordinates = c;
    tensors.push_back(e);
  }
  // Rows with updates: step and, per tensor, rel / norm / rms / cos.
  struct Row {
    double step;
    std::vector<double> rel, norm, rms, cos;
  };
  std::vector<Row> rows;
  std::ifstream in(dir / "tensor_norms.jsonl");
  for (std::string line; std::getline(in, line);) {
    const json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!row.is_object() || !row.contains("update_rel") || !row.contains("norms")) continue;
    Row x{row.value("step", 0.0), {}, {}, {}, {}};
    bool complete = true;
    for (const TensorEquilibrium& t : tensors) {
      auto get = [&](const char* key) {
        const json& o = row[key];
        return o.is_object() && o.contains(t.name) && o[t.name].is_number()
                   ? o[t.name].get<double>()
                   : NAN;
      };
      x.rel.push_back(get("update_rel")), x.norm.push_back(get("norms"));
      x.rms.push_back(get("update_rms")), x.cos.push_back(get("update_cos"));
      complete = complete && std::isfinite(x.rel.back()) && std::isfinite(x.norm.back());
    }
    if (complete) rows.push_back(std::move(x));
  }
  if (rows.empty() || tensors.empty()) return std::nullopt;
  const double last = rows.back().step;
  std::vector<const Row*> window;
  for (const Row& x : rows) {
    if (x.step > (1.0 - kEquilibriumWindow) * last) window.push_back(&x);
  }
  if (window.size() < 2) return std::nullopt;
  RunEquilibrium out;
  const json seed = r.config_value("seed");
  out.seed = seed.is_number_integer() ? seed.get<int>() : 0;
  const size_t half = window.size() / 2;
  for (size_t i = 0; i < tensors.size(); ++i) {
    TensorEquilibrium e = tensors[i];
    std::vector<double> rel, norm, rms, cos, first, second;
    for (size_t k = 0; k < window.size(); ++k) {
      rel.push_back(window[k]->rel[i]), norm.push_back(window[k]->norm[i]);
      rms.push_back(window[k]->rms[i]), cos.push_back(window[k]->cos[i]);
      (k < half ? first : second).push_back(window[k]->rel[i]);
    }
    e.rel = mean_of(rel), e.norm = mean_of(norm), e.rms = mean_of(rms), e.cos = mean_of(cos);
    e.drift = mean_of(second) / mean_of(first) - 1.0;
    out.tensors.push_back(e);
  }
  return out;
}

std::vector<Arm> arms_of(const SweepResults& results, const PresetVariants& preset) {
  std::vector<Arm> arms;
  for (const Variant& v : preset.variants) {
    Arm a;
    a.variant = &v;
    a.lr = v.lr, a.lambda = v.weight_decay;
    for (const RunResult* r : v.runs) {
      if (r->status != "finished") continue;
      if (!std::isfinite(a.beta1)) {
        const json b = r->config_value("optim.beta1");
        if (b.is_number()) a.beta1 = b.get<double>();
        const json s = r->config_value("optim.decay_scaling");
        const json name = r->config_value("optim.name");
        const bool adam = name.is_string() && name.get<std::string>() == "adam";
        // The equilibrium is one of a constant lr: scheduled runs are not compared.
        const json schedule = r->config_value("optim.schedule");
        const bool constant = schedule.is_string() && schedule.get<std::string>() == "constant";
        a.adamw = adam && constant && v.decay_mode == "decoupled" && s.is_string() &&
                  s.get<std::string>() == "lr" && a.lambda > 0;
        a.coupled = adam && constant && v.decay_mode == "coupled" && a.lambda > 0;
      }
      if (auto e = run_equilibrium(results.root / r->plan->name, *r)) a.runs.push_back(*e);
    }
    if (a.adamw) a.prediction = rotational_prediction(a.lr, a.lambda, a.beta1);
    if (!a.runs.empty() && (a.adamw || a.coupled)) arms.push_back(std::move(a));
  }
  return arms;
}

// Per tensor (in the first run's order), the values of `field` over the arm's seeds.
std::vector<Stat> per_tensor(const Arm& a, double TensorEquilibrium::*field) {
  std::vector<Stat> out;
  const size_t n = a.runs.front().tensors.size();
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> v;
    for (const RunEquilibrium& r : a.runs) {
      if (i < r.tensors.size() && std::isfinite(r.tensors[i].*field))
        v.push_back(r.tensors[i].*field);
    }
    out.push_back(summarize(v));
  }
  return out;
}

std::vector<double> means(const std::vector<Stat>& s) {
  std::vector<double> v;
  for (const Stat& x : s) v.push_back(x.mean);
  return v;
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double geometric_mean(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v) {
    if (x > 0 && std::isfinite(x)) s += std::log(x), ++n;
  }
  return n ? std::exp(s / n) : NAN;
}

// "transformer.h.1.mlp.c_fc.weight" -> "layer 1 mlp.c_fc"; the embedding and the head by role.
std::string layer_name(const std::string& name) {
  const std::string h = "transformer.h.";
  std::string s = name;
  if (s.ends_with(".weight")) s.resize(s.size() - 7);
  if (s.starts_with(h)) {
    const size_t dot = s.find('.', h.size());
    return "layer " + s.substr(h.size(), dot - h.size()) + " " + s.substr(dot + 1);
  }
  if (s == "transformer.wte") return "token embedding";
  if (s == "transformer.wpe") return "position embedding";
  if (s == "lm_head") return "output head";
  return s;
}

// The effective diffusion factor κ = 1 − 2⟨w,u⟩/(lr‖u‖²) of the stationarity identity
// 2λ‖w‖² = lr·‖u‖²·κ (random walk with momentum: κ = (1 + β1)/(1 − β1)).
double kappa_of(const TensorEquilibrium& t, double lr) {
  const double u = t.rms * std::sqrt(t.coordinates);
  if (!(u > 0 && lr > 0)) return NAN;
  return 1.0 - 2.0 * t.cos * t.norm / (lr * u);
}

// Per seed present in every AdamW arm: each tensor's exponents of `value` against lr and λ.
struct SeedFits {
  std::vector<int> seeds;
  std::vector<std::vector<PowerFit>> fits;  // [seed][tensor]
};
SeedFits fit_per_seed(const std::vector<const Arm*>& adamw,
                      const std::function<double(const TensorEquilibrium&, const Arm&)>& value) {
  SeedFits out;
  if (adamw.size() < 2) return out;
  for (const RunEquilibrium& r0 : adamw.front()->runs) {
    std::vector<const RunEquilibrium*> runs;
    for (const Arm* a : adamw) {
      for (const RunEquilibrium& r : a->runs) {
        if (r.seed == r0.seed && r.tensors.size() == r0.tensors.size()) runs.push_back(&r);
      }
    }
    if (runs.size() != adamw.size()) continue;
    std::vector<PowerFit> fits;
    for (size_t i = 0; i < r0.tensors.size(); ++i) {
      std::vector<PowerPoint> points;
      for (size_t k = 0; k < runs.size(); ++k)
        points.push_back({adamw[k]->lr, adamw[k]->lambda, value(runs[k]->tensors[i], *adamw[k])});
      fits.push_back(fit_power_law(points));
    }
    out.seeds.push_back(r0.seed);
    out.fits.push_back(std::move(fits));
  }
  return out;
}

// Over seeds: the mean over the selected tensors of their exponent.
Stat exponent_stat(const SeedFits& f, double PowerFit::*which,
                   const std::function<bool(size_t)>& selected) {
  std::vector<double> per_seed;
  for (const std::vector<PowerFit>& fits : f.fits) {
    std::vector<double> v;
    for (size_t i = 0; i < fits.size(); ++i) {
      if (selected(i) && std::isfinite(fits[i].*which)) v.push_back(fits[i].*which);
    }
    if (!v.empty()) per_seed.push_back(mean_of(v));
  }
  return summarize(per_seed);
}

std::string sig(double x, int digits = 3) {
  return std::isfinite(x) ? fmt::format("{:.{}g}", x, digits) : "—";
}

std::string stat_sig(const Stat& s) {
  if (s.n == 0 || !std::isfinite(s.mean)) return "—";
  return s.n > 1 ? fmt::format("{:.3g} ± {:.2g}", s.mean, s.se) : sig(s.mean);
}

std::string arm_label(const Arm& a) {
  return a.adamw ? fmt::format("AdamW lr {} λ {}", short_number(a.lr), short_number(a.lambda))
                 : fmt::format("Adam + L2 lr {} λ {}", short_number(a.lr), short_number(a.lambda));
}

// Over seeds: the mean over the tensors of `kind` ("" for all) of the ratio field / divisor.
Stat kind_stat(const Arm& a, const std::string& kind, double TensorEquilibrium::*field,
               double divisor = 1.0) {
  std::vector<double> per_seed;
  for (const RunEquilibrium& r : a.runs) {
    std::vector<double> v;
    for (const TensorEquilibrium& t : r.tensors) {
      if (kind.empty() || t.kind == kind) v.push_back(t.*field / divisor);
    }
    if (!v.empty()) per_seed.push_back(mean_of(v));
  }
  return summarize(per_seed);
}

}  // namespace

RotationalSection rotational_section(const SweepResults& results,
                                     const std::vector<PresetVariants>& presets) {
  RotationalSection s;
  std::string md;
  TextTable csv;
  csv.columns = {"preset",
                 "configuration",
                 "decay_mode",
                 "lr",
                 "weight_decay",
                 "tensor",
                 "kind",
                 "seeds",
                 "update_rel_mean",
                 "update_rel_se",
                 "predicted",
                 "norm_mean",
                 "norm_se",
                 "update_rms_mean",
                 "update_cos_mean",
                 "drift_mean"};
  LineFigure& fig = s.figure;
  for (const PresetVariants& p : presets) {
    const std::vector<Arm> arms = arms_of(results, p);
    std::vector<const Arm*> adamw, coupled;
    for (const Arm& a : arms) (a.adamw ? adamw : coupled).push_back(&a);
    if (adamw.size() < 2) continue;  // one configuration has no exponents: not such a sweep
    s.present = true;
    if (presets.size() > 1) md += "### " + p.preset + "\n\n";

    // The centre: nearest the mean of the AdamW points in (log lr, log λ).
    double mx = 0, my = 0;
    for (const Arm* a : adamw) mx += std::log(a->lr), my += std::log(a->lambda);
    mx /= adamw.size(), my /= adamw.size();
    const Arm* centre = adamw.front();
    double best = INFINITY;
    for (const Arm* a : adamw) {
      const double d = std::pow(std::log(a->lr) - mx, 2) + std::pow(std::log(a->lambda) - my, 2);
      if (d < best - 1e-12) best = d, centre = a;
    }
    const std::vector<TensorEquilibrium>& names = centre->runs.front().tensors;

    RotationalEvidence e;
    e.max_median_drift = -INFINITY;
    for (const Arm* a : adamw) {
      std::vector<double> drift;
      for (const Stat& d : per_tensor(*a, &TensorEquilibrium::drift))
        drift.push_back(std::fabs(d.mean));
      e.max_median_drift = std::max(e.max_median_drift, median(drift));
    }
    const std::vector<double> centre_rel = means(per_tensor(*centre, &TensorEquilibrium::rel));
    std::vector<double> ratios;
    for (double x : centre_rel) ratios.push_back(x / centre->prediction);
    e.level_ratio = geometric_mean(ratios);
    e.adamw_spread = coefficient_of_variation(centre_rel);
    for (const Arm* a : coupled) {
      const double cv = coefficient_of_variation(means(per_tensor(*a, &TensorEquilibrium::rel)));
      if (std::isfinite(cv))
        e.coupled_spread = std::isfinite(e.coupled_spread) ? std::min(e.coupled_spread, cv) : cv;
    }
    auto all = [](size_t) { return true; };
    const SeedFits rel_fits =
        fit_per_seed(adamw, [](const TensorEquilibrium& t, const Arm&) { return t.rel; });
    const SeedFits norm_fits =
        fit_per_seed(adamw, [](const TensorEquilibrium& t, const Arm&) { return t.norm; });
    const SeedFits rms_fits =
        fit_per_seed(adamw, [](const TensorEquilibrium& t, const Arm&) { return t.rms; });
    const SeedFits kappa_fits = fit_per_seed(
        adamw, [](const TensorEquilibrium& t, const Arm& a) { return kappa_of(t, a.lr); });
    e.rel_lr = exponent_stat(rel_fits, &PowerFit::lr_exponent, all);
    e.rel_lambda = exponent_stat(rel_fits, &PowerFit::lambda_exponent, all);
    e.norm_lr = exponent_stat(norm_fits, &PowerFit::lr_exponent, all);
    e.norm_lambda = exponent_stat(norm_fits, &PowerFit::lambda_exponent, all);
    if (!std::isfinite(e.max_median_drift)) e.max_median_drift = NAN;
    const RotationalVerdict verdict = rotational_verdict(e);
    md += verdict.line + "\n\n";
    s.verdict += (presets.size() > 1 ? p.preset + ": " : "") + verdict.line + "\n";

    // Table 1: per tensor (layer), the centre AdamW and every Adam + L2 configuration.
    md += fmt::format(
        "**Equilibrium relative update per step, per tensor** (update_rel = ‖Δw‖/‖w‖ of the full "
        "step, mean over the last third of the run, mean ± SE over {} seeds). Predicted for "
        "AdamW at lr {} and λ {}: {} (random-walk model with β1 = {}; √(2·lr·λ) = {}). Adam + "
        "L2 has no single prediction: its λ·w passes through Adam's normalisation, so each "
        "tensor's equilibrium depends on its own gradient scale.\n\n",
        centre->runs.size(), short_number(centre->lr), short_number(centre->lambda),
        sig(centre->prediction), sig(centre->beta1, 2),
        sig(std::sqrt(2 * centre->lr * centre->lambda)));
    TextTable t;
    t.columns = {"tensor", "kind", "AdamW measured", "measured / predicted"};
    for (const Arm* a : coupled) t.columns.push_back(arm_label(*a));
    std::vector<std::vector<Stat>> coupled_rel;
    for (const Arm* a : coupled) coupled_rel.push_back(per_tensor(*a, &TensorEquilibrium::rel));
    const std::vector<Stat> centre_stats = per_tensor(*centre, &TensorEquilibrium::rel);
    for (size_t i = 0; i < names.size(); ++i) {
      std::vector<std::string> row = {layer_name(names[i].name), names[i].kind,
                                      stat_sig(centre_stats[i]),
                                      sig(centre_stats[i].mean / centre->prediction)};
      for (const std::vector<Stat>& c : coupled_rel)
        row.push_back(i < c.size() ? stat_sig(c[i]) : "—");
      t.rows.push_back(row);
    }
    std::vector<std::string> kinds;
    for (const TensorEquilibrium& x : names) {
      if (std::find(kinds.begin(), kinds.end(), x.kind) == kinds.end()) kinds.push_back(x.kind);
    }
    kinds.push_back("");
    for (const std::string& k : kinds) {
      const Stat m = kind_stat(*centre, k, &TensorEquilibrium::rel);
      std::vector<std::string> row = {k.empty() ? "**all decayed tensors**" : "**" + k + "**",
                                      k.empty() ? "" : "(kind)", stat_sig(m),
                                      sig(m.mean / centre->prediction)};
      for (const Arm* a : coupled)
        row.push_back(stat_sig(kind_stat(*a, k, &TensorEquilibrium::rel)));
      t.rows.push_back(row);
    }
    std::vector<std::string> cv_row = {"**spread across tensors** (SD / mean)", "",
                                       sig(e.adamw_spread), ""};
    for (const Arm* a : coupled)
      cv_row.push_back(
          sig(coefficient_of_variation(means(per_tensor(*a, &TensorEquilibrium::rel)))));
    t.rows.push_back(cv_row);
    md += to_markdown(t) + "\n";

    // Table 2: every configuration.
    md +=
        "**Every configuration** (over the decayed tensors: geometric mean of update_rel and of "
        "measured / predicted, spread = SD / mean across tensors, median |drift| of update_rel "
        "from the first to the second half of the last third, mean ‖w‖ against the random-walk "
        "norm √(lr·C/(2λ)) per tensor, and the update's RMS per coordinate, ‖u‖/√C with "
        "u = m̂/(√v̂ + ε)):\n\n";
    TextTable all_t;
    all_t.columns = {"configuration",        "predicted", "measured (geo. mean)",
                     "measured / predicted", "spread",    "median |drift|",
                     "‖w‖ / √(lr·C/(2λ))",   "update RMS"};
    for (const Arm& a : arms) {
      const std::vector<double> rel = means(per_tensor(a, &TensorEquilibrium::rel));
      std::vector<double> drift, norm_ratio;
      const std::vector<Stat> d = per_tensor(a, &TensorEquilibrium::drift);
      const std::vector<Stat> nrm = per_tensor(a, &TensorEquilibrium::norm);
      for (size_t i = 0; i < d.size(); ++i) {
        drift.push_back(std::fabs(d[i].mean));
        norm_ratio.push_back(nrm[i].mean /
                             equilibrium_norm_prediction(a.lr, a.lambda, names[i].coordinates));
      }
      const double g = geometric_mean(rel);
      all_t.rows.push_back(
          {arm_label(a) + (&a == centre ? " (centre)" : ""), a.adamw ? sig(a.prediction) : "—",
           sig(g), a.adamw ? sig(g / a.prediction) : "—", sig(coefficient_of_variation(rel)),
           sig(median(drift), 2), a.adamw ? sig(geometric_mean(norm_ratio)) : "—",
           sig(geometric_mean(means(per_tensor(a, &TensorEquilibrium::rms))))});
      const std::vector<Stat> rs = per_tensor(a, &TensorEquilibrium::rel);
      const std::vector<Stat> rm = per_tensor(a, &TensorEquilibrium::rms);
      const std::vector<Stat> cs = per_tensor(a, &TensorEquilibrium::cos);
      for (size_t i = 0; i < rs.size(); ++i) {
        csv.rows.push_back({p.preset, a.variant->label, a.variant->decay_mode, sig(a.lr, 6),
                            sig(a.lambda, 6), names[i].name, names[i].kind, std::to_string(rs[i].n),
                            sig(rs[i].mean, 6), rs[i].n > 1 ? sig(rs[i].se, 6) : "",
                            a.adamw ? sig(a.prediction, 6) : "", sig(nrm[i].mean, 6),
                            nrm[i].n > 1 ? sig(nrm[i].se, 6) : "", sig(rm[i].mean, 6),
                            sig(cs[i].mean, 6), sig(d[i].mean, 6)});
      }
    }
    md += to_markdown(all_t) + "\n";

    // Table 3: exponents.
    md += fmt::format(
        "**Exponents against lr and λ** over the {} AdamW configurations: least squares of "
        "log(value) on log lr and log λ, per tensor and seed; a kind's (or all tensors') exponent "
        "is the mean over its tensors, then mean ± SE over the {} seeds. Predicted: update_rel "
        "+0.5 and +0.5; ‖w‖ +0.5 and −0.5; update RMS and κ 0 and 0. The stationarity identity "
        "2λ‖w‖² = lr·‖u‖²·κ, with κ = 1 − 2⟨w,u⟩/(lr·‖u‖²) (κ = (1 + β1)/(1 − β1) for a random "
        "walk), makes ‖w‖'s lr exponent 0.5 + (RMS's) + ½ (κ's): the last column adds them up "
        "from the measured pieces.\n\n",
        adamw.size(), rel_fits.seeds.size());
    TextTable ex;
    ex.columns = {"tensor",   "update_rel vs lr", "update_rel vs λ", "‖w‖ vs lr",
                  "‖w‖ vs λ", "update RMS vs lr", "κ vs lr",         "0.5 + RMS + ½κ (vs lr)"};
    auto exp_row = [&](const std::string& label, const std::function<bool(size_t)>& sel) {
      const Stat rms = exponent_stat(rms_fits, &PowerFit::lr_exponent, sel);
      const Stat kap = exponent_stat(kappa_fits, &PowerFit::lr_exponent, sel);
      // Per seed, the sum of the pieces, so its SE is over seeds too.
      std::vector<double> sums;
      for (size_t k = 0; k < rms_fits.fits.size() && k < kappa_fits.fits.size(); ++k) {
        std::vector<double> v;
        for (size_t i = 0; i < rms_fits.fits[k].size(); ++i) {
          if (sel(i))
            v.push_back(0.5 + rms_fits.fits[k][i].lr_exponent +
                        0.5 * kappa_fits.fits[k][i].lr_exponent);
        }
        if (!v.empty()) sums.push_back(mean_of(v));
      }
      ex.rows.push_back({label, exponent_text(exponent_stat(rel_fits, &PowerFit::lr_exponent, sel)),
                         exponent_text(exponent_stat(rel_fits, &PowerFit::lambda_exponent, sel)),
                         exponent_text(exponent_stat(norm_fits, &PowerFit::lr_exponent, sel)),
                         exponent_text(exponent_stat(norm_fits, &PowerFit::lambda_exponent, sel)),
                         exponent_text(rms), exponent_text(kap), exponent_text(summarize(sums))});
    };
    for (size_t i = 0; i < names.size(); ++i)
      exp_row(layer_name(names[i].name), [i](size_t j) { return j == i; });
    for (const std::string& k : kinds) {
      exp_row(k.empty() ? "**all decayed tensors**" : "**" + k + "** (kind)",
              [&, k](size_t j) { return k.empty() || names[j].kind == k; });
    }
    md += to_markdown(ex) + "\n";

    // The plot: update_rel per kind against step, one panel per configuration.
    for (const Arm& a : arms) {
      LinePanel panel;
      panel.title = (presets.size() > 1 ? p.preset + ": " : "") + arm_label(a);
      panel.note = a.adamw ? fmt::format("dotted: predicted {}; grey: √(2·lr·λ) = {}",
                                         sig(a.prediction), sig(std::sqrt(2 * a.lr * a.lambda)))
                           : "Adam + L2: no single prediction";
      panel.x_label = "step";
      panel.y_label = "‖Δw‖ / ‖w‖ per step";
      panel.log_y = true;
      if (a.adamw) {
        panel.reference_y = a.prediction;
        panel.reference_label = "predicted";
        const double plain = std::sqrt(2 * a.lr * a.lambda);
        panel.bands.push_back({"√(2·lr·λ)", "#999999", plain, plain, plain});
      }
      for (const std::string& k : kinds) {
        if (k.empty()) continue;
        // Mean over the seeds of metrics.jsonl's update_rel.<kind>, at the steps all logged.
        std::map<double, std::vector<double>> by_step;
        int n = 0;
        for (const RunResult* r : a.variant->runs) {
          if (r->status != "finished" || !r->curves.contains("update_rel." + k)) continue;
          ++n;
          const Curve& c = r->curves.at("update_rel." + k);
          for (size_t j = 0; j < c.step.size(); ++j) by_step[c.step[j]].push_back(c.value[j]);
        }
        LineSeries line{k, parameter_kind_color(k), {}, {}, {}, {}, false, false, 1.6};
        for (const auto& [step, v] : by_step) {
          if (static_cast<int>(v.size()) != n || step <= 0) continue;
          line.x.push_back(step), line.y.push_back(mean_of(v));
          line.lo.push_back(*std::min_element(v.begin(), v.end()));
          line.hi.push_back(*std::max_element(v.begin(), v.end()));
        }
        if (!line.x.empty()) panel.series.push_back(std::move(line));
      }
      fig.panels.push_back(std::move(panel));
    }
    for (const std::string& k : kinds) {
      if (!k.empty()) fig.legend.push_back({k, parameter_kind_color(k), "solid"});
    }
  }
  if (!s.present) return s;
  share_y_range(fig.panels);
  fig.title = "Relative update per step by kind: " + results.plan.name;
  fig.subtitle =
      "‖Δw‖/‖w‖ of the full step per parameter kind (metrics.jsonl), mean over seeds, shaded: "
      "range; dotted: the random-walk prediction √(2·lr·λ·(1−β1)/(1+β1)); grey line: √(2·lr·λ)";
  fig.legend.push_back({"predicted", "#555555", "dotted"});
  fig.legend.push_back({"√(2·lr·λ)", "#999999", "dashed"});
  fig.columns = std::min<int>(3, static_cast<int>(fig.panels.size()));

  std::string head = "## Rotational equilibrium: relative update and norm per tensor\n\n";
  head += fmt::format(
      "Kosson, Messmer, Jaggi (\"Rotational Equilibrium: How Weight Decay Balances Learning "
      "Across Neural Networks\", ICML 2024, arXiv:2305.17212): at constant lr, decoupled decay "
      "drives every decayed tensor to a steady state whose relative update per step depends on "
      "lr·λ only, the same across layers, and whose norm scales as √(lr/λ); with Adam + L2 the "
      "steady state differs by tensor. Measured per decayed tensor from tensor_norms.jsonl: "
      "means over the evaluations in the last third of each run. Verdict rule (fixed in "
      "advance, lib/report/rotational.h): reproduced when the runs are in equilibrium (median "
      "|drift| ≤ {:.2f}), AdamW's update at the centre configuration is within {:.0f}× of the "
      "prediction, its spread across tensors is ≤ {:.2f} and Adam + L2's at least {:.0f}× it, "
      "and the exponents of update_rel (+0.5, +0.5) and ‖w‖ (+0.5, −0.5) against lr and λ are "
      "each within ±{:.2f}; not reproduced without equilibrium or when none of level, "
      "homogeneity and rotation scaling holds; partly otherwise.\n\n",
      kMaxDrift, kLevelFactor, kMaxAdamWSpread, kCoupledSpreadFactor, kExponentTolerance);
  s.markdown = head + md +
               "![Relative update per step by kind against the prediction, per "
               "configuration](plots/rotational_update_rel.svg)\n\n";
  s.csv = to_csv(csv);
  return s;
}

}  // namespace wdlab
