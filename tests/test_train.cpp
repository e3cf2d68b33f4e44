// End to end: a tiny run learns, is reproducible bit for bit, and writes a trustworthy run
// directory (no summary claiming success for a run that did not finish).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/gemm.h"
#include "data/dataset.h"
#include "run/config.h"
#include "run/run_dir.h"
#include "run/trainer.h"

namespace wdlab {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class TrainTest : public ::testing::Test {
 protected:
  fs::path root = fs::temp_directory_path() /
                  ("wdlab_train_" +
                   std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  void SetUp() override {
    blas_set_threads(1);
    fs::remove_all(root);
  }
  void TearDown() override { fs::remove_all(root); }

  json run(const std::string& name, std::vector<std::string> overrides,
           const std::atomic<bool>* stop = nullptr, int threads = 1) {
    overrides.push_back("train.log_every=5");
    Trainer trainer(parse_run_config(resolve_config(load_preset("gpt2"), "tiny", overrides)),
                    threads);
    create_run_dir(root / name, false);
    return trainer.run(root / name, stop);
  }

  // metrics.jsonl without the timing fields.
  std::vector<json> metrics(const std::string& name) {
    std::ifstream in(root / name / "metrics.jsonl");
    std::vector<json> rows;
    for (std::string line; std::getline(in, line);) {
      json row = json::parse(line);
      row.erase("tokens_per_s");
      row.erase("time_s");
      rows.push_back(row);
    }
    return rows;
  }
};

TEST_F(TrainTest, TinyRunLossFallsWellBelowUniform) {
  const json s = run("a", {});  // the tiny scale as shipped
  EXPECT_EQ(s["status"], "finished");
  const double uniform = std::log(64.0);
  const std::vector<json> rows = metrics("a");
  ASSERT_FALSE(rows.empty());
  const double initial_val = rows.front()["val_loss"];
  EXPECT_NEAR(initial_val, uniform, 0.1);  // a fresh model predicts ~uniformly
  // 300 tiny steps reach about the bigram level (~3.5 nats); the longer-range structure of the
  // language takes ~1000 steps to learn, which is the small scale's job.
  EXPECT_LT(s["final_val_loss"].get<double>(), uniform - 0.5);
  std::vector<double> evals;
  for (const json& row : rows)
    if (row.contains("val_loss")) evals.push_back(row["val_loss"]);
  ASSERT_GE(evals.size(), 3u);
  EXPECT_LT(evals.back(), evals[1]);                         // still improving after the first eval
  EXPECT_GT(s["final_val_minus_floor"].get<double>(), 0.0);  // nothing beats the true process
  EXPECT_TRUE(fs::exists(root / "a" / "config.json"));
  EXPECT_TRUE(fs::exists(root / "a" / "param_groups.json"));
}

TEST_F(TrainTest, SameConfigAndSeedGiveBitIdenticalMetrics) {
  run("a", {"train.steps=30", "model.dropout=0.1"});
  run("b", {"train.steps=30", "model.dropout=0.1"});
  const auto a = metrics("a"), b = metrics("b");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].dump(), b[i].dump()) << "row " << i;
}

// Two threads split each batch: the same bits run to run, and the single-threaded curve to within
// the drift fp32 rounding differences accumulate over 30 steps.
TEST_F(TrainTest, TwoThreadsAreBitIdenticalRunToRunAndCloseToOne) {
  const std::vector<std::string> o = {"train.steps=30", "model.dropout=0.1"};
  run("a", o, nullptr, 2);
  run("b", o, nullptr, 2);
  run("one", o, nullptr, 1);
  const auto a = metrics("a"), b = metrics("b"), one = metrics("one");
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.size(), one.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].dump(), b[i].dump()) << "row " << i;
    for (const char* key : {"train_loss", "val_loss"}) {
      if (!a[i].contains(key)) continue;
      const double x = a[i][key], y = one[i][key];
      EXPECT_NEAR(x, y, 1e-4 * y) << key << ", row " << i;
    }
  }
}

TEST_F(TrainTest, SeedAndDecayModeChangeTheCurve) {
  run("a", {"train.steps=20"});
  run("seed", {"train.steps=20", "seed=7"});
  run("coupled", {"train.steps=20", "optim.decay_mode=coupled"});
  const auto a = metrics("a");
  EXPECT_NE(a.back().dump(), metrics("seed").back().dump());
  EXPECT_NE(a.back().dump(), metrics("coupled").back().dump());
}

TEST_F(TrainTest, MetricsRowsCarryTheDecayBookkeeping) {
  run("a", {"train.steps=10", "optim.weight_decay=0.5", "optim.schedule=constant",
            "optim.warmup_steps=0", "optim.lr=0.002"});
  const auto rows = metrics("a");
  const json& last_train = rows[rows.size() - 2];  // the last row is the final eval
  ASSERT_TRUE(last_train.contains("wd_step"));
  EXPECT_DOUBLE_EQ(last_train["lr"].get<double>(), 0.002);
  EXPECT_NEAR(last_train["wd_step"].get<double>(), 0.002 * 0.5, 1e-12);  // s_t * lambda, s_t = lr
  EXPECT_NEAR(last_train["wd_budget"].get<double>(), 10 * 0.002 * 0.5, 1e-12);
  for (const char* key :
       {"step", "tokens", "train_loss", "grad_norm", "norm_decay", "norm_no_decay"})
    EXPECT_TRUE(last_train.contains(key)) << key;
  EXPECT_TRUE(rows.back().contains("val_minus_floor"));
}

// data.source=modular: every evaluation grades all equations of both splits exactly (accuracies
// are whole counts over the split sizes), the loss counts the answer only, and the summary holds
// the final accuracies and the first step at 99% validation accuracy.
TEST_F(TrainTest, ModularRunLogsExactAccuracies) {
  Trainer trainer(parse_run_config(
      resolve_config(load_preset("modular"), "test", {"train.steps=40", "train.eval_every=10"})));
  create_run_dir(root / "m", false);
  const json s = trainer.run(root / "m");
  EXPECT_EQ(s["status"], "finished");
  const ExampleSet& e = *trainer.data().examples;
  const double n_val = e.val_count(), n_train = e.train_count();
  EXPECT_EQ(n_val + n_train, 49);  // p = 7: every a + b once
  int evals = 0;
  for (const json& row : metrics("m")) {
    if (!row.contains("val_loss")) continue;
    ++evals;
    ASSERT_TRUE(row.contains("val_acc") && row.contains("train_acc")) << row.dump();
    const double val = row["val_acc"].get<double>() * n_val;
    const double train = row["train_acc"].get<double>() * n_train;
    EXPECT_NEAR(val, std::round(val), 1e-9) << row.dump();
    EXPECT_NEAR(train, std::round(train), 1e-9) << row.dump();
  }
  EXPECT_EQ(evals, 5);  // steps 0, 10, 20, 30, 40
  const Trainer::SplitEval val = trainer.evaluate_split(true);
  EXPECT_EQ(s["final_val_acc"].get<double>(), val.accuracy);
  EXPECT_EQ(s["final_val_loss"].get<double>(), val.loss);
  EXPECT_TRUE(s.contains("final_train_acc"));
  EXPECT_TRUE(s.contains("steps_to_val_acc_99"));
  // The training batch is the whole training set (train.batch_size above it): full batch.
  EXPECT_EQ(trainer.data().batch_size(trainer.config().train.batch_size), e.train_count());
}

TEST_F(TrainTest, InterruptedRunIsNotMarkedFinished) {
  std::atomic<bool> stop{true};
  const json s = run("a", {"train.steps=50"}, &stop);
  EXPECT_EQ(s["status"], "interrupted");
  std::ifstream in(root / "a" / "summary.json");
  EXPECT_EQ(json::parse(in)["status"], "interrupted");
}

TEST_F(TrainTest, DivergenceIsDetectedAndRecorded) {
  const json s = run("a", {"train.steps=50", "optim.lr=50.0", "optim.min_lr=0", "optim.grad_clip=0",
                           "optim.warmup_steps=0", "optim.name=sgd", "optim.momentum=0.9"});
  EXPECT_EQ(s["status"], "diverged");
  EXPECT_TRUE(s.contains("diverged_step"));
}

TEST_F(TrainTest, ParamGroupsRecordEveryTensor) {
  run("a", {"train.steps=1"});
  std::ifstream in(root / "a" / "param_groups.json");
  const json g = json::parse(in);
  size_t decayed = 0;
  for (const json& t : g["tensors"]) {
    const bool matrix_like = t["shape"].size() >= 2;
    EXPECT_EQ(t["decay"].get<bool>(), matrix_like) << t["name"];  // selective
    decayed += t["decay"].get<bool>();
  }
  EXPECT_EQ(g["groups"][0]["tensors"].get<size_t>(), decayed);
}

}  // namespace
}  // namespace wdlab
