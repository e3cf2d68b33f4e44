// The model's data parallelism (transformer.h, data_parallel.h, worker_pool.h): a batch split
// between workers gives the loss and gradients of the whole batch (exactly in double; to fp32
// rounding in float), the same bits on every run for a fixed thread count, and the balance loss
// and dropout masks of the unsplit batch.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <stdexcept>

#include "core/rng.h"
#include "core/worker_pool.h"
#include "model/transformer.h"
#include "optim/grad_clip.h"
#include "optim/optimizer.h"
#include "run/config.h"
#include "test_presets.h"
#include "test_util.h"

// Every allocation in this test binary goes through here, so a test can count the ones made
// while a training step runs.
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace

// (GCC cannot see that these two pair up with the replaced operator new below.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace wdlab {
namespace {

struct StepResult {
  ModelLoss loss;
  std::vector<double> grads;
};

// One forward + backward of a fixed batch (B sequences of the model's block size) with the given
// thread count; weights perturbed so every path carries gradient, dropout drawn from a fixed seed.
template <typename F>
StepResult step(const ModelConfig& c, int B, int threads, bool dropout) {
  Transformer<F> model(c, B, threads);
  model.init_weights(3);
  Rng noise(8);
  for (F& w : model.params()) w += static_cast<F>(0.2 * noise.normal());
  const int T = c.block_size;
  std::vector<int> tokens(static_cast<size_t>(B) * T), targets(tokens.size());
  Rng rng(4);
  for (int& t : tokens) t = static_cast<int>(rng.below(c.vocab_size));
  for (int& t : targets) t = static_cast<int>(rng.below(c.vocab_size));
  Rng drop(21);
  StepResult r;
  r.loss = model.forward(tokens.data(), targets.data(), B, T, dropout ? &drop : nullptr);
  model.zero_grad();
  model.backward();
  r.grads.assign(model.grads().begin(), model.grads().end());
  return r;
}

double rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  return test::max_abs_diff(a, b) / std::max(1e-30, test::max_abs(a));
}

class DataParallel : public ::testing::TestWithParam<std::string> {};

// In double the split changes only summation order: agreement to ~1e-15 relative. A shard that
// saw its own balance loss, its own dropout stream or the wrong loss scale would be off by 1e-3
// or more.
TEST_P(DataParallel, SplitBatchGivesTheWholeBatchLossAndGradients) {
  ModelConfig c = test::preset_model(GetParam());
  c.dropout = 0.1;
  if (c.is_moe() && c.moe.aux_loss_coef == 0.0) c.moe.aux_loss_coef = 0.01;  // exercise it
  const StepResult one = step<double>(c, 5, 1, true);
  for (int threads : {2, 3, 5}) {
    const StepResult split = step<double>(c, 5, threads, true);
    EXPECT_NEAR(split.loss.ce, one.loss.ce, 1e-12 * one.loss.ce) << threads << " threads";
    EXPECT_NEAR(split.loss.z_loss, one.loss.z_loss, 1e-12) << threads << " threads";
    EXPECT_NEAR(split.loss.aux, one.loss.aux, 1e-12) << threads << " threads";
    EXPECT_LT(rel_diff(one.grads, split.grads), 1e-11) << threads << " threads";
  }
  if (c.is_moe()) {
    EXPECT_GT(one.loss.aux, 0.0);
  }
}

// float: equal to the single-thread path within fp32 rounding, and bit for bit the same on a
// repeat with the same thread count.
TEST_P(DataParallel, FloatIsDeterministicPerThreadCountAndCloseAcrossCounts) {
  const ModelConfig c = test::preset_model(GetParam());
  const StepResult one = step<float>(c, 4, 1, false);
  const StepResult two = step<float>(c, 4, 2, false);
  const StepResult again = step<float>(c, 4, 2, false);
  EXPECT_EQ(two.loss.total(), again.loss.total());
  EXPECT_EQ(two.grads, again.grads);
  EXPECT_NEAR(two.loss.total(), one.loss.total(), 1e-6 * one.loss.total());
  EXPECT_LT(rel_diff(one.grads, two.grads), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Presets, DataParallel,
                         ::testing::Values("gpt2", "gpt3", "llama", "palm", "grok1", "mistral",
                                           "mixtral"),
                         [](const auto& info) { return info.param; });

TEST(DataParallel, MoreThreadsThanSequencesLeavesTheRestIdle) {
  const ModelConfig c = test::preset_model("llama");
  Transformer<double> model(c, 4, 3);
  EXPECT_EQ(model.threads(), 3);
  Transformer<double> narrow(c, 1, 3);
  EXPECT_EQ(narrow.threads(), 1);  // one sequence cannot be split
  const StepResult one = step<double>(c, 1, 1, false);
  const StepResult many = step<double>(c, 1, 4, false);
  EXPECT_EQ(one.loss.ce, many.loss.ce);
  EXPECT_EQ(one.grads, many.grads);
}

// After the first step, a training step (forward, backward, clipping, optimizer) allocates
// nothing, with one worker or several, dense or MoE.
TEST(DataParallel, TrainingStepAllocatesNothing) {
  for (const char* family : {"gpt2", "mixtral"}) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::string(family) + ", " + std::to_string(threads) + " threads");
      RunConfig run = test::preset_run(family);
      run.model.dropout = 0.1;
      const int B = 4, T = run.model.block_size;
      Transformer<float> model(run.model, B, threads);
      model.init_weights(1);
      Optimizer opt(model.table(), build_decay_plan(model.table(), DecayScope::selective, {}),
                    run.optim.options);
      std::vector<int> tokens(static_cast<size_t>(B) * T, 1), targets(tokens.size(), 2);
      Rng drop(5);
      auto train_step = [&] {
        model.forward(tokens.data(), targets.data(), B, T, &drop);
        model.zero_grad();
        model.backward();
        clip_grad_norm(model.grads().data(), model.grads().size(), 1.0, &model.workers());
        opt.step(model.params().data(), model.grads().data(), 1e-3, 1e-3, &model.workers());
      };
      train_step();
      g_allocations = 0;
      g_counting = true;
      train_step();
      train_step();
      g_counting = false;
      EXPECT_EQ(g_allocations.load(), 0);
    }
  }
}

TEST(WorkerPool, RunsEveryWorkerOnceAndWaitsForAll) {
  WorkerPool pool(3);
  std::vector<std::atomic<int>> hits(3);
  for (int round = 0; round < 200; ++round) {
    pool.run([&](int w) { hits[static_cast<size_t>(w)].fetch_add(1); });
  }
  for (auto& h : hits) EXPECT_EQ(h.load(), 200);
}

TEST(WorkerPool, RethrowsATaskErrorAfterAllFinished) {
  WorkerPool pool(2);
  std::atomic<int> finished{0};
  EXPECT_THROW(pool.run([&](int w) {
    finished.fetch_add(1);
    if (w == 1) throw std::runtime_error("worker 1 failed");
  }),
               std::runtime_error);
  EXPECT_EQ(finished.load(), 2);
  // Still usable afterwards.
  pool.run([&](int) { finished.fetch_add(1); });
  EXPECT_EQ(finished.load(), 4);
}

}  // namespace
}  // namespace wdlab
