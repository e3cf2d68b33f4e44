// Checkpoints: a save/load round trip restores the weights, the optimizer (moments and step
// count) and every field of the loop's progress exactly; a checkpoint of another config or
// model is refused with the file named, and nothing is changed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <vector>

#include <unistd.h>

#include "core/rng.h"
#include "io/safetensors.h"
#include "optim/optimizer.h"
#include "run/checkpoint.h"
#include "test_util.h"

namespace wdlab {
namespace {
namespace fs = std::filesystem;
using test::error_of;

class CheckpointTest : public ::testing::TestWithParam<OptimizerKind> {
 protected:
  // One directory per test and process: ctest runs the cases in parallel.
  fs::path dir = fs::temp_directory_path() / ("wdlab_checkpoint_" + std::to_string(getpid()) + "_" +
                                              std::to_string(static_cast<int>(GetParam())));
  ParamTable table;
  OptimizerOptions options;
  void SetUp() override {
    fs::remove_all(dir);
    fs::create_directories(dir);
    table.add("a.weight", {3, 2}, ParamKind::matrix);
    table.add("a.bias", {3}, ParamKind::bias);
    options.kind = GetParam();
    options.beta1 = 0.9, options.beta2 = 0.95, options.eps = 1e-8, options.momentum = 0.9;
    options.weight_decay = 0.1, options.decay_mode = DecayMode::decoupled;
  }
  void TearDown() override { fs::remove_all(dir); }
  Optimizer make_optimizer() {
    return Optimizer(table, build_decay_plan(table, DecayScope::selective, {}), options);
  }
};

TEST_P(CheckpointTest, RoundTripRestoresEverythingExactly) {
  std::vector<float> w(table.total()), g(table.total());
  Rng rng(5);
  for (float& x : w) x = static_cast<float>(rng.normal());
  Optimizer opt = make_optimizer();
  for (int t = 0; t < 3; ++t) {
    for (float& x : g) x = static_cast<float>(rng.normal());
    opt.step(w.data(), g.data(), 1e-2, 1e-2);
  }
  RunProgress p;
  p.step = 3, p.train_loss = 2.5, p.val_loss = std::numeric_limits<double>::quiet_NaN();
  p.best_val = 0.1 + 0.2, p.best_step = 2;
  p.train_step = {3.14159, 1e-300};
  Rng batches(9, RngStream::train_batches), dropout(9, RngStream::dropout);
  batches.normal();  // leaves a spare normal: part of the state
  p.batches = batches.state(), p.dropout = dropout.state();
  p.metrics_bytes = 1234, p.tensor_norms_bytes = 99, p.wall_seconds = 1.5, p.threads = 2;
  p.resumed_at = {1, 2};
  save_checkpoint(dir, "id-1", table, w.data(), opt, p);

  std::vector<float> w2(table.total(), 0.0f);
  Optimizer opt2 = make_optimizer();
  const RunProgress q = load_checkpoint(dir, "id-1", table, w2.data(), opt2);
  EXPECT_EQ(w2, w);
  EXPECT_EQ(opt2.steps_taken(), 3);
  EXPECT_EQ(opt2.first_moment(), opt.first_moment());
  EXPECT_EQ(opt2.second_moment(), opt.second_moment());
  EXPECT_EQ(q.step, 3);
  EXPECT_EQ(q.train_loss, 2.5);
  EXPECT_TRUE(std::isnan(q.val_loss));
  EXPECT_EQ(q.best_val, 0.1 + 0.2);  // bit for bit, not to print precision
  EXPECT_EQ(q.best_step, 2);
  EXPECT_EQ(q.train_step.first_loss, 3.14159);
  EXPECT_EQ(q.train_step.decay_budget, 1e-300);
  Rng b2(0), d2(0);
  b2.restore(q.batches), d2.restore(q.dropout);
  EXPECT_EQ(b2.normal(), batches.normal());  // the spare
  EXPECT_EQ(b2.next_u64(), batches.next_u64());
  EXPECT_EQ(d2.next_u64(), dropout.next_u64());
  EXPECT_EQ(q.metrics_bytes, 1234u);
  EXPECT_EQ(q.tensor_norms_bytes, 99u);
  EXPECT_EQ(q.threads, 2);
  EXPECT_EQ(q.resumed_at, (std::vector<int>{1, 2}));
  // One step more from either optimizer: the same weights.
  for (float& x : g) x = static_cast<float>(rng.normal());
  opt.step(w.data(), g.data(), 1e-2, 1e-2);
  opt2.step(w2.data(), g.data(), 1e-2, 1e-2);
  EXPECT_EQ(w2, w);

  // The tensors carry torch.optim's state names beside the PyTorch parameter names.
  const SafetensorsHeader h = read_safetensors_header(dir / kCheckpointFile);
  std::vector<std::string> names;
  for (const SafetensorsTensor& t : h.tensors) names.push_back(t.name);
  const std::string moment =
      GetParam() == OptimizerKind::adam ? "optimizer.exp_avg." : "optimizer.momentum_buffer.";
  EXPECT_NE(std::find(names.begin(), names.end(), "a.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), moment + "a.bias"), names.end());
  EXPECT_EQ(names.size(), GetParam() == OptimizerKind::adam ? 6u : 4u);
  EXPECT_EQ(peek_checkpoint(dir)->step, 3);
  EXPECT_EQ(peek_checkpoint(dir)->config_id, "id-1");
}

TEST_P(CheckpointTest, AnotherConfigOrModelIsRefusedAndNothingChanges) {
  std::vector<float> w(table.total(), 1.0f);
  Optimizer opt = make_optimizer();
  save_checkpoint(dir, "id-1", table, w.data(), opt, RunProgress{});
  std::vector<float> w2(table.total(), 7.0f);
  Optimizer opt2 = make_optimizer();
  const std::string e = error_of([&] { load_checkpoint(dir, "id-2", table, w2.data(), opt2); });
  EXPECT_NE(e.find(kCheckpointFile), std::string::npos) << e;
  EXPECT_NE(e.find("id-1"), std::string::npos) << e;
  EXPECT_NE(e.find("id-2"), std::string::npos) << e;
  // A model with another tensor: the missing one is named.
  ParamTable other = table;
  other.add("b.weight", {2}, ParamKind::matrix);
  std::vector<float> w3(other.total(), 7.0f);
  Optimizer opt3(other, build_decay_plan(other, DecayScope::selective, {}), options);
  const std::string e2 = error_of([&] { load_checkpoint(dir, "id-1", other, w3.data(), opt3); });
  EXPECT_NE(e2.find("b.weight"), std::string::npos) << e2;
  EXPECT_EQ(w2, std::vector<float>(table.total(), 7.0f));
  EXPECT_EQ(w3, std::vector<float>(other.total(), 7.0f));
  EXPECT_EQ(opt3.steps_taken(), 0);
  // Not a checkpoint at all: no resume.
  std::ofstream(dir / kCheckpointFile) << "garbage";
  EXPECT_FALSE(peek_checkpoint(dir).has_value());
  EXPECT_FALSE(peek_checkpoint(dir / "nowhere").has_value());
}

INSTANTIATE_TEST_SUITE_P(Optimizers, CheckpointTest,
                         ::testing::Values(OptimizerKind::adam, OptimizerKind::sgd),
                         [](const auto& info) { return std::string(to_string(info.param)); });

}  // namespace
}  // namespace wdlab
