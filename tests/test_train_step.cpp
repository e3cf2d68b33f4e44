// The training step's order of operations (lib/run/train_step.h), checked against the equations
// computed here independently: the schedule index of every update, the decay step and budget of
// every decoupled scaling as the trainer logs them, and clipping before coupled λ·w.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>

#include "core/gemm.h"
#include "core/rng.h"
#include "core/subnormals.h"
#include "optim/param_groups.h"
#include "run/config.h"
#include "run/run_dir.h"
#include "run/train_step.h"
#include "run/trainer.h"

namespace wdlab {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kSteps = 12, kWarmup = 3;
constexpr double kPeak = 0.01, kMin = 0.001, kLambda = 0.3, kClip = 0.05;

// lr of update t (from 1): linear warmup to the peak over kWarmup updates, then a cosine that
// reaches min_lr at the last update, t = kSteps.
double expected_lr(int t) {
  if (t <= kWarmup) return kPeak * t / kWarmup;
  const double progress = static_cast<double>(t - 1 - kWarmup) / (kSteps - 1 - kWarmup);
  return kMin + 0.5 * (1.0 + std::cos(std::numbers::pi * progress)) * (kPeak - kMin);
}

double expected_decay_step(const std::string& scaling, double lr) {
  if (scaling == "lr") return lr * kLambda;
  if (scaling == "schedule") return lr / kPeak * kLambda;
  if (scaling == "adamc" || scaling == "adamc_all") return lr * lr / kPeak * kLambda;
  return lr * lr * kLambda;  // lr_squared
}

class TrainStepTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainStepTest, TrainerLogsTheScheduleAndDecayOfEveryUpdate) {
  const std::string scaling = GetParam();
  blas_set_threads(1);
  const fs::path dir = fs::temp_directory_path() / ("wdlab_train_step_" + scaling);
  fs::remove_all(dir);
  const std::vector<std::string> overrides = {"train.steps=" + std::to_string(kSteps),
                                              "train.log_every=1",
                                              "train.eval_every=100",
                                              "optim.schedule=cosine",
                                              "optim.warmup_steps=" + std::to_string(kWarmup),
                                              "optim.lr=" + std::to_string(kPeak),
                                              "optim.min_lr=" + std::to_string(kMin),
                                              "optim.grad_clip=" + std::to_string(kClip),
                                              "optim.decay_mode=decoupled",
                                              "optim.decay_scaling=" + scaling,
                                              "optim.weight_decay=" + std::to_string(kLambda)};
  Trainer trainer(parse_run_config(resolve_config(load_preset("gpt2"), "tiny", overrides)));
  create_run_dir(dir, false);
  const json summary = trainer.run(dir);
  ASSERT_EQ(summary["status"], "finished");

  // adamc: gpt2's decayed embeddings (wte, wpe) are not normalized layers and keep lr_t·λ,
  // logged as a second budget; adamc_all and the other scalings have none.
  const bool lr_kept = scaling == "adamc";
  std::ifstream in(dir / "metrics.jsonl");
  int t = 0;
  double budget = 0.0, budget_lr = 0.0;
  for (std::string line; std::getline(in, line);) {
    const json row = json::parse(line);
    if (!row.contains("lr")) continue;  // an evaluation row
    ++t;
    ASSERT_EQ(row["step"], t);
    const double lr = expected_lr(t), step = expected_decay_step(scaling, lr);
    budget += step;
    EXPECT_NEAR(row["lr"].get<double>(), lr, 1e-15 * kPeak) << "update " << t;
    EXPECT_NEAR(row["wd_step"].get<double>(), step, 1e-12 * step) << "update " << t;
    EXPECT_NEAR(row["wd_budget"].get<double>(), budget, 1e-12 * budget) << "update " << t;
    EXPECT_GT(row["grad_norm"].get<double>(), kClip) << "clipping is active";
    ASSERT_EQ(row.contains("wd_step_lr"), lr_kept) << "update " << t;
    if (lr_kept) {
      budget_lr += lr * kLambda;
      EXPECT_NEAR(row["wd_step_lr"].get<double>(), lr * kLambda, 1e-12 * lr * kLambda);
      EXPECT_NEAR(row["wd_budget_lr"].get<double>(), budget_lr, 1e-12 * budget_lr);
    }
  }
  EXPECT_EQ(t, kSteps);
  EXPECT_NEAR(expected_lr(kSteps), kMin, 1e-18);  // min_lr at the last update, not after it
  EXPECT_NEAR(summary["decay_budget"].get<double>(), budget, 1e-12 * budget);
  ASSERT_EQ(summary.contains("decay_budget_lr"), lr_kept);
  if (lr_kept) {
    EXPECT_NEAR(summary["decay_budget_lr"].get<double>(), budget_lr, 1e-12 * budget_lr);
  }
  // param_groups.json says which decayed tensors take which scaling, in adamc runs only.
  const json groups = json::parse(std::ifstream(dir / "param_groups.json"));
  for (const json& tensor : groups["tensors"]) {
    const bool adamc_run = scaling == "adamc" || scaling == "adamc_all";
    ASSERT_EQ(tensor.contains("decay_scaling"), adamc_run && tensor["decay"].get<bool>())
        << tensor["name"];
    if (!tensor.contains("decay_scaling")) continue;
    const bool kept = lr_kept && tensor["kind"] == "embedding";
    EXPECT_EQ(tensor["decay_scaling"], kept ? "lr" : "adamc") << tensor["name"];
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Scalings, TrainStepTest,
                         ::testing::Values("lr", "schedule", "lr_squared", "adamc", "adamc_all"),
                         [](const auto& info) { return info.param; });

// Coupled L2 enters after clipping: with SGD (no momentum history at update 1) the update is
// linear, w1 = w0 - lr_1 (clip(g) + λ w0) for decayed tensors and w0 - lr_1 clip(g) for the rest,
// where g is the loss gradient alone, computed here on a second copy of the model.
TEST(TrainStep, CoupledDecayIsAddedAfterClipping) {
  blas_set_threads(1);
  RunConfig run = parse_run_config(
      resolve_config(load_preset("gpt2"), "tiny",
                     {"optim.name=sgd", "optim.decay_mode=coupled", "optim.weight_decay=0.5",
                      "optim.grad_clip=" + std::to_string(kClip), "optim.warmup_steps=2"}));
  run.model.vocab_size = 64;
  const int B = 2, T = run.model.block_size;
  std::vector<int> tokens(static_cast<size_t>(B) * T), targets(tokens.size());
  Rng rng(7);
  for (int& x : tokens) x = static_cast<int>(rng.below(64));
  for (int& x : targets) x = static_cast<int>(rng.below(64));

  Transformer<float> model(run.model, B), reference(run.model, B);
  model.init_weights(3), reference.init_weights(3);
  Optimizer optimizer(model.table(),
                      build_decay_plan(model.table(), run.optim.decay_scope, run.optim.decay_rules),
                      run.optim.options);
  TrainStep step(model, optimizer, run.optim.schedule, run.optim.grad_clip);
  const StepResult r = step.run(1, tokens.data(), targets.data(), B, T, nullptr);

  reference.forward(tokens.data(), targets.data(), B, T, nullptr);
  reference.zero_grad();
  reference.backward();
  const std::vector<float>& g = reference.grads();
  const std::vector<float>& w0 = reference.params();
  double norm = 0.0;
  for (float x : g) norm += static_cast<double>(x) * x;
  norm = std::sqrt(norm);
  EXPECT_NEAR(r.grad_norm, norm, 1e-5 * norm);  // the loss gradient's norm, before clipping
  ASSERT_GT(norm, 2 * kClip);                   // clipping is active
  const double scale = kClip / norm, lr = run.optim.schedule.peak / 2, lambda = 0.5;
  EXPECT_NEAR(r.lr, lr, 1e-15);
  const DecayPlan& plan = optimizer.plan();
  double worst = 0.0;
  for (size_t row = 0; row < model.table().size(); ++row) {
    const ParamInfo& p = model.table()[row];
    for (size_t i = p.offset; i < p.offset + p.numel; ++i) {
      const double decay = plan.decays[row] ? lambda * w0[i] : 0.0;
      const double expected = w0[i] - lr * (g[i] * scale + decay);
      worst = std::max(worst, std::abs(model.params()[i] - expected));
    }
  }
  // fp32 rounding of w0 ~ 0.1 is ~1e-8; the other order differs by up to lr λ |w| ~ 1e-4.
  EXPECT_LT(worst, 1e-6);
}

// Every step computes with subnormals flushed to zero on all the model's threads (the slow path
// they take otherwise once slowed a coupled Grok-1 run 15x), and leaves the caller's mode as it
// was.
TEST(TrainStep, ComputesWithSubnormalsFlushedOnEveryWorker) {
#if !(defined(__x86_64__) || defined(__i386__) || defined(__aarch64__))
  GTEST_SKIP() << "no known control bits on this architecture";
#endif
  RunConfig run = parse_run_config(resolve_config(load_preset("gpt2"), "tiny", {}));
  run.model.vocab_size = 64;
  const int B = 2, T = run.model.block_size;
  std::vector<int> tokens(static_cast<size_t>(B) * T, 1), targets(tokens.size(), 2);
  Transformer<float> model(run.model, B, /*threads=*/2);
  model.init_weights(3);
  Optimizer optimizer(model.table(),
                      build_decay_plan(model.table(), run.optim.decay_scope, run.optim.decay_rules),
                      run.optim.options);
  TrainStep step(model, optimizer, run.optim.schedule, run.optim.grad_clip);
  std::vector<int> flushing(2, -1);
  step.set_gradient_hook([&](int, std::vector<float>&) {
    model.workers().run([&](int w) { flushing[static_cast<size_t>(w)] = flushing_subnormals(); });
  });
  ASSERT_FALSE(flushing_subnormals());
  step.run(1, tokens.data(), targets.data(), B, T, nullptr);
  EXPECT_EQ(flushing, (std::vector<int>{1, 1}));
  EXPECT_FALSE(flushing_subnormals());
}

}  // namespace
}  // namespace wdlab

namespace wdlab {
namespace {

// The per-kind statistics a measured step logs, recomputed here from a copy of the weights and a
// second model's loss gradient: ‖g‖ before clipping, ‖w1 − w0‖ / ‖w0‖ and ‖w1‖ per kind.
TEST(TrainStep, MeasuredStepReportsPerKindStatistics) {
  blas_set_threads(1);
  RunConfig run = parse_run_config(resolve_config(
      load_preset("gpt2"), "tiny",
      {"optim.decay_mode=decoupled", "optim.weight_decay=0.1", "optim.grad_clip=0.05"}));
  run.model.vocab_size = 64;
  const int B = 2, T = run.model.block_size;
  std::vector<int> tokens(static_cast<size_t>(B) * T), targets(tokens.size());
  Rng rng(11);
  for (int& x : tokens) x = static_cast<int>(rng.below(64));
  for (int& x : targets) x = static_cast<int>(rng.below(64));
  Transformer<float> model(run.model, B), reference(run.model, B);
  model.init_weights(5), reference.init_weights(5);
  Optimizer optimizer(model.table(),
                      build_decay_plan(model.table(), run.optim.decay_scope, run.optim.decay_rules),
                      run.optim.options);
  TrainStep step(model, optimizer, run.optim.schedule, run.optim.grad_clip);
  const std::vector<float> w0 = model.params();
  const StepResult r = step.run(1, tokens.data(), targets.data(), B, T, nullptr, true);
  ASSERT_TRUE(r.measured);

  reference.forward(tokens.data(), targets.data(), B, T, nullptr);
  reference.zero_grad();
  reference.backward();
  double g2[kParamKinds] = {}, d2[kParamKinds] = {}, w02[kParamKinds] = {}, w12[kParamKinds] = {};
  bool present[kParamKinds] = {};
  for (const ParamInfo& p : model.table()) {
    const size_t k = static_cast<size_t>(p.kind);
    present[k] = true;
    for (size_t i = p.offset; i < p.offset + p.numel; ++i) {
      const double g = reference.grads()[i], a = w0[i], b = model.params()[i];
      g2[k] += g * g, d2[k] += (b - a) * (b - a), w02[k] += a * a, w12[k] += b * b;
    }
  }
  for (size_t k = 0; k < kParamKinds; ++k) {
    EXPECT_EQ(r.kinds.present[k], present[k]) << k;
    if (!present[k]) continue;
    const double grad = std::sqrt(g2[k]), rel = std::sqrt(d2[k] / w02[k]), norm = std::sqrt(w12[k]);
    EXPECT_NEAR(r.kinds.grad_norm[k], grad, 1e-5 * grad) << k;
    EXPECT_NEAR(r.kinds.update_rel[k], rel, 1e-9 + 1e-6 * rel) << k;
    EXPECT_NEAR(r.kinds.norm[k], norm, 1e-9 * norm) << k;
  }
}

}  // namespace
}  // namespace wdlab

namespace wdlab {
namespace {

// The per-tensor update a measured step reports (TensorUpdate), against Adam's first step written
// out here: m̂ = g and v̂ = g², so u = g / (|g| + ε); decayed tensors also shrink by lr·λ, which u
// leaves out. g is the loss gradient the optimizer received (no clipping).
TEST(TrainStep, MeasuredStepReportsPerTensorUpdates) {
  blas_set_threads(1);
  const double lambda = 2.0;
  RunConfig run = parse_run_config(
      resolve_config(load_preset("llama"), "tiny",
                     {"optim.decay_mode=decoupled", "optim.decay_scaling=lr",
                      "optim.weight_decay=" + std::to_string(lambda), "optim.grad_clip=0",
                      "optim.schedule=constant", "optim.warmup_steps=0", "optim.lr=0.01"}));
  run.model.vocab_size = 64;
  const int B = 2, T = run.model.block_size;
  std::vector<int> tokens(static_cast<size_t>(B) * T), targets(tokens.size());
  Rng rng(11);
  for (int& x : tokens) x = static_cast<int>(rng.below(64));
  for (int& x : targets) x = static_cast<int>(rng.below(64));
  Transformer<float> model(run.model, B);
  model.init_weights(5);
  const std::vector<float> w0 = model.params();
  Optimizer optimizer(model.table(),
                      build_decay_plan(model.table(), run.optim.decay_scope, run.optim.decay_rules),
                      run.optim.options);
  TrainStep step(model, optimizer, run.optim.schedule, run.optim.grad_clip);
  std::vector<float> g;
  step.set_gradient_hook([&](int, std::vector<float>& grads) { g = grads; });
  const StepResult r = step.run(1, tokens.data(), targets.data(), B, T, nullptr, true);
  ASSERT_EQ(r.tensors.size(), model.table().size());
  const double lr = r.lr, eps = run.optim.options.eps;
  int decayed = 0;
  for (size_t row = 0; row < model.table().size(); ++row) {
    const ParamInfo& p = model.table()[row];
    const bool decays = optimizer.plan().decays[row];
    decayed += decays;
    double u_sq = 0, w_sq = 0, w_dot_u = 0, delta_sq = 0;
    for (size_t i = p.offset; i < p.offset + p.numel; ++i) {
      const double u = g[i] / (std::fabs(static_cast<double>(g[i])) + eps);
      const double delta = static_cast<double>(model.params()[i]) - w0[i];
      u_sq += u * u, w_sq += double(w0[i]) * w0[i], w_dot_u += w0[i] * u;
      delta_sq += delta * delta;
      // The step itself: w1 = (1 − lr·λ)·w0 − lr·u on decayed tensors, w0 − lr·u on the rest.
      const double expected = w0[i] - (decays ? lr * lambda * w0[i] : 0.0) - lr * u;
      ASSERT_NEAR(model.params()[i], expected, 1e-6) << p.name;
    }
    const TensorUpdate& t = r.tensors[row];
    EXPECT_NEAR(t.update_rel, std::sqrt(delta_sq / w_sq), 1e-9) << p.name;
    // fp32 weights: u recovered from w1 − w0 carries rounding of ~1e-9 / lr per coordinate.
    EXPECT_NEAR(t.update_rms, std::sqrt(u_sq / p.numel), 1e-5) << p.name;
    EXPECT_NEAR(t.update_cos, w_dot_u / std::sqrt(w_sq * u_sq), 1e-5) << p.name;
  }
  EXPECT_GT(decayed, 0);
  EXPECT_LT(decayed, static_cast<int>(model.table().size()));  // norm gains do not decay
}

}  // namespace
}  // namespace wdlab
