#include "sweep/slurm_script.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"

namespace wdlab {
namespace {

// Runs per array task by default: enough that starting a task is cheap beside its runs.
constexpr int kRunsPerTask = 8;
constexpr int kMaxArraySize = 1000;

// For the shell: single quotes, each embedded one closed, escaped and reopened.
std::string quoted(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789/._-+=:,@%") == std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

int default_shards(int runs) {
  return std::clamp((runs + kRunsPerTask - 1) / kRunsPerTask, 1, kMaxArraySize);
}

std::string slurm_script(const SlurmOptions& o) {
  const int shards = o.shards > 0 ? o.shards : default_shards(o.runs);
  WD_CHECK(o.parallelism >= 0, "--array-parallelism: must be positive, got {}", o.parallelism);
  WD_CHECK(o.cpus_per_task >= 1, "--cpus-per-task: must be at least 1, got {}", o.cpus_per_task);
  std::string s = "#!/bin/bash\n";
  s += fmt::format(
      "# wdlab sweep {}: {} runs in {} array tasks (run k in task k mod {}), into {}.\n"
      "# Submit unchanged: sbatch THIS_FILE. Submitting it again skips finished runs and resumes\n"
      "# interrupted ones from their checkpoints; `sbatch --array=I THIS_FILE` redoes task I.\n",
      o.sweep_name, o.runs, shards, shards, o.out);
  auto line = [&s](const std::string& option) { s += "#SBATCH " + option + "\n"; };
  line("--job-name=wdlab-" + o.sweep_name);
  line(fmt::format("--array=0-{}{}", shards - 1,
                   o.parallelism > 0 ? fmt::format("%{}", o.parallelism) : ""));
  line("--output=" + o.out + "/slurm/%A_%a.out");
  line("--open-mode=append");  // a requeued task adds to its log
  line("--ntasks=1");
  line(fmt::format("--cpus-per-task={}", o.cpus_per_task));
  if (!o.partition.empty()) line("--partition=" + o.partition);
  if (!o.time.empty()) line("--time=" + o.time);
  if (!o.mem.empty()) line("--mem=" + o.mem);
  if (!o.account.empty()) line("--account=" + o.account);
  line("--requeue");  // preempted tasks come back and resume their runs
  for (const std::string& e : o.extra) line(e);
  // SIGTERM (preemption, time limit, scancel) reaches every run: each writes a checkpoint and
  // ends as interrupted; the sweep exits 130.
  s += fmt::format("srun {} sweep {} --shard auto/{} --out {} --jobs {}\n", quoted(o.executable),
                   quoted(o.spec), shards, quoted(o.out), o.cpus_per_task);
  return s;
}

}  // namespace wdlab
