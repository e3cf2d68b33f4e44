#include "report/rotational.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

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
