// The rotational-equilibrium report's math (lib/report/rotational.h): the random-walk prediction
// against a simulated random walk under AdamW, the log-log exponent fit, the spread, and the
// verdict rule's branches.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "report/rotational.h"

namespace wdlab {
namespace {

TEST(RotationalPrediction, ClosedForm) {
  // Without momentum: √(2d + d²) for d = lr·λ.
  EXPECT_NEAR(rotational_prediction(0.01, 0.1, 0.0), std::sqrt(2e-3 + 1e-6), 1e-15);
  // β1 = 0.9: the momentum factor (1 − β1)/(1 + β1) = 1/19 on the leading term.
  const double d = 2e-3 * 2;
  EXPECT_NEAR(rotational_prediction(2e-3, 2, 0.9), std::sqrt(2 * d / 19 + d * d * (1 - 2.7) / 1.9),
              1e-15);
  EXPECT_TRUE(std::isnan(rotational_prediction(0.0, 1.0, 0.9)));
  EXPECT_NEAR(equilibrium_norm_prediction(0.01, 0.5, 400), 2.0, 1e-15);
}

// The model the prediction is derived in: a weight vector whose loss gradient is white noise
// orthogonal to it (a scale-invariant weight far from any minimum), trained by AdamW. Its
// measured per-step ‖Δw‖/‖w‖ and its norm settle at the predictions.
TEST(RotationalPrediction, MatchesASimulatedRandomWalkUnderAdamW) {
  const int C = 500, steps = 12000;
  const double lr = 0.01, lambda = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-12;
  Rng rng(42);
  std::vector<double> w(C), m(C, 0.0), v(C, 0.0), g(C);
  for (double& x : w) x = 0.05 * rng.normal();
  double rel_sum = 0, norm_sum = 0;
  int measured = 0;
  for (int t = 1; t <= steps; ++t) {
    double wg = 0, ww = 0;
    for (int i = 0; i < C; ++i) g[i] = rng.normal(), wg += w[i] * g[i], ww += w[i] * w[i];
    for (int i = 0; i < C; ++i) g[i] -= wg / ww * w[i];  // orthogonal to w
    double delta_sq = 0;
    for (int i = 0; i < C; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const double u =
          m[i] / (1 - std::pow(b1, t)) / (std::sqrt(v[i] / (1 - std::pow(b2, t))) + eps);
      const double step = lr * lambda * w[i] + lr * u;
      delta_sq += step * step;
      w[i] -= step;
    }
    if (t > steps / 2) {
      rel_sum += std::sqrt(delta_sq / ww), norm_sum += std::sqrt(ww), ++measured;
    }
  }
  // 6 decay timescales 1/(lr·λ) = 1000 steps before the window: the start is forgotten.
  EXPECT_NEAR(rel_sum / measured / rotational_prediction(lr, lambda, b1), 1.0, 0.05);
  EXPECT_NEAR(norm_sum / measured / equilibrium_norm_prediction(lr, lambda, C), 1.0, 0.05);
  // Without the momentum factor the prediction would be √19 ≈ 4.4× too large.
  EXPECT_LT(rel_sum / measured, 0.5 * std::sqrt(2 * lr * lambda));
}

TEST(PowerLawFit, RecoversExponentsOnACrossAndAGrid) {
  auto y = [](double lr, double lam) { return 3.0 * std::pow(lr, 0.4) * std::pow(lam, -0.7); };
  std::vector<PowerPoint> cross;
  for (auto [lr, lam] : std::vector<std::pair<double, double>>{
           {2e-3, 2}, {1e-3, 2}, {4e-3, 2}, {2e-3, 1}, {2e-3, 4}})
    cross.push_back({lr, lam, y(lr, lam)});
  PowerFit f = fit_power_law(cross);
  EXPECT_NEAR(f.lr_exponent, 0.4, 1e-12);
  EXPECT_NEAR(f.lambda_exponent, -0.7, 1e-12);
  // Noise that is symmetric around the law on a full grid leaves the exponents unbiased.
  std::vector<PowerPoint> grid;
  int k = 0;
  for (double lr : {1e-3, 3e-3, 1e-2})
    for (double lam : {0.5, 1.0, 2.0})
      grid.push_back({lr, lam, y(lr, lam) * (k++ % 2 ? 1.1 : 1 / 1.1)});
  f = fit_power_law(grid);
  EXPECT_NEAR(f.lr_exponent, 0.4, 0.05);
  EXPECT_NEAR(f.lambda_exponent, -0.7, 0.1);
}

TEST(PowerLawFit, AFactorThatDoesNotVaryHasNoExponent) {
  PowerFit f = fit_power_law({{1e-3, 1, 2.0}, {1e-3, 2, 1.0}, {1e-3, 4, 0.5}});
  EXPECT_TRUE(std::isnan(f.lr_exponent));
  EXPECT_NEAR(f.lambda_exponent, -1.0, 1e-12);
  // lr and λ doubled together: their effects cannot be told apart.
  f = fit_power_law({{1e-3, 1, 1.0}, {2e-3, 2, 2.0}, {4e-3, 4, 4.0}});
  EXPECT_TRUE(std::isnan(f.lr_exponent) && std::isnan(f.lambda_exponent));
  f = fit_power_law({{1e-3, 1, 1.0}});
  EXPECT_TRUE(std::isnan(f.lr_exponent) && std::isnan(f.lambda_exponent));
  // y <= 0 has no logarithm: left out.
  f = fit_power_law({{1e-3, 1, 1.0}, {2e-3, 1, 2.0}, {4e-3, 1, 0.0}});
  EXPECT_NEAR(f.lr_exponent, 1.0, 1e-12);
}

TEST(RotationalSpread, CoefficientOfVariation) {
  EXPECT_NEAR(coefficient_of_variation({1.0, 2.0, 3.0}), 0.5, 1e-15);  // SD 1 over mean 2
  EXPECT_TRUE(std::isnan(coefficient_of_variation({1.0})));
}

Stat exponent(double mean) {
  return summarize({mean - 0.01, mean + 0.01});
}

RotationalEvidence all_met() {
  RotationalEvidence e;
  e.max_median_drift = 0.05, e.level_ratio = 1.2, e.adamw_spread = 0.1, e.coupled_spread = 0.5;
  e.rel_lr = exponent(0.5), e.rel_lambda = exponent(0.45);
  e.norm_lr = exponent(0.55), e.norm_lambda = exponent(-0.5);
  return e;
}

TEST(RotationalVerdict, EveryBranchOfTheRule) {
  RotationalVerdict v = rotational_verdict(all_met());
  EXPECT_EQ(v.word, "reproduced");
  EXPECT_NE(v.line.find("**Rotational equilibrium: reproduced at this scale.**"),
            std::string::npos);

  RotationalEvidence e = all_met();
  e.norm_lr = exponent(0.23);  // the norm's lr exponent off: partly
  v = rotational_verdict(e);
  EXPECT_EQ(v.word, "partly reproduced");
  EXPECT_FALSE(v.norm_scaling);
  EXPECT_TRUE(v.rotation_scaling && v.level && v.homogeneous && v.equilibrium);

  e = all_met();
  e.max_median_drift = 0.3;  // not in equilibrium: not reproduced, whatever else holds
  EXPECT_EQ(rotational_verdict(e).word, "not reproduced");

  e = all_met();
  e.level_ratio = 3.0, e.coupled_spread = 0.15, e.rel_lambda = exponent(0.2);
  v = rotational_verdict(e);  // none of level, homogeneity, rotation scaling
  EXPECT_EQ(v.word, "not reproduced");
  EXPECT_FALSE(v.level || v.homogeneous || v.rotation_scaling);

  e = all_met();
  e.coupled_spread = NAN;  // no Adam + L2 arm: homogeneity cannot be shown
  v = rotational_verdict(e);
  EXPECT_FALSE(v.homogeneous);
  EXPECT_EQ(v.word, "partly reproduced");
  EXPECT_NE(v.line.find("Adam + L2 at least n/a"), std::string::npos);

  e = all_met();
  e.level_ratio = 0.49;  // just outside the factor of 2
  EXPECT_FALSE(rotational_verdict(e).level);
  e.level_ratio = 0.51;
  EXPECT_TRUE(rotational_verdict(e).level);
}

}  // namespace
}  // namespace wdlab
