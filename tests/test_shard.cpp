// Shards of a sweep's run list (`wdlab sweep --shard`): every run in exactly one shard, and the
// shard taken from a Slurm array or a Kubernetes Indexed Job's environment, with clear errors.
#include <gtest/gtest.h>

#include "test_util.h"

#include <fmt/format.h>

#include <cstdlib>
#include <map>
#include <string>

#include "sweep/shard.h"

namespace wdlab {
namespace {
using test::error_of;

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

const EnvLookup kNoEnv = env_of({});

TEST(SweepShard, EveryRunInExactlyOneShard) {
  for (int n = 1; n <= 7; ++n) {
    for (int runs : {0, 1, 5, 36, 37}) {
      std::vector<int> owners(runs, 0);
      std::vector<int> sizes(n, 0);
      for (int i = 0; i < n; ++i) {
        const SweepShard s = parse_shard(fmt::format("{}/{}", i, n), kNoEnv);
        for (int k = 0; k < runs; ++k) {
          owners[k] += s.owns(k);
          sizes[i] += s.owns(k);
        }
      }
      for (int k = 0; k < runs; ++k) EXPECT_EQ(owners[k], 1) << "run " << k << " of " << n;
      // Round robin: shard sizes differ by at most one.
      for (int i = 0; i < n; ++i) EXPECT_LE(std::abs(sizes[i] - sizes[0]), 1) << n << " shards";
    }
  }
}

TEST(SweepShard, RoundRobin) {
  const SweepShard s = parse_shard("1/3", kNoEnv);
  EXPECT_FALSE(s.owns(0));
  EXPECT_TRUE(s.owns(1));
  EXPECT_TRUE(s.owns(4));
  EXPECT_FALSE(s.owns(5));
}

TEST(SweepShard, ExplicitArgumentErrors) {
  EXPECT_NE(error_of([] { parse_shard("3/3", kNoEnv); }).find("outside 0..2"), std::string::npos);
  EXPECT_NE(error_of([] { parse_shard("0/0", kNoEnv); }).find("at least 1"), std::string::npos);
  EXPECT_NE(error_of([] { parse_shard("-1/2", kNoEnv); }).find("outside"), std::string::npos);
  for (const char* bad : {"1", "a/2", "1/b", "1/2x", "", "/"})
    EXPECT_NE(error_of([&] { parse_shard(bad, kNoEnv); }).find("expected i/N"), std::string::npos)
        << bad;
}

TEST(SweepShard, AutoFromSlurmArray) {
  SweepShard s = parse_shard("auto", env_of({{"SLURM_ARRAY_TASK_ID", "2"},
                                             {"SLURM_ARRAY_TASK_COUNT", "5"},
                                             {"SLURM_ARRAY_TASK_MIN", "0"},
                                             {"SLURM_ARRAY_TASK_MAX", "4"}}));
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  // --array=1-8: shards 0..7, from MIN and MAX alone.
  s = parse_shard("auto", env_of({{"SLURM_ARRAY_TASK_ID", "8"},
                                  {"SLURM_ARRAY_TASK_MIN", "1"},
                                  {"SLURM_ARRAY_TASK_MAX", "8"}}));
  EXPECT_EQ(s.index, 7);
  EXPECT_EQ(s.count, 8);
  // auto/N: task 3 resubmitted alone (--array=3) is still shard 3 of 8.
  s = parse_shard("auto/8", env_of({{"SLURM_ARRAY_TASK_ID", "3"},
                                    {"SLURM_ARRAY_TASK_COUNT", "1"},
                                    {"SLURM_ARRAY_TASK_MIN", "3"},
                                    {"SLURM_ARRAY_TASK_MAX", "3"}}));
  EXPECT_EQ(s.index, 3);
  EXPECT_EQ(s.count, 8);
}

TEST(SweepShard, AutoFromKubernetesIndexedJob) {
  const SweepShard s = parse_shard("auto/4", env_of({{"JOB_COMPLETION_INDEX", "3"}}));
  EXPECT_EQ(s.index, 3);
  EXPECT_EQ(s.count, 4);
  EXPECT_NE(error_of([] {
              parse_shard("auto", env_of({{"JOB_COMPLETION_INDEX", "3"}}));
            }).find("--shard auto/N"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_shard("auto/3", env_of({{"JOB_COMPLETION_INDEX", "3"}}));
            }).find("outside 0..2"),
            std::string::npos);
}

TEST(SweepShard, AutoErrors) {
  const std::string none = error_of([] { parse_shard("auto", kNoEnv); });
  EXPECT_NE(none.find("SLURM_ARRAY_TASK_ID"), std::string::npos) << none;
  EXPECT_NE(none.find("JOB_COMPLETION_INDEX"), std::string::npos) << none;
  EXPECT_NE(error_of([] {
              parse_shard("auto", env_of({{"SLURM_ARRAY_TASK_ID", "x"}}));
            }).find("SLURM_ARRAY_TASK_ID='x'"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_shard("auto", env_of({{"SLURM_ARRAY_TASK_ID", "1"}}));
            }).find("SLURM_ARRAY_TASK_COUNT"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_shard("auto",
                          env_of({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_COUNT", "5"}}));
            }).find("outside 0..4"),
            std::string::npos);
}

}  // namespace
}  // namespace wdlab
