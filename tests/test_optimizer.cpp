// Optimizer tests. The reference used throughout (reference_run) is written straight from the
// update equations in lib/optim/optimizer.h, in double precision, and calls no library code: the
// optimizer under test must agree with it for every decay mode x scaling x scope, for Adam and
// SGD. Literal hand-computed numbers pin a few cases independently of both.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/param_table.h"
#include "core/rng.h"
#include "core/worker_pool.h"
#include "optim/grad_clip.h"
#include "optim/lr_schedule.h"
#include "optim/optimizer.h"
#include "optim/param_groups.h"

namespace wdlab {
namespace {

constexpr DecayMode kModes[] = {DecayMode::none, DecayMode::coupled, DecayMode::decoupled};
constexpr DecayScaling kScalings[] = {DecayScaling::lr, DecayScaling::schedule,
                                      DecayScaling::lr_squared, DecayScaling::adamc,
                                      DecayScaling::adamc_all};
constexpr DecayScope kScopes[] = {DecayScope::selective, DecayScope::uniform};
constexpr OptimizerKind kKinds[] = {OptimizerKind::adam, OptimizerKind::sgd};

// ---------------------------------------------------------------------------------------------
// The small parameter set: a 2x3 matrix, a length-3 bias, a length-3 norm gain, a 2x2 embedding.

ParamTable small_table() {
  ParamTable table;
  table.add("h.0.fc.weight", {2, 3}, ParamKind::matrix);  // elements 0..5
  table.add("h.0.fc.bias", {3}, ParamKind::bias);         // elements 6..8
  table.add("h.0.ln.weight", {3}, ParamKind::norm_gain);  // elements 9..11
  table.add("wte.weight", {2, 2}, ParamKind::embedding);  // elements 12..15
  return table;
}
constexpr size_t kFcW = 0, kFcB = 1, kLnG = 2, kWte = 3;

const std::vector<float> kInit = {0.8f,   -0.5f, 0.3f,  -1.1f, 0.6f, -0.35f,  // fc.weight
                                  0.4f,   -0.7f, 0.55f,                       // fc.bias
                                  1.0f,   0.9f,  1.2f,                        // ln.weight
                                  -0.45f, 0.75f, -0.9f, 0.5f};                // wte

// A different gradient at every step (with sign changes, so Adam's m/sqrt(v) is not just ±1).
const std::vector<std::vector<float>> kGrads = {
    {0.5f, -0.3f, 0.9f, 0.1f, -1.2f, 0.25f, 0.05f, -0.6f, 0.35f, 0.2f, -0.15f, 0.4f, 0.7f, -0.05f,
     0.3f, -0.8f},
    {-0.2f, -0.4f, 0.6f, 0.3f, -0.5f, -0.1f, 0.15f, 0.2f, -0.45f, 0.1f, -0.25f, 0.6f, -0.3f, 0.2f,
     0.5f, -0.35f},
    {0.35f, 0.1f, -0.2f, 0.45f, -0.9f, 0.3f, -0.25f, -0.5f, 0.1f, -0.4f, 0.05f, 0.3f, 0.6f, -0.15f,
     -0.2f, 0.25f},
};

// Cosine from 0.05 to 0.01 over three steps, no warmup: lr_t = 0.05, 0.03, 0.01.
const LrSchedule kSweepSchedule{
    .kind = ScheduleKind::cosine, .peak = 0.05, .min_lr = 0.01, .warmup = 0, .total = 3};

constexpr double kLambda = 0.1;

// ---------------------------------------------------------------------------------------------
// Running the library optimizer.

struct OptRun {
  std::vector<float> params, m, v;
  std::vector<double> per_step;  // StepDecay::per_step of each step
};

OptRun run_optimizer(const ParamTable& table, const DecayPlan& plan,
                     const OptimizerOptions& options, const std::vector<float>& init,
                     const std::vector<std::vector<float>>& grads, const std::vector<double>& lrs,
                     double lr_peak, WorkerPool* pool = nullptr) {
  Optimizer opt(table, plan, options);
  OptRun run;
  run.params = init;
  for (size_t t = 0; t < lrs.size(); ++t) {
    StepDecay d =
        opt.step(run.params.data(), grads[t % grads.size()].data(), lrs[t], lr_peak, pool);
    run.per_step.push_back(d.per_step);
  }
  run.m = opt.first_moment();
  run.v = opt.second_moment();
  return run;
}

std::vector<double> sweep_lrs() {
  return {kSweepSchedule.at(0), kSweepSchedule.at(1), kSweepSchedule.at(2)};
}

OptimizerOptions make_options(OptimizerKind kind, DecayMode mode, DecayScaling scaling,
                              double lambda) {
  OptimizerOptions o;
  o.kind = kind;
  o.decay_mode = mode;
  o.decay_scaling = scaling;
  o.weight_decay = lambda;
  // The reference's hyperparameters (RefConfig below): OptimizerOptions has no defaults.
  o.beta1 = 0.9;
  o.beta2 = 0.999;
  o.eps = 1e-8;
  o.momentum = 0.9;
  return o;
}

OptRun run_small(OptimizerKind kind, DecayMode mode, DecayScaling scaling, DecayScope scope,
                 double lambda, const std::vector<DecayRule>& rules = {}) {
  static const ParamTable table = small_table();
  return run_optimizer(table, build_decay_plan(table, scope, rules),
                       make_options(kind, mode, scaling, lambda), kInit, kGrads, sweep_lrs(),
                       kSweepSchedule.peak);
}

bool bitwise_equal(const float* a, const float* b, size_t n) {
  return n == 0 || std::memcmp(a, b, n * sizeof(float)) == 0;  // data() may be null if n == 0
}

// ---------------------------------------------------------------------------------------------
// Independent double-precision reference, straight from the equations in lib/optim/optimizer.h
// (textbook form: bias- corrected m_hat, v_hat; eps added to sqrt(v_hat); decoupled decay as θ(1 -
// s_t λ)).

struct RefConfig {
  OptimizerKind kind;
  DecayMode mode;
  DecayScaling scaling;
  double lambda;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, momentum = 0.9;
};

struct RefRun {
  std::vector<double> params, m, v;
};

// AdamC's normalized layers in the small set, from the paper's rule (every linear layer but the
// output head; adamc_scope.h): fc.weight and fc.bias, not ln.weight or the embedding. adamc_all:
// everything.
std::vector<bool> expected_adamc_elements(DecayScaling scaling) {
  std::vector<bool> a(16, scaling == DecayScaling::adamc_all);
  if (scaling == DecayScaling::adamc) {
    for (size_t j = 0; j < 9; ++j) a[j] = true;  // fc.weight, fc.bias
  }
  return a;
}

RefRun reference_run(const RefConfig& c, const std::vector<bool>& decayed,
                     const std::vector<float>& init, const std::vector<std::vector<float>>& grads,
                     const std::vector<double>& lrs, double lr_peak) {
  const std::vector<bool> adamc = expected_adamc_elements(c.scaling);
  const size_t n = init.size();
  RefRun r;
  r.params.assign(init.begin(), init.end());
  r.m.assign(n, 0.0);
  r.v.assign(n, 0.0);
  for (size_t step = 0; step < lrs.size(); ++step) {
    const int t = static_cast<int>(step) + 1;
    const double gamma = lrs[step];
    double s = 0.0;                                                // decoupled multiplier s_t
    if (c.scaling == DecayScaling::lr) s = gamma;                  // torch AdamW
    if (c.scaling == DecayScaling::schedule) s = gamma / lr_peak;  // L&H eta_t
    if (c.scaling == DecayScaling::lr_squared) s = gamma * gamma;  // PaLM
    for (size_t j = 0; j < n; ++j) {
      // AdamC (Defazio 2025): lr_t^2 / lr_peak on normalized layers, AdamW's lr_t elsewhere.
      if (c.scaling == DecayScaling::adamc || c.scaling == DecayScaling::adamc_all)
        s = adamc[j] ? gamma * gamma / lr_peak : gamma;
      double& theta = r.params[j];
      double g = grads[step % grads.size()][j];
      if (c.mode == DecayMode::coupled && decayed[j]) g += c.lambda * theta;
      double u;
      if (c.kind == OptimizerKind::adam) {
        r.m[j] = c.beta1 * r.m[j] + (1 - c.beta1) * g;
        r.v[j] = c.beta2 * r.v[j] + (1 - c.beta2) * g * g;
        const double m_hat = r.m[j] / (1 - std::pow(c.beta1, t));
        const double v_hat = r.v[j] / (1 - std::pow(c.beta2, t));
        u = gamma * m_hat / (std::sqrt(v_hat) + c.eps);
      } else {
        r.m[j] = t == 1 ? g : c.momentum * r.m[j] + g;
        u = gamma * r.m[j];
      }
      if (c.mode == DecayMode::decoupled && decayed[j]) theta *= 1 - s * c.lambda;
      theta -= u;
    }
  }
  return r;
}

// Which elements of the small set decay, written out from the scope definitions (not from
// build_decay_plan): selective = fc.weight and wte; uniform = everything.
std::vector<bool> expected_decayed_elements(DecayScope scope) {
  std::vector<bool> d(16, true);
  if (scope == DecayScope::selective) {
    for (size_t j = 6; j < 12; ++j) d[j] = false;  // fc.bias, ln.weight
  }
  return d;
}

// ~1e-6 relative; the 0.1 floor keeps the bound meaningful for values that cancel towards 0
// (float rounding of O(0.1..1) operands leaves errors ~1e-8 there).
double tol(double ref) {
  return 1e-6 * std::max(std::abs(ref), 0.1);
}

std::string describe(OptimizerKind k, DecayMode m, DecayScaling s, DecayScope sc) {
  return std::string(to_string(k)) + "/" + std::string(to_string(m)) + "/" +
         std::string(to_string(s)) + "/" + std::string(to_string(sc));
}

// ---------------------------------------------------------------------------------------------
// 1. Every mode x scaling x scope, Adam and SGD, against the double reference.

TEST(OptimizerSweep, MatchesDoubleReferenceForEveryConfiguration) {
  const std::vector<double> lrs = sweep_lrs();
  // The schedule really changes per step (so the scalings differ from each other).
  ASSERT_NEAR(lrs[0], 0.05, 1e-15);
  ASSERT_NEAR(lrs[1], 0.03, 1e-15);
  ASSERT_NEAR(lrs[2], 0.01, 1e-15);
  int configurations = 0;
  for (OptimizerKind kind : kKinds) {
    for (DecayMode mode : kModes) {
      for (DecayScaling scaling : kScalings) {
        for (DecayScope scope : kScopes) {
          SCOPED_TRACE(describe(kind, mode, scaling, scope));
          ++configurations;
          const OptRun got = run_small(kind, mode, scaling, scope, kLambda);
          const std::vector<bool> decayed = expected_decayed_elements(scope);
          const RefConfig cfg{kind, mode, scaling, kLambda};
          const RefRun ref = reference_run(cfg, decayed, kInit, kGrads, lrs, 0.05);
          const RefRun ref0 =
              reference_run(RefConfig{kind, mode, scaling, 0.0}, decayed, kInit, kGrads, lrs, 0.05);
          ASSERT_EQ(got.params.size(), 16u);
          for (size_t j = 0; j < 16; ++j) {
            SCOPED_TRACE("element " + std::to_string(j));
            EXPECT_NEAR(got.params[j], ref.params[j], tol(ref.params[j]));
            EXPECT_NEAR(got.m[j], ref.m[j], tol(ref.m[j]));
            if (kind == OptimizerKind::adam) {
              EXPECT_NEAR(got.v[j], ref.v[j], 1e-6 * ref.v[j]);
            }
            // Test power: where decay applies, it moves the result by far more than the
            // tolerance, so a wrong (or missing) decay term would fail the comparison above.
            const double effect = std::abs(ref.params[j] - ref0.params[j]);
            if (mode != DecayMode::none && decayed[j]) {
              EXPECT_GT(effect, 20 * tol(ref.params[j]));
            } else {
              EXPECT_EQ(effect, 0.0);
            }
          }
          if (kind == OptimizerKind::sgd) {
            EXPECT_TRUE(got.v.empty());
          }
          // StepDecay::per_step, from the header's definition.
          ASSERT_EQ(got.per_step.size(), 3u);
          for (size_t t = 0; t < 3; ++t) {
            double expected = 0.0;
            if (mode == DecayMode::coupled) expected = lrs[t] * kLambda;
            if (mode == DecayMode::decoupled) {
              if (scaling == DecayScaling::lr) expected = lrs[t] * kLambda;
              if (scaling == DecayScaling::schedule) expected = lrs[t] / 0.05 * kLambda;
              if (scaling == DecayScaling::lr_squared) expected = lrs[t] * lrs[t] * kLambda;
              if (scaling == DecayScaling::adamc || scaling == DecayScaling::adamc_all)
                expected = lrs[t] * lrs[t] / 0.05 * kLambda;
            }
            EXPECT_NEAR(got.per_step[t], expected, 1e-15);
          }
        }
      }
    }
  }
  EXPECT_EQ(configurations, 60);
}

// ---------------------------------------------------------------------------------------------
// 2. Literal, hand-computed numbers.

ParamTable one_matrix_table(int64_t n) {
  ParamTable table;
  table.add("w", {1, n}, ParamKind::matrix);
  return table;
}

std::vector<float> one_step(const OptimizerOptions& o, std::vector<float> w,
                            const std::vector<float>& g, double lr) {
  const ParamTable table = one_matrix_table(static_cast<int64_t>(w.size()));
  Optimizer opt(table, build_decay_plan(table, DecayScope::selective, {}), o);
  opt.step(w.data(), g.data(), lr, lr);
  return w;
}

TEST(OptimizerLiteral, AdamFirstStepIsSignLike) {
  // Step 1: m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps) ~= lr * sign(g).
  const std::vector<float> w0 = {1.0f, -0.5f, -0.4f};
  const std::vector<float> g = {0.5f, -0.25f, 0.02f};
  const auto w1 = one_step(make_options(OptimizerKind::adam, DecayMode::none, DecayScaling::lr, 0),
                           w0, g, 1e-3);
  EXPECT_NEAR(w1[0], 0.999, 2e-7);
  EXPECT_NEAR(w1[1], -0.499, 2e-7);
  EXPECT_NEAR(w1[2], -0.401, 2e-7);
}

TEST(OptimizerLiteral, AdamWFirstStepShrinksThenSignStep) {
  // w1 = w0 - lr*λ*w0 - lr*sign(g), lr = 1e-3, λ = 0.1.
  const std::vector<float> w0 = {1.0f, -0.5f, -0.4f};
  const std::vector<float> g = {0.5f, -0.25f, 0.02f};
  const auto w1 = one_step(
      make_options(OptimizerKind::adam, DecayMode::decoupled, DecayScaling::lr, 0.1), w0, g, 1e-3);
  EXPECT_NEAR(w1[0], 0.9989, 2e-7);     // 1 - 1e-4 - 1e-3
  EXPECT_NEAR(w1[1], -0.49895, 2e-7);   // -0.5 + 5e-5 + 1e-3
  EXPECT_NEAR(w1[2], -0.400960, 2e-7);  // -0.4 + 4e-5 - 1e-3
}

TEST(OptimizerLiteral, CoupledFirstStepUsesSignOfDecayedGradient) {
  // w1 = w0 - lr*sign(g + λ w0): for the third weight g + λw = 0.02 - 0.04 < 0, so the step
  // flips direction compared with no decay (-0.401 above).
  const std::vector<float> w0 = {1.0f, -0.5f, -0.4f};
  const std::vector<float> g = {0.5f, -0.25f, 0.02f};
  const auto w1 = one_step(
      make_options(OptimizerKind::adam, DecayMode::coupled, DecayScaling::lr, 0.1), w0, g, 1e-3);
  EXPECT_NEAR(w1[0], 0.999, 2e-7);
  EXPECT_NEAR(w1[1], -0.499, 2e-7);
  EXPECT_NEAR(w1[2], -0.399, 2e-7);
}

TEST(OptimizerLiteral, AdamSecondStepWithGradientReversal) {
  // g1 = 1, g2 = -1, lr = 1e-3: m2 = 0.09 - 0.1 = -0.01, v2 = 0.000999 + 0.001 = 0.001999,
  // m_hat = -0.01 / 0.19 = -1/19, v_hat = 0.001999 / 0.001999 = 1  =>  w2 = 0.999 + 1e-3/19.
  const ParamTable table = one_matrix_table(1);
  Optimizer opt(table, build_decay_plan(table, DecayScope::selective, {}),
                make_options(OptimizerKind::adam, DecayMode::none, DecayScaling::lr, 0));
  std::vector<float> w = {1.0f};
  const float g1 = 1.0f, g2 = -1.0f;
  opt.step(w.data(), &g1, 1e-3, 1e-3);
  EXPECT_NEAR(w[0], 0.999, 2e-7);
  opt.step(w.data(), &g2, 1e-3, 1e-3);
  EXPECT_NEAR(w[0], 0.99905263157894737, 2e-7);
  EXPECT_NEAR(opt.first_moment()[0], -0.01, 1e-8);
  EXPECT_NEAR(opt.second_moment()[0], 0.001999, 1e-10);
  EXPECT_EQ(opt.steps_taken(), 2);
}

TEST(OptimizerLiteral, AdamEpsIsAddedAfterBiasCorrection) {
  // g = 1e-8 = eps at every step: m_hat = g, v_hat = g^2, so each update is
  // lr * g / (g + eps) = lr / 2 (eps inside the root, or on the uncorrected sqrt(v) as in
  // Kingma & Ba's "efficient" form, would give a very different step).
  const ParamTable table = one_matrix_table(1);
  Optimizer opt(table, build_decay_plan(table, DecayScope::selective, {}),
                make_options(OptimizerKind::adam, DecayMode::none, DecayScaling::lr, 0));
  std::vector<float> w = {1.0f};
  const float g = 1e-8f;
  opt.step(w.data(), &g, 1e-3, 1e-3);
  EXPECT_NEAR(w[0], 0.9995, 2e-7);
  opt.step(w.data(), &g, 1e-3, 1e-3);
  EXPECT_NEAR(w[0], 0.9990, 2e-7);
}

TEST(OptimizerLiteral, SgdMomentumTwoSteps) {
  // momentum 0.9, lr 0.1, w0 = 1, g1 = 0.5, g2 = 0.25.
  const ParamTable table = one_matrix_table(1);
  const float g[2] = {0.5f, 0.25f};
  auto run = [&](DecayMode mode) {
    Optimizer opt(table, build_decay_plan(table, DecayScope::selective, {}),
                  make_options(OptimizerKind::sgd, mode, DecayScaling::lr, 0.1));
    std::vector<float> w = {1.0f};
    opt.step(w.data(), &g[0], 0.1, 0.1);
    const float w1 = w[0];
    opt.step(w.data(), &g[1], 0.1, 0.1);
    return std::pair<float, float>{w1, w[0]};
  };
  // none: buf = 0.5 -> w1 = 0.95; buf = 0.45 + 0.25 = 0.7 -> w2 = 0.88.
  auto [n1, n2] = run(DecayMode::none);
  EXPECT_NEAR(n1, 0.95, 1e-7);
  EXPECT_NEAR(n2, 0.88, 1e-7);
  // decoupled: w1 = 1 - 0.01 - 0.05 = 0.94; w2 = 0.94 * 0.99 - 0.07 = 0.8606.
  auto [d1, d2] = run(DecayMode::decoupled);
  EXPECT_NEAR(d1, 0.94, 1e-7);
  EXPECT_NEAR(d2, 0.8606, 1e-7);
  // coupled: g1' = 0.6 -> w1 = 0.94; g2' = 0.25 + 0.094 = 0.344, buf = 0.54 + 0.344 = 0.884,
  // w2 = 0.94 - 0.0884 = 0.8516.
  auto [c1, c2] = run(DecayMode::coupled);
  EXPECT_NEAR(c1, 0.94, 1e-7);
  EXPECT_NEAR(c2, 0.8516, 1e-7);
}

// ---------------------------------------------------------------------------------------------
// 3. Properties.

TEST(OptimizerProperties, ZeroDecayIsBitIdenticalAcrossModesScalingsScopes) {
  for (OptimizerKind kind : kKinds) {
    const OptRun base =
        run_small(kind, DecayMode::none, DecayScaling::lr, DecayScope::selective, 0);
    for (DecayMode mode : kModes) {
      for (DecayScaling scaling : kScalings) {
        for (DecayScope scope : kScopes) {
          SCOPED_TRACE(describe(kind, mode, scaling, scope));
          const OptRun r = run_small(kind, mode, scaling, scope, 0.0);
          EXPECT_TRUE(bitwise_equal(r.params.data(), base.params.data(), 16));
          EXPECT_TRUE(bitwise_equal(r.m.data(), base.m.data(), 16));
          ASSERT_EQ(r.v.size(), base.v.size());
          EXPECT_TRUE(bitwise_equal(r.v.data(), base.v.data(), r.v.size()));
        }
      }
    }
    // ...and the runs did move the weights.
    EXPECT_FALSE(bitwise_equal(base.params.data(), kInit.data(), 16));
  }
}

// Workers update contiguous slices of the arena (cutting through tensors here: 16 elements in
// slices of 5, 5 and 6): every element still gets the same arithmetic, so the bits are the same.
TEST(OptimizerProperties, WorkerSlicesGiveTheSameBits) {
  const ParamTable table = small_table();
  WorkerPool pool(3);
  for (OptimizerKind kind : kKinds) {
    for (DecayMode mode : kModes) {
      SCOPED_TRACE(describe(kind, mode, DecayScaling::lr, DecayScope::selective));
      const DecayPlan plan = build_decay_plan(table, DecayScope::selective, {});
      const OptimizerOptions o = make_options(kind, mode, DecayScaling::lr, kLambda);
      const OptRun alone = run_optimizer(table, plan, o, kInit, kGrads, sweep_lrs(), 0.05);
      const OptRun split = run_optimizer(table, plan, o, kInit, kGrads, sweep_lrs(), 0.05, &pool);
      EXPECT_TRUE(bitwise_equal(alone.params.data(), split.params.data(), 16));
      EXPECT_TRUE(bitwise_equal(alone.m.data(), split.m.data(), 16));
      EXPECT_FALSE(bitwise_equal(alone.params.data(), kInit.data(), 16));
    }
  }
}

TEST(OptimizerProperties, CoupledDiffersFromDecoupled) {
  for (OptimizerKind kind : kKinds) {
    SCOPED_TRACE(std::string(to_string(kind)));
    const OptRun c =
        run_small(kind, DecayMode::coupled, DecayScaling::lr, DecayScope::uniform, kLambda);
    const OptRun d =
        run_small(kind, DecayMode::decoupled, DecayScaling::lr, DecayScope::uniform, kLambda);
    double max_diff = 0.0;
    for (size_t j = 0; j < 16; ++j)
      max_diff = std::max(max_diff, double{std::abs(c.params[j] - d.params[j])});
    EXPECT_GT(max_diff, 1e-4);
  }
}

TEST(OptimizerProperties, SelectiveSparesBiasAndNormGainUniformDecaysAll) {
  const ParamTable table = small_table();
  for (OptimizerKind kind : kKinds) {
    for (DecayMode mode : {DecayMode::coupled, DecayMode::decoupled}) {
      for (DecayScaling scaling : kScalings) {
        SCOPED_TRACE(describe(kind, mode, scaling, DecayScope::selective));
        const OptRun base = run_small(kind, mode, scaling, DecayScope::selective, 0.0);
        const OptRun sel = run_small(kind, mode, scaling, DecayScope::selective, kLambda);
        const OptRun uni = run_small(kind, mode, scaling, DecayScope::uniform, kLambda);
        for (size_t i = 0; i < table.size(); ++i) {
          const ParamInfo& p = table[i];
          const bool spared = i == kFcB || i == kLnG;
          SCOPED_TRACE(p.name);
          // Selective: bias/gain bitwise equal to the λ = 0 run; matrix/embedding moved.
          EXPECT_EQ(
              bitwise_equal(sel.params.data() + p.offset, base.params.data() + p.offset, p.numel),
              spared);
          for (size_t k = 0; k < p.numel; ++k) {
            const size_t j = p.offset + k;
            if (!spared) {
              EXPECT_NE(sel.params[j], base.params[j]);
            }
            EXPECT_NE(uni.params[j], base.params[j]);  // uniform: every element decays
          }
        }
      }
    }
  }
}

TEST(DecayPlan, SelectiveAndUniformCounts) {
  const ParamTable table = small_table();
  const DecayPlan sel = build_decay_plan(table, DecayScope::selective, {});
  EXPECT_EQ(sel.decays, (std::vector<bool>{true, false, false, true}));
  EXPECT_EQ(sel.decay.tensors, (std::vector<size_t>{kFcW, kWte}));
  EXPECT_EQ(sel.decay.numel, 10u);
  EXPECT_EQ(sel.no_decay.tensors, (std::vector<size_t>{kFcB, kLnG}));
  EXPECT_EQ(sel.no_decay.numel, 6u);

  const DecayPlan uni = build_decay_plan(table, DecayScope::uniform, {});
  EXPECT_EQ(uni.decays, (std::vector<bool>{true, true, true, true}));
  EXPECT_EQ(uni.decay.tensors, (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(uni.decay.numel, 16u);
  EXPECT_TRUE(uni.no_decay.tensors.empty());
  EXPECT_EQ(uni.no_decay.numel, 0u);
}

TEST(DecayPlan, SelectiveDecaysHigherRankTensorsRegardlessOfKind) {
  ParamTable table;
  table.add("experts.w", {4, 2, 3}, ParamKind::matrix);  // 3-D (stacked experts)
  table.add("odd.gain", {2, 2}, ParamKind::norm_gain);   // 2-D even though a gain
  table.add("pos", {5}, ParamKind::embedding);           // 1-D even though an embedding
  const DecayPlan plan = build_decay_plan(table, DecayScope::selective, {});
  EXPECT_EQ(plan.decays, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(plan.decay.numel, 28u);
  EXPECT_EQ(plan.no_decay.numel, 5u);
}

TEST(DecayPlan, RulesApplyInOrderLastMatchWins) {
  const ParamTable table = small_table();
  auto decays = [&](DecayScope scope, std::vector<DecayRule> rules) {
    return build_decay_plan(table, scope, rules).decays;
  };
  using V = std::vector<bool>;
  // OLMo: exempt embeddings.
  EXPECT_EQ(decays(DecayScope::selective, {{ParamKind::embedding, "", false}}),
            (V{true, false, false, false}));
  // Name glob: decay the biases too.
  EXPECT_EQ(decays(DecayScope::selective, {{std::nullopt, "*.bias", true}}),
            (V{true, true, false, true}));
  // '?' matches one character.
  EXPECT_EQ(decays(DecayScope::selective, {{std::nullopt, "h.?.ln.weight", true}}),
            (V{true, false, true, true}));
  EXPECT_EQ(decays(DecayScope::selective, {{std::nullopt, "h.??.ln.weight", true}}),
            (V{true, false, false, true}));
  // Uniform minus norm gains (OLMo 2 is the opposite: norms decayed, embeddings not).
  EXPECT_EQ(decays(DecayScope::uniform, {{ParamKind::norm_gain, "", false}}),
            (V{true, true, false, true}));
  // Last match wins: order matters.
  EXPECT_EQ(decays(DecayScope::selective,
                   {{std::nullopt, "h.0.*", false}, {ParamKind::matrix, "", true}}),
            (V{true, false, false, true}));
  EXPECT_EQ(decays(DecayScope::selective,
                   {{ParamKind::matrix, "", true}, {std::nullopt, "h.0.*", false}}),
            (V{false, false, false, true}));
  // Kind and glob must both match.
  EXPECT_EQ(decays(DecayScope::selective, {{ParamKind::bias, "wte*", true}}),
            (V{true, false, false, true}));
  EXPECT_EQ(decays(DecayScope::selective, {{ParamKind::bias, "h.0.*", true}}),
            (V{true, true, false, true}));
  // A rule with neither kind nor glob matches every tensor.
  EXPECT_EQ(decays(DecayScope::uniform, {{std::nullopt, "", false}}),
            (V{false, false, false, false}));
  // Counts follow the rules.
  const DecayPlan plan =
      build_decay_plan(table, DecayScope::selective, {{ParamKind::embedding, "", false}});
  EXPECT_EQ(plan.decay.tensors, (std::vector<size_t>{kFcW}));
  EXPECT_EQ(plan.decay.numel, 6u);
  EXPECT_EQ(plan.no_decay.tensors, (std::vector<size_t>{kFcB, kLnG, kWte}));
  EXPECT_EQ(plan.no_decay.numel, 10u);
}

TEST(DecayPlan, RuleChangesWhatTheOptimizerDecays) {
  const ParamTable table = small_table();
  const std::vector<DecayRule> no_emb = {{ParamKind::embedding, "", false}};
  for (OptimizerKind kind : kKinds) {
    for (DecayMode mode : {DecayMode::coupled, DecayMode::decoupled}) {
      SCOPED_TRACE(describe(kind, mode, DecayScaling::lr, DecayScope::selective));
      const OptRun base = run_small(kind, mode, DecayScaling::lr, DecayScope::selective, 0.0);
      const OptRun r =
          run_small(kind, mode, DecayScaling::lr, DecayScope::selective, kLambda, no_emb);
      const ParamInfo& wte = table[kWte];
      const ParamInfo& fc = table[kFcW];
      EXPECT_TRUE(
          bitwise_equal(r.params.data() + wte.offset, base.params.data() + wte.offset, wte.numel));
      EXPECT_FALSE(
          bitwise_equal(r.params.data() + fc.offset, base.params.data() + fc.offset, fc.numel));
    }
  }
}

TEST(DecayPlan, GlobMatch) {
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_FALSE(glob_match("", "a"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "anything.at.all"));
  EXPECT_TRUE(glob_match("abc", "abc"));
  EXPECT_FALSE(glob_match("abc", "abcd"));
  EXPECT_FALSE(glob_match("abcd", "abc"));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_FALSE(glob_match("a?c", "ac"));
  EXPECT_TRUE(glob_match("*.bias", "transformer.h.0.attn.c_attn.bias"));
  EXPECT_FALSE(glob_match("*.bias", "transformer.h.0.attn.c_attn.weight"));
  EXPECT_TRUE(glob_match("transformer.h.*.ln_?.weight", "transformer.h.11.ln_2.weight"));
  EXPECT_FALSE(glob_match("transformer.h.*.ln_?.weight", "transformer.h.11.ln_f.bias"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYbZZc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYYbZZ"));
  EXPECT_TRUE(glob_match("*a*", "banana"));
  EXPECT_TRUE(glob_match("**", "x"));
  EXPECT_TRUE(glob_match("*?", "x"));
  EXPECT_FALSE(glob_match("*??", "x"));
  EXPECT_TRUE(glob_match("wte*", "wte"));
}

// ---------------------------------------------------------------------------------------------
// 4. SGD control: with momentum 0 and constant lr, coupled L2 and lr-scaled decoupled decay are
// the same update, w - lr(g + λw) vs w - lrλw - lr g, up to float rounding. Adam separates them.

TEST(OptimizerProperties, SgdWithoutMomentumCoupledEqualsDecoupled) {
  const ParamTable table = small_table();
  const DecayPlan plan = build_decay_plan(table, DecayScope::uniform, {});
  const std::vector<double> lrs(3, 0.05);
  auto run = [&](OptimizerKind kind, DecayMode mode, double lambda) {
    OptimizerOptions o = make_options(kind, mode, DecayScaling::lr, lambda);
    o.momentum = 0.0;
    return run_optimizer(table, plan, o, kInit, kGrads, lrs, 0.05);
  };
  const OptRun sgd_c = run(OptimizerKind::sgd, DecayMode::coupled, kLambda);
  const OptRun sgd_d = run(OptimizerKind::sgd, DecayMode::decoupled, kLambda);
  const OptRun sgd_0 = run(OptimizerKind::sgd, DecayMode::none, 0.0);
  for (size_t j = 0; j < 16; ++j) {
    EXPECT_NEAR(sgd_c.params[j], sgd_d.params[j], 1e-6 * std::abs(sgd_d.params[j]));
    // ...and the decay is there (3 steps of 0.5% shrink).
    EXPECT_GT(std::abs(sgd_d.params[j] - sgd_0.params[j]), 1e-3 * std::abs(kInit[j]));
  }
  const OptRun adam_c = run(OptimizerKind::adam, DecayMode::coupled, kLambda);
  const OptRun adam_d = run(OptimizerKind::adam, DecayMode::decoupled, kLambda);
  double max_diff = 0.0;
  for (size_t j = 0; j < 16; ++j) {
    max_diff = std::max(max_diff, double{std::abs(adam_c.params[j] - adam_d.params[j])});
  }
  EXPECT_GT(max_diff, 1e-3);
}

// ---------------------------------------------------------------------------------------------
// 5. fp32 small decay: d = lr λ = 1e-4 * 2e-4 = 2e-8 < 2^-24.

TEST(OptimizerSmallDecay, FusedDecaySurvivesWhereNaiveMultiplyIsANoOp) {
  constexpr int kSteps = 2000;
  constexpr int64_t kN = 64;
  constexpr double kLr = 1e-4, kSmallLambda = 2e-4;
  const double d = kLr * kSmallLambda;  // 2e-8
  const ParamTable table = one_matrix_table(kN);
  const DecayPlan plan = build_decay_plan(table, DecayScope::selective, {});
  std::vector<float> init(kN);
  for (int64_t j = 0; j < kN; ++j) init[j] = 1.0f + 0.9f * static_cast<float>(j) / kN;  // [1, 1.9)
  // A non-zero gradient that varies with step and element (deterministic, sign-changing).
  std::vector<std::vector<float>> grads(kSteps, std::vector<float>(kN));
  for (int t = 0; t < kSteps; ++t) {
    for (int64_t j = 0; j < kN; ++j) {
      grads[t][j] = static_cast<float>(std::sin(0.37 * t + 1.3 * static_cast<double>(j)) + 0.2);
    }
  }
  const std::vector<double> lrs(kSteps, kLr);

  // The naive form really is a no-op: 1 - d rounds to 1 in float.
  const float naive_factor = 1.0f - static_cast<float>(d);
  EXPECT_EQ(naive_factor, 1.0f);

  auto opts = [&](double lambda) {
    return make_options(OptimizerKind::adam, DecayMode::decoupled, DecayScaling::lr, lambda);
  };
  const OptRun plain = run_optimizer(table, plan, opts(0.0), init, grads, lrs, kLr);
  const OptRun fused = run_optimizer(table, plan, opts(kSmallLambda), init, grads, lrs, kLr);

  // Naive torch-style AdamW in float: w *= (1 - d) before each (undecayed) Adam step. It ends
  // bitwise identical to the λ = 0 run: 2000 steps of decay lost entirely.
  {
    Optimizer opt(table, plan, opts(0.0));
    std::vector<float> w = init;
    for (int t = 0; t < kSteps; ++t) {
      for (float& x : w) x *= naive_factor;
      opt.step(w.data(), grads[t].data(), kLr, kLr);
    }
    EXPECT_TRUE(bitwise_equal(w.data(), plain.params.data(), kN));
  }

  // Expected total shrink: same runs in double (the Adam update does not depend on w in the
  // decoupled form, so the λ>0 minus λ=0 difference is pure decay, ~ d * Σ_t w_t ~ 4e-5 * w).
  const std::vector<bool> decayed(kN, true);
  const RefRun ref0 =
      reference_run(RefConfig{OptimizerKind::adam, DecayMode::decoupled, DecayScaling::lr, 0.0},
                    decayed, init, grads, lrs, kLr);
  const RefRun ref1 = reference_run(
      RefConfig{OptimizerKind::adam, DecayMode::decoupled, DecayScaling::lr, kSmallLambda}, decayed,
      init, grads, lrs, kLr);
  // Tolerances. Each of the 2000 float roundings in each run is an error of at most half an ulp
  // (ulp = 2^-23 ~ 1.2e-7 on [1, 2)), dithered by the varying Adam update, so each run's
  // accumulated error behaves roughly like a random walk of ~sqrt(2000) * ulp / sqrt(12) ~ 1.5e-6;
  // the difference of two runs spreads by ~2e-6 against an expected shrink of ~6e-5, i.e. ~4-5%
  // per element (observed here: 0.87..1.15). The walks are not perfectly independent, so the
  // bounds are set from a wider experiment: over 40 variants of this gradient (other frequencies,
  // phases and offsets; 2560 elements) the worst per-element ratio was off by 37% and the worst
  // 64-element mean by 3.7%. We allow 50% per element and 10% on the mean. A lost decay (ratio 0,
  // as in the naive form) or a doubled one (ratio 2) still fails both by a wide margin.
  double ratio_sum = 0.0;
  for (int64_t j = 0; j < kN; ++j) {
    const double expected = ref0.params[j] - ref1.params[j];
    const double got = static_cast<double>(plain.params[j]) - fused.params[j];
    ASSERT_GT(expected, 3e-5);
    EXPECT_NEAR(got / expected, 1.0, 0.5) << "element " << j;
    ratio_sum += got / expected;
  }
  EXPECT_NEAR(ratio_sum / kN, 1.0, 0.1);
}

// ---------------------------------------------------------------------------------------------
// 6. Learning-rate schedule.

TEST(LrSchedule, WarmupThenCosineToMinLr) {
  const LrSchedule s{
      .kind = ScheduleKind::cosine, .peak = 1e-3, .min_lr = 1e-4, .warmup = 4, .total = 11};
  EXPECT_DOUBLE_EQ(s.at(0), 2.5e-4);
  EXPECT_DOUBLE_EQ(s.at(1), 5e-4);
  EXPECT_DOUBLE_EQ(s.at(2), 7.5e-4);
  EXPECT_DOUBLE_EQ(s.at(3), 1e-3);
  EXPECT_DOUBLE_EQ(s.at(4), 1e-3);    // right after warmup: peak
  EXPECT_DOUBLE_EQ(s.at(7), 5.5e-4);  // halfway through the cosine: (peak + min) / 2
  EXPECT_DOUBLE_EQ(s.at(10), 1e-4);   // last step: min_lr
  EXPECT_DOUBLE_EQ(s.at(50), 1e-4);   // past the end: stays at min_lr
  for (int t = 4; t < 10; ++t) EXPECT_GT(s.at(t), s.at(t + 1));
}

TEST(LrSchedule, CosineWithoutWarmup) {
  EXPECT_DOUBLE_EQ(kSweepSchedule.at(0), 0.05);
  EXPECT_NEAR(kSweepSchedule.at(1), 0.03, 1e-16);
  EXPECT_DOUBLE_EQ(kSweepSchedule.at(2), 0.01);
}

TEST(LrSchedule, ConstantAfterWarmup) {
  const LrSchedule s{
      .kind = ScheduleKind::constant, .peak = 3e-4, .min_lr = 1e-5, .warmup = 2, .total = 10};
  EXPECT_DOUBLE_EQ(s.at(0), 1.5e-4);
  EXPECT_DOUBLE_EQ(s.at(1), 3e-4);
  for (int t = 2; t < 12; ++t) EXPECT_DOUBLE_EQ(s.at(t), 3e-4);
}

TEST(LrSchedule, NegativeStepThrows) {
  EXPECT_THROW(kSweepSchedule.at(-1), Error);
}

// ---------------------------------------------------------------------------------------------
// 7. Gradient clipping.

TEST(GradClip, ScalesToMaxNorm) {
  std::vector<float> g = {3.0f, 4.0f};
  EXPECT_DOUBLE_EQ(clip_grad_norm(g.data(), g.size(), 1.0), 5.0);
  // scale = 1 / (5 + 1e-6)
  EXPECT_FLOAT_EQ(g[0], 0.59999988f);
  EXPECT_FLOAT_EQ(g[1], 0.79999984f);
  const double after = l2_norm(g.data(), g.size());
  EXPECT_NEAR(after, 1.0, 1e-6);
  EXPECT_LE(after, 1.0);
}

TEST(GradClip, EpsilonInTheScaleAsTorch) {
  // scale = max_norm / (norm + 1e-6): with norm = 5e-6 and max_norm = 1e-6 the 1e-6 matters,
  // scale = 1/6 (not 1/5).
  std::vector<float> g = {3e-6f, 4e-6f};
  EXPECT_NEAR(clip_grad_norm(g.data(), g.size(), 1e-6), 5e-6, 1e-12);
  EXPECT_NEAR(g[0], 5e-7, 1e-13);
  EXPECT_NEAR(g[1], 6.6666667e-7, 1e-13);
}

TEST(GradClip, NoOpBelowThresholdOrDisabled) {
  const std::vector<float> orig = {3.0f, -4.0f, 0.5f};
  std::vector<float> g = orig;
  EXPECT_NEAR(clip_grad_norm(g.data(), g.size(), 10.0), std::sqrt(25.25), 1e-12);
  EXPECT_TRUE(bitwise_equal(g.data(), orig.data(), 3));
  EXPECT_NEAR(clip_grad_norm(g.data(), g.size(), 0.0), std::sqrt(25.25), 1e-12);
  EXPECT_TRUE(bitwise_equal(g.data(), orig.data(), 3));
  clip_grad_norm(g.data(), g.size(), -1.0);
  EXPECT_TRUE(bitwise_equal(g.data(), orig.data(), 3));
}

TEST(GradClip, WorkersSumSlicesInOrder) {
  std::vector<float> g(1001);
  Rng rng(3);
  for (float& x : g) x = static_cast<float>(rng.normal());
  std::vector<float> a = g, b = g;
  WorkerPool pool(3);
  const double alone = clip_grad_norm(a.data(), a.size(), 1.0);
  const double split = clip_grad_norm(b.data(), b.size(), 1.0, &pool);
  EXPECT_NEAR(split, alone, 1e-12 * alone);
  EXPECT_EQ(split, clip_grad_norm(g.data(), g.size(), 0.0, &pool));  // same bits every time
  EXPECT_TRUE(bitwise_equal(a.data(), b.data(), a.size()));
}

TEST(GradClip, NormAccumulatesInDouble) {
  // 1e6 * 0.1f^2: a float accumulator drifts by ~1e-3 relative here; double is exact to ~1e-12.
  const std::vector<float> x(1000000, 0.1f);
  const double expected = 1000.0 * static_cast<double>(0.1f);
  EXPECT_NEAR(l2_norm(x.data(), x.size()), expected, 1e-9 * expected);
}

// ---------------------------------------------------------------------------------------------
// 8. Bad input, bookkeeping, names.

TEST(OptimizerErrors, NegativeWeightDecayThrows) {
  const ParamTable table = small_table();
  const DecayPlan plan = build_decay_plan(table, DecayScope::selective, {});
  for (OptimizerKind kind : kKinds) {
    for (DecayMode mode : kModes) {
      EXPECT_THROW(Optimizer(table, plan, make_options(kind, mode, DecayScaling::lr, -0.1)), Error);
      EXPECT_THROW(Optimizer(table, plan,
                             make_options(kind, mode, DecayScaling::lr,
                                          std::numeric_limits<double>::quiet_NaN())),
                   Error);
    }
  }
}

TEST(OptimizerErrors, OtherBadInput) {
  const ParamTable table = small_table();
  const DecayPlan plan = build_decay_plan(table, DecayScope::selective, {});
  OptimizerOptions o;
  o.beta1 = 1.0;
  EXPECT_THROW(Optimizer(table, plan, o), Error);
  // A plan built for another table.
  EXPECT_THROW(Optimizer(table, build_decay_plan(one_matrix_table(3), DecayScope::uniform, {}),
                         OptimizerOptions{}),
               Error);
  // Schedule scaling needs a positive peak; the failed step leaves the state untouched.
  Optimizer opt(
      table, plan,
      make_options(OptimizerKind::adam, DecayMode::decoupled, DecayScaling::schedule, 0.1));
  std::vector<float> w = kInit;
  EXPECT_THROW(opt.step(w.data(), kGrads[0].data(), 1e-3, 0.0), Error);
  EXPECT_THROW(opt.step(w.data(), kGrads[0].data(), -1e-3, 1e-3), Error);
  EXPECT_EQ(opt.steps_taken(), 0);
  EXPECT_TRUE(bitwise_equal(w.data(), kInit.data(), 16));
}

TEST(OptimizerState, BufferSizesAndStepCount) {
  const ParamTable table = small_table();
  const DecayPlan plan = build_decay_plan(table, DecayScope::selective, {});
  OptimizerOptions ao;
  ao.eps = 1e-8;  // the config's range: eps > 0
  Optimizer adam(table, plan, ao);
  EXPECT_EQ(adam.first_moment().size(), 16u);
  EXPECT_EQ(adam.second_moment().size(), 16u);
  EXPECT_EQ(adam.plan().decays, plan.decays);
  OptimizerOptions so;
  so.kind = OptimizerKind::sgd;
  Optimizer sgd(table, plan, so);
  EXPECT_EQ(sgd.first_moment().size(), 16u);
  EXPECT_TRUE(sgd.second_moment().empty());
  std::vector<float> w = kInit;
  sgd.step(w.data(), kGrads[0].data(), 0.1, 0.1);
  sgd.step(w.data(), kGrads[1].data(), 0.1, 0.1);
  EXPECT_EQ(sgd.steps_taken(), 2);
}

TEST(OptimizerState, DecoupledDecayStep) {
  auto o = make_options(OptimizerKind::adam, DecayMode::decoupled, DecayScaling::lr, 0.1);
  EXPECT_DOUBLE_EQ(decoupled_decay_step(o, 1e-3, 2e-3), 1e-4);
  o.decay_scaling = DecayScaling::schedule;
  EXPECT_DOUBLE_EQ(decoupled_decay_step(o, 1e-3, 2e-3), 0.05);
  o.decay_scaling = DecayScaling::lr_squared;
  EXPECT_DOUBLE_EQ(decoupled_decay_step(o, 1e-3, 2e-3), 1e-7);
  o.decay_scaling = DecayScaling::adamc;  // lr_t^2 / lr_peak * λ = 1e-6 / 2e-3 * 0.1
  EXPECT_DOUBLE_EQ(decoupled_decay_step(o, 1e-3, 2e-3), 5e-5);
  o.decay_scaling = DecayScaling::adamc_all;
  EXPECT_DOUBLE_EQ(decoupled_decay_step(o, 1e-3, 2e-3), 5e-5);
  EXPECT_THROW(decoupled_decay_step(o, 1e-3, 0.0), Error);
  o.decay_mode = DecayMode::coupled;
  EXPECT_EQ(decoupled_decay_step(o, 1e-3, 2e-3), 0.0);
  o.decay_mode = DecayMode::none;
  EXPECT_EQ(decoupled_decay_step(o, 1e-3, 2e-3), 0.0);
}

TEST(OptimizerState, EnumNames) {
  EXPECT_EQ(to_string(OptimizerKind::adam), "adam");
  EXPECT_EQ(to_string(OptimizerKind::sgd), "sgd");
  EXPECT_EQ(to_string(DecayMode::none), "none");
  EXPECT_EQ(to_string(DecayMode::coupled), "coupled");
  EXPECT_EQ(to_string(DecayMode::decoupled), "decoupled");
  EXPECT_EQ(to_string(DecayScaling::lr), "lr");
  EXPECT_EQ(to_string(DecayScaling::schedule), "schedule");
  EXPECT_EQ(to_string(DecayScaling::lr_squared), "lr_squared");
  EXPECT_EQ(to_string(DecayScaling::adamc), "adamc");
  EXPECT_EQ(to_string(DecayScaling::adamc_all), "adamc_all");
  EXPECT_EQ(to_string(DecayScope::selective), "selective");
  EXPECT_EQ(to_string(DecayScope::uniform), "uniform");
}

}  // namespace
}  // namespace wdlab

namespace wdlab {
namespace {

// ---------------------------------------------------------------------------------------------
// AdamC (Defazio 2025, arXiv:2506.02285), derived by hand: with a zero gradient Adam's update
// is exactly 0 (m = 0), so each step multiplies a decayed weight by 1 - c_t λ and nothing else.
// Per step, with lr_t from a warmup + cosine schedule to 0:
//   normalized layers (hidden matrices, router, expert; adamc_scope.h):  c_t = lr_t^2 / lr_peak
//   the untied head lm_head.weight and the embedding:                   c_t = lr_t (AdamW)
//   the norm gain (not decayed under selective scope):                  1
// adamc_all gives every decayed tensor lr_t^2 / lr_peak. At lr_peak both are the same; in the
// warmup and the cosine tail they differ by far more than float rounding.
TEST(OptimizerAdamC, ShrinksEachTensorByItsOwnFactorEveryStep) {
  ParamTable table;
  table.add("transformer.h.0.attn.c_attn.weight", {2, 2}, ParamKind::matrix);
  table.add("transformer.h.0.moe.router.weight", {2, 2}, ParamKind::router);
  table.add("transformer.h.0.moe.experts.0.c_proj.weight", {2, 2}, ParamKind::expert);
  table.add("transformer.wte.weight", {2, 2}, ParamKind::embedding);
  table.add("lm_head.weight", {2, 2}, ParamKind::matrix);
  table.add("transformer.h.0.ln_1.weight", {2}, ParamKind::norm_gain);
  enum Expect { corrected, lr_scaled, untouched };
  const Expect adamc_expect[] = {corrected, corrected, corrected, lr_scaled, lr_scaled, untouched};
  const LrSchedule schedule{
      .kind = ScheduleKind::cosine, .peak = 0.04, .min_lr = 0.0, .warmup = 2, .total = 8};
  constexpr double lambda = 2.0;
  const std::vector<float> zero(table.total(), 0.0f);
  for (OptimizerKind kind : kKinds) {
    for (DecayScaling scaling : {DecayScaling::adamc, DecayScaling::adamc_all}) {
      SCOPED_TRACE(std::string(to_string(kind)) + "/" + std::string(to_string(scaling)));
      Optimizer opt(table, build_decay_plan(table, DecayScope::selective, {}),
                    make_options(kind, DecayMode::decoupled, scaling, lambda));
      EXPECT_EQ(opt.has_lr_scaled_decay(), scaling == DecayScaling::adamc);
      std::vector<float> w(table.total());
      for (size_t j = 0; j < w.size(); ++j) w[j] = 0.5f + 0.1f * static_cast<float>(j);
      double largest_gap = 0.0;  // |AdamC shrink - AdamW shrink| over the steps
      for (int t = 0; t < schedule.total; ++t) {
        const double lr = schedule.at(t);
        const double c_adamc = lr * lr / schedule.peak * lambda, c_lr = lr * lambda;
        largest_gap = std::max(largest_gap, std::abs(c_adamc - c_lr));
        const std::vector<float> before = w;
        const StepDecay d = opt.step(w.data(), zero.data(), lr, schedule.peak);
        EXPECT_NEAR(d.per_step, c_adamc, 1e-15) << "step " << t;
        EXPECT_NEAR(d.per_step_lr, scaling == DecayScaling::adamc ? c_lr : 0.0, 1e-15)
            << "step " << t;
        for (size_t i = 0; i < table.size(); ++i) {
          Expect e = adamc_expect[i];
          if (scaling == DecayScaling::adamc_all && e == lr_scaled) e = corrected;
          const double factor = e == corrected ? 1 - c_adamc : e == lr_scaled ? 1 - c_lr : 1.0;
          for (size_t k = table[i].offset; k < table[i].offset + table[i].numel; ++k) {
            EXPECT_NEAR(w[k], before[k] * factor, 2e-7 * std::abs(before[k]))
                << table[i].name << " step " << t << " lr " << lr;
          }
        }
      }
      // Test power: the two scalings' shrinks differ by far more than the tolerance.
      EXPECT_GT(largest_gap, 0.01);
    }
  }
}

}  // namespace
}  // namespace wdlab
