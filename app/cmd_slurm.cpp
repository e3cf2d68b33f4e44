// `wdlab slurm SPEC.json [options] [-- sbatch options]`: an sbatch array script that runs the
// sweep as shards of one shared sweep directory (lib/sweep/slurm_script.h).
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "sweep/expand.h"
#include "sweep/slurm_script.h"

namespace wdlab::cli {
namespace fs = std::filesystem;
namespace {

struct SlurmArgs {
  std::string spec;
  std::string out;
  std::string script;
  SlurmOptions options;
};

void slurm(SlurmArgs& args) {
  SweepSpec spec = load_sweep_spec(args.spec);
  const SweepPlan plan = expand_sweep(spec);
  WD_CHECK(!plan.runs.empty(), "{}: the sweep has no runs", args.spec);
  SlurmOptions& o = args.options;
  WD_CHECK(o.shards >= 0, "--shards: must be positive, got {}", o.shards);
  // The job may start anywhere: every path in the script is absolute.
  o.executable = fs::read_symlink("/proc/self/exe").string();
  o.spec = fs::absolute(args.spec).lexically_normal().string();
  const fs::path out = args.out.empty() ? fs::path("results") / plan.name : fs::path(args.out);
  o.out = fs::absolute(out).lexically_normal().string();
  o.sweep_name = plan.name;
  o.runs = static_cast<int>(plan.runs.size());
  const std::string text = slurm_script(o);
  // Slurm does not create the directory of --output: a task would fail without a log.
  std::error_code ec;
  fs::create_directories(fs::path(o.out) / "slurm", ec);
  WD_CHECK(!ec, "{}/slurm: cannot create: {}", o.out, ec.message());
  if (args.script.empty() || args.script == "-") {
    std::fputs(text.c_str(), stdout);
    return;
  }
  write_file_atomic(args.script, text);
  fs::permissions(args.script, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add,
                  ec);
  spdlog::info("{}: {} runs in {} array tasks; submit with: sbatch {}", args.script, o.runs,
               o.shards > 0 ? o.shards : default_shards(o.runs), args.script);
}

}  // namespace

void register_slurm(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "slurm",
      "Write an sbatch job-array script that runs a sweep spec as shards on a Slurm cluster");
  auto args = std::make_shared<SlurmArgs>();
  SlurmOptions& o = args->options;
  cmd->add_option("spec", args->spec, "Sweep spec (JSON), e.g. configs/sweeps/smoke.json")
      ->required();
  cmd->add_option("sbatch", o.extra,
                  "After --: more sbatch options, one #SBATCH line each (e.g. -- --qos=low)");
  cmd->add_option("--shards", o.shards, "Array tasks (default: one per 8 runs)");
  cmd->add_option("--array-parallelism", o.parallelism,
                  "Array tasks running at once (the %K of --array; default: no limit)");
  cmd->add_option("--cpus-per-task", o.cpus_per_task,
                  "Cores per task; also the runs each task runs at once (--jobs)")
      ->capture_default_str();
  cmd->add_option("--partition", o.partition, "sbatch --partition");
  cmd->add_option("--time", o.time, "sbatch --time, per task (e.g. 2:00:00)");
  cmd->add_option("--mem", o.mem, "sbatch --mem, per task (e.g. 8G)");
  cmd->add_option("--account", o.account, "sbatch --account");
  cmd->add_option("--out", args->out,
                  "Sweep directory, shared by all tasks (default: "
                  "results/<sweep name>); its slurm/ holds the task logs");
  cmd->add_option("--script", args->script, "Write the script to this file (default: stdout)");
  cmd->footer(
      "Submit the script unchanged: sbatch FILE. Then `wdlab report DIR` (also while it runs). "
      "Resubmitting skips finished runs and resumes interrupted ones.");
  cmd->callback([args] { slurm(*args); });
}

}  // namespace wdlab::cli
