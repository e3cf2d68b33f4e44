// `wdlab sweep SPEC.json [key=v1,v2 ...]`: expand a sweep spec into runs and run the missing ones.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

#include "commands.h"
#include "core/error.h"
#include "stop_signals.h"
#include "sweep/expand.h"
#include "sweep/parallelism.h"
#include "sweep/resume.h"
#include "sweep/runner.h"
#include "sweep/shard.h"

namespace wdlab::cli {
namespace {

struct SweepArgs {
  std::string spec;
  std::vector<std::string> axes;
  std::string out;
  int jobs = 0;
  int threads = 0;
  bool dry_run = false;
  bool force = false;
  bool allow_large = false;
  bool tensorboard = false;
  std::string format = "text";
  std::string shard;
};

// Points of the grid that resolve to the config of an earlier run are run once.
std::string duplicates_note(const SweepPlan& plan) {
  std::string note = fmt::format("{} duplicate configuration{} dropped", plan.duplicates,
                                 plan.duplicates == 1 ? "" : "s");
  if (plan.scaling_duplicates == plan.duplicates)
    return note + " (decay_scaling has no effect without decoupled decay)";
  if (plan.scaling_duplicates > 0)
    return note + fmt::format(
                      " (same config id as an earlier run; {} of them because "
                      "decay_scaling has no effect without decoupled decay)",
                      plan.scaling_duplicates);
  return note + " (same config id as an earlier run)";
}

void print_dry_run(const SweepPlan& plan, const SweepDecisions& d, const SweepOptions& options,
                   const std::string& format) {
  if (format == "json") {
    nlohmann::json j = plan_to_json(plan);
    j["root"] = options.root.string();
    j["jobs"] = options.jobs;
    j["threads"] = options.threads;
    if (!options.shard.whole())
      j["shard"] = fmt::format("{}/{}", options.shard.index, options.shard.count);
    nlohmann::json runs = nlohmann::json::array();
    for (size_t i = 0; i < plan.runs.size(); ++i) {
      if (!options.shard.owns(plan.runs[i].index)) continue;
      nlohmann::json run = j["runs"][i];
      run["state"] = std::string(to_string(d.runs[i].action));
      run["command"] = run_command(plan.runs[i], options.root / plan.runs[i].name, options,
                                   d.runs[i].action == RunAction::resume);
      run["command"][0] = "wdlab";
      runs.push_back(std::move(run));
    }
    j["runs"] = std::move(runs);
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  int to_run = 0, total = 0;
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    if (!options.shard.owns(plan.runs[i].index)) continue;
    ++total;
    to_run += d.runs[i].action == RunAction::run || d.runs[i].action == RunAction::resume;
  }
  const std::string shard = options.shard.whole()
                                ? ""
                                : fmt::format(" shard {}/{} (of {} runs)", options.shard.index,
                                              options.shard.count, plan.runs.size());
  std::printf("sweep %s (%s)%s: %d runs, %d to run, with %d job%s x %d thread%s -> %s\n",
              plan.name.c_str(), plan.spec_file.c_str(), shard.c_str(), total, to_run, options.jobs,
              options.jobs == 1 ? "" : "s", options.threads, options.threads == 1 ? "" : "s",
              options.root.string().c_str());
  std::printf("  %-4s %-17s %-15s %s\n", "#", "id", "state", "directory");
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    if (!options.shard.owns(plan.runs[i].index)) continue;
    std::printf("  %-4d %-17s %-15s %s\n", plan.runs[i].index, plan.runs[i].id.c_str(),
                std::string(to_string(d.runs[i].action)).c_str(), plan.runs[i].name.c_str());
  }
  if (plan.spec.value("method", "") == "random") {
    std::printf("random search: %s points of grid x zip drawn with seed %s\n",
                plan.spec["run_cap"].dump().c_str(),
                plan.spec.value("seed", nlohmann::json(0)).dump().c_str());
  }
  for (const SkippedPreset& s : plan.skipped)
    std::printf("left out: %s: %s\n", s.preset.c_str(), s.reason.c_str());
  if (plan.duplicates) std::printf("%s\n", duplicates_note(plan).c_str());
  for (const std::string& c : d.conflicts) std::printf("conflict: %s\n", c.c_str());
}

Outcome sweep(const SweepArgs& args) {
  SweepSpec spec = load_sweep_spec(args.spec);
  apply_command_line(spec, args.axes);
  const SweepPlan plan = expand_sweep(spec);
  WD_CHECK(!plan.runs.empty(), "{}: the sweep has no runs", args.spec);

  SweepOptions options;
  options.root = args.out.empty() ? std::filesystem::path("results") / plan.name
                                  : std::filesystem::path(args.out);
  if (!args.shard.empty())
    options.shard = parse_shard(args.shard, [](const char* name) { return std::getenv(name); });
  int shard_runs = 0;
  for (const PlannedRun& r : plan.runs) shard_runs += options.shard.owns(r.index);
  const Parallelism p = default_parallelism(usable_cores(), shard_runs, args.jobs, args.threads);
  options.jobs = p.jobs;
  options.threads = p.threads;
  options.force = args.force;
  options.allow_large = args.allow_large;
  options.tensorboard = args.tensorboard;

  if (args.dry_run) {
    print_dry_run(plan, decide_runs(plan, options.root, options.force), options, args.format);
    return Outcome::ok;
  }
  for (const SkippedPreset& s : plan.skipped) spdlog::warn("left out: {}: {}", s.preset, s.reason);
  if (plan.duplicates) spdlog::info("{}", duplicates_note(plan));

  SweepOutcome out;
  {
    StopSignals stop;
    out = run_sweep(plan, options, &stop.request());
  }
  if (out.interrupted || out.not_started) return Outcome::interrupted;
  if (out.failed) return Outcome::failed;
  spdlog::info("report: wdlab report {}", options.root.string());
  return Outcome::ok;
}

}  // namespace

void register_sweep(CLI::App& app, Outcome& outcome) {
  auto* cmd = app.add_subcommand(
      "sweep", "Run a sweep spec (configs/sweeps/*.json): a grid of runs, resumably, in parallel");
  auto args = std::make_shared<SweepArgs>();
  cmd->add_option("spec", args->spec, "Sweep spec (JSON), e.g. configs/sweeps/smoke.json")
      ->required();
  cmd->add_option("axes", args->axes,
                  "Axes and fixed values on top of the spec: key=v1,v2 (an axis), key=v (fixed), "
                  "preset=NAME[,NAME...]|all, scale=NAME, seed=1,2,3");
  cmd->add_option("--out", args->out, "Sweep directory (default: results/<sweep name>)");
  cmd->add_option("--jobs", args->jobs, "Runs at once (default: one per core)");
  cmd->add_option("--threads", args->threads,
                  "Threads per run (default: 1; the spare cores when there are fewer runs or "
                  "--jobs than cores)");
  cmd->add_flag("--dry-run", args->dry_run,
                "Print the numbered run list and what a real sweep would do; run nothing");
  cmd->add_option("--format", args->format, "Output of --dry-run: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_flag("--force", args->force, "Redo every run, replacing completed ones");
  cmd->add_flag("--allow-large", args->allow_large,
                "Pass --allow-large to every run: run even when a run's memory estimate exceeds "
                "the memory available");
  cmd->add_flag("--tensorboard", args->tensorboard,
                "Pass --tensorboard to every run: TensorBoard scalars in each run directory, so "
                "that `tensorboard --logdir <sweep dir>` overlays the runs by directory name");
  cmd->add_option("--shard", args->shard,
                  "Run only shard i of N: the runs k with k mod N = i (i/N, from 0); auto reads "
                  "SLURM_ARRAY_TASK_ID/_COUNT, auto/N reads SLURM_ARRAY_TASK_ID or "
                  "JOB_COMPLETION_INDEX (Kubernetes). Shards may share one --out directory");
  cmd->footer(
      "Exit codes: 0 every run done (diverged runs are results); 1 a run failed; 130 "
      "interrupted (finished runs kept; rerun to resume).");
  cmd->callback([args, &outcome] { outcome = sweep(*args); });
}

}  // namespace wdlab::cli
