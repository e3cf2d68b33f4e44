// A run's memory estimate and the memory available: the parameter count against the real
// layout, what each part of the estimate grows with, the refusal message, and MemAvailable /
// cgroup limits read from a fake /proc and /sys.
#include <gtest/gtest.h>

#include "test_util.h"

#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/available_memory.h"
#include "core/error.h"
#include "model/param_layout.h"
#include "model/step_cost.h"
#include "run/config.h"
#include "run/memory_estimate.h"

namespace wdlab {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using test::error_of;

RunConfig run_config(const std::string& preset, const std::string& scale,
                     const std::vector<std::string>& overrides = {}) {
  return parse_run_config(resolve_config(load_preset(preset), scale, overrides));
}

// The closed form must count what make_param_layout creates, for every preset and scale and
// for the options no preset combines.
TEST(MemoryEstimate, ParameterCountIsTheLayoutsCount) {
  std::vector<ModelConfig> models;
  for (const std::string& name : list_presets()) {
    const json preset = load_preset(name);
    for (auto it = preset["scales"].begin(); it != preset["scales"].end(); ++it)
      models.push_back(run_config(name, it.key()).model);
  }
  for (const std::vector<std::string>& o : std::vector<std::vector<std::string>>{
           {"model.tie_embeddings=false", "model.bias=false"},
           {"model.norm_placement=sandwich", "model.norm_bias=false"},
           {"model.block=parallel", "model.positions=rope", "model.n_kv_head=2"},
           {"model.moe.n_expert=3", "model.moe.top_k=1", "model.activation=geglu",
            "model.bias=false", "model.ffn_rule=two_thirds", "model.ffn_multiple_of=32"}}) {
    models.push_back(run_config("gpt2", "small", o).model);
  }
  ASSERT_GE(models.size(), 25u);
  for (ModelConfig m : models) {
    m.vocab_size = 64;
    EXPECT_EQ(parameter_count(m), static_cast<double>(make_param_layout(m).table.total()))
        << describe(m);
  }
}

TEST(MemoryEstimate, PartsGrowWithWhatTheyHold) {
  const RunConfig base = run_config("gpt2", "small");
  const MemoryEstimate one = estimate_run_memory(base, {});
  const double P = one.parameters, W = 4.0 * P;
  EXPECT_DOUBLE_EQ(one.state, 5 * W);  // weights, gradients, Adam m and v, a copy
  EXPECT_EQ(one.worker_grads, 0.0);
  EXPECT_DOUBLE_EQ(one.checkpoint, 3 * W);  // a step checkpoint: weights, Adam m and v
  EXPECT_DOUBLE_EQ(one.data, 4.0 * (base.data.train_tokens + base.data.val_tokens));
  EXPECT_GT(one.data_build, 60e6);  // the order-3 language over 64 tokens: a 64^4 float table
  EXPECT_DOUBLE_EQ(one.total(), one.process + one.data + std::max(one.data_build, one.training()));

  // Two workers: one more gradient arena; the activations of two half batches.
  const MemoryEstimate two = estimate_run_memory(base, {.threads = 2, .resume = true});
  EXPECT_DOUBLE_EQ(two.worker_grads, W);
  EXPECT_DOUBLE_EQ(two.checkpoint, 6 * W);  // --resume: the file and its tensors
  EXPECT_NEAR(two.activations, one.activations, 0.01 * one.activations);
  // SGD keeps one moment.
  EXPECT_DOUBLE_EQ(estimate_run_memory(run_config("gpt2", "small", {"optim.name=sgd"}), {}).state,
                   4 * W);
  // The activations scale with the batch.
  const MemoryEstimate wide =
      estimate_run_memory(run_config("gpt2", "small", {"train.batch_size=32"}), {});
  EXPECT_DOUBLE_EQ(wide.activations, 2 * one.activations);
}

TEST(MemoryEstimate, TextCorpusIsSizedFromItsFile) {
  const fs::path dir = fs::temp_directory_path() / "wdlab_memory_text";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "corpus.txt") << std::string(100000, 'a');
  const RunConfig text = run_config(
      "gpt2", "tiny", {"data.source=text", "data.path=" + (dir / "corpus.txt").string()});
  const MemoryEstimate m = estimate_run_memory(text, {});
  EXPECT_DOUBLE_EQ(m.data, 400000.0);
  EXPECT_DOUBLE_EQ(m.data_build, 100000.0);
  // A path the loader would refuse fails here first, with the loader's own message.
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  const RunConfig fifo =
      run_config("gpt2", "tiny", {"data.source=text", "data.path=" + (dir / "fifo").string()});
  EXPECT_NE(error_of([&] { estimate_run_memory(fifo, {}); }).find("is not a regular file"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(MemoryEstimate, RefusalNamesBothNumbersAndTheWayOut) {
  // d_model 2^21: ~10^14 parameters, counted without building anything.
  const RunConfig huge = run_config("gpt2", "tiny", {"model.d_model=2097152"});
  const MemoryEstimate need = estimate_run_memory(huge, {});
  EXPECT_GT(need.total(), 1e15);
  EXPECT_TRUE(std::isfinite(need.total()));
  const std::string msg = error_of([&] { check_memory(need, {8e9, "MemAvailable"}); });
  EXPECT_NE(msg.find("the run needs an estimated " + human_bytes(need.total()) +
                     " of memory, but 8.00 GB is available (MemAvailable)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("--allow-large"), std::string::npos) << msg;
  const MemoryEstimate tiny = estimate_run_memory(run_config("gpt2", "tiny"), {});
  EXPECT_NO_THROW(check_memory(tiny, {8e9, "MemAvailable"}));
  EXPECT_ANY_THROW(check_memory(tiny, {tiny.total() - 1, "MemAvailable"}));
}

class FakeSystem : public ::testing::Test {
 protected:
  fs::path root = fs::temp_directory_path() /
                  ("wdlab_fake_sys_" +
                   std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  void SetUp() override { fs::remove_all(root); }
  void TearDown() override { fs::remove_all(root); }
  void write(const std::string& file, const std::string& text) {
    fs::create_directories((root / file).parent_path());
    std::ofstream(root / file) << text;
  }
};

TEST_F(FakeSystem, MemAvailableWithoutACgroupLimit) {
  write("proc/meminfo", "MemTotal:       16000000 kB\nMemAvailable:    8000000 kB\n");
  write("proc/self/cgroup", "0::/user.slice\n");
  write("sys/fs/cgroup/user.slice/memory.max", "max\n");
  write("sys/fs/cgroup/user.slice/memory.current", "5000000000\n");
  const AvailableMemory m = available_memory(root);
  EXPECT_DOUBLE_EQ(m.bytes, 8000000.0 * 1024);
  EXPECT_EQ(m.source, "MemAvailable");
  EXPECT_TRUE(std::isinf(available_memory(root / "nothing").bytes));
}

// cgroup v2: the tightest of our cgroup and its ancestors, without reclaimable page cache.
TEST_F(FakeSystem, CgroupV2LimitOfAnAncestor) {
  write("proc/meminfo", "MemAvailable:    8000000 kB\n");
  write("proc/self/cgroup", "0::/user.slice/app\n");
  write("sys/fs/cgroup/user.slice/memory.max", "6000000000\n");
  write("sys/fs/cgroup/user.slice/memory.current", "5000000000\n");
  write("sys/fs/cgroup/user.slice/memory.stat", "anon 4000000000\ninactive_file 1000000000\n");
  write("sys/fs/cgroup/user.slice/app/memory.max", "max\n");
  write("sys/fs/cgroup/user.slice/app/memory.current", "100\n");
  const AvailableMemory m = available_memory(root);
  EXPECT_DOUBLE_EQ(m.bytes, 2e9);
  EXPECT_EQ(m.source, "the memory cgroup /user.slice (limit 6.00 GB, 4.00 GB in use)");
}

// cgroup v1 as in a container: the path is the host's and the mount shows our cgroup as root.
TEST_F(FakeSystem, CgroupV1LimitSeenFromAContainer) {
  write("proc/meminfo", "MemAvailable:    8000000 kB\n");
  write("proc/self/cgroup", "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n");
  write("sys/fs/cgroup/memory/memory.limit_in_bytes", "3000000000\n");
  write("sys/fs/cgroup/memory/memory.usage_in_bytes", "1500000000\n");
  write("sys/fs/cgroup/memory/memory.stat", "cache 600000000\ntotal_inactive_file 500000000\n");
  const AvailableMemory m = available_memory(root);
  EXPECT_DOUBLE_EQ(m.bytes, 2e9);
  EXPECT_EQ(m.source, "the memory cgroup / (limit 3.00 GB, 1.00 GB in use)");
  // v1's "no limit" is a huge number, not a limit.
  write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_EQ(available_memory(root).source, "MemAvailable");
}

}  // namespace
}  // namespace wdlab
