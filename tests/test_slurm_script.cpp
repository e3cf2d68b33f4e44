// The sbatch array script of `wdlab slurm`: array size and parallelism, logs, the srun line
// with absolute paths and --shard auto/N, optional lines only when asked for.
#include <gtest/gtest.h>

#include <string>

#include "sweep/slurm_script.h"

namespace wdlab {
namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(SlurmScript, DefaultShardsGiveManyRunsPerTask) {
  EXPECT_EQ(default_shards(1), 1);
  EXPECT_EQ(default_shards(8), 1);
  EXPECT_EQ(default_shards(9), 2);
  EXPECT_EQ(default_shards(36), 5);
  EXPECT_EQ(default_shards(1000000), 1000);  // a cluster's MaxArraySize
}

TEST(SlurmScript, ArrayLogsAndSrunLine) {
  SlurmOptions o;
  o.executable = "/opt/wd lab/wdlab";
  o.spec = "/home/u/smoke.json";
  o.out = "/scratch/u/smoke";
  o.sweep_name = "smoke";
  o.runs = 36;
  o.shards = 4;
  o.parallelism = 2;
  o.cpus_per_task = 3;
  o.extra = {"--qos=low"};
  const std::string s = slurm_script(o);
  EXPECT_TRUE(s.starts_with("#!/bin/bash\n"));
  EXPECT_TRUE(has(s, "#SBATCH --array=0-3%2\n")) << s;
  EXPECT_TRUE(has(s, "#SBATCH --output=/scratch/u/smoke/slurm/%A_%a.out\n")) << s;
  EXPECT_TRUE(has(s, "#SBATCH --cpus-per-task=3\n")) << s;
  EXPECT_TRUE(has(s, "#SBATCH --qos=low\n")) << s;
  EXPECT_FALSE(has(s, "--partition")) << s;
  EXPECT_FALSE(has(s, "--time")) << s;
  EXPECT_TRUE(has(s,
                  "\nsrun '/opt/wd lab/wdlab' sweep /home/u/smoke.json --shard auto/4 --out "
                  "/scratch/u/smoke --jobs 3\n"))
      << s;
}

TEST(SlurmScript, OptionalLinesAndDefaults) {
  SlurmOptions o;
  o.executable = "/bin/wdlab";
  o.spec = "/s.json";
  o.out = "/o";
  o.sweep_name = "x";
  o.runs = 20;
  o.partition = "debug";
  o.time = "1:00:00";
  o.mem = "4G";
  o.account = "proj";
  const std::string s = slurm_script(o);
  EXPECT_TRUE(has(s, "#SBATCH --array=0-2\n")) << s;  // 3 tasks, no limit
  for (const char* line : {"--partition=debug\n", "--time=1:00:00\n", "--mem=4G\n",
                           "--account=proj\n", "--cpus-per-task=1\n"})
    EXPECT_TRUE(has(s, std::string("#SBATCH ") + line)) << line;
  EXPECT_TRUE(has(s, "--shard auto/3 --out /o --jobs 1\n")) << s;
}

}  // namespace
}  // namespace wdlab
