// `wdlab run`: train one run into one run directory.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "commands.h"
#include "core/available_memory.h"
#include "core/error.h"
#include "core/gemm.h"
#include "data/synthetic_cache.h"
#include "run/checkpoint.h"
#include "run/config.h"
#include "run/config_optim.h"
#include "run/memory_estimate.h"
#include "run/overrides.h"
#include "run/run_dir.h"
#include "run/trainer.h"
#include "stop_signals.h"

namespace wdlab::cli {
namespace {

struct RunArgs {
  ConfigArgs config;
  std::string out;
  std::string results = "results";
  int threads = 1;
  bool force = false;
  bool save = false;
  std::string init_from;
  std::string resume;
  bool preset_given = false, scale_given = false, threads_given = false;
  bool allow_large = false;
  bool tensorboard = false;
};

// Refuses a run that cannot fit before allocating it: the alternative is std::bad_alloc, or
// minutes of swapping.
void check_run_memory(const RunConfig& config, const RunMemoryOptions& options, bool allow_large) {
  const MemoryEstimate need = estimate_run_memory(config, options);
  const AvailableMemory have = available_memory();
  if (!allow_large) check_memory(need, have);
  spdlog::info("memory: estimated {} of {} available", need.describe(), human_bytes(have.bytes));
}

// Where synthetic data are cached across runs: WDLAB_DATA_CACHE, which `wdlab sweep` sets for
// its runs (data/synthetic_cache.h); none when unset or empty.
std::filesystem::path data_cache_dir() {
  const char* dir = std::getenv(std::string(kDataCacheVariable).c_str());
  return dir ? std::filesystem::path(dir) : std::filesystem::path();
}

Outcome outcome_of(const nlohmann::json& summary, const std::filesystem::path& dir) {
  const std::string status = summary["status"];
  if (status == "interrupted") {
    spdlog::warn("interrupted; partial metrics kept in {}{}", dir.string(),
                 std::filesystem::exists(dir / kCheckpointFile)
                     ? fmt::format("; `wdlab run --resume {}` continues", dir.string())
                     : std::string());
    return Outcome::interrupted;
  }
  return status == "diverged" ? Outcome::diverged : Outcome::ok;
}

std::string replace_dots(std::string key) {
  std::replace(key.begin(), key.end(), '.', '/');
  return key;
}

// Dotted keys whose values differ between two configs, ignoring what does not change results
// (the run's name, the checkpoint schedule).
std::vector<std::string> differing_keys(const nlohmann::json& a, const nlohmann::json& b) {
  const nlohmann::json fa = a.flatten(), fb = b.flatten();
  std::vector<std::string> keys;
  auto consider = [&](const std::string& pointer) {
    std::string key = pointer.substr(1);
    std::replace(key.begin(), key.end(), '/', '.');
    if (key == "name" || key == "train.checkpoint_every" || key == "train.checkpoint_minutes")
      return;
    const bool in_a = fa.contains(pointer), in_b = fb.contains(pointer);
    if (in_a != in_b || (in_a && fa[pointer] != fb[pointer])) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
  };
  for (const auto& item : fa.items()) consider(item.key());
  for (const auto& item : fb.items()) consider(item.key());
  return keys;
}

// `--resume DIR`: the config is the one in DIR/config.json. A preset, scale or overrides given
// as well must resolve to that same config (the checkpoint schedule may change).
Outcome resume(const RunArgs& args) {
  namespace fs = std::filesystem;
  const fs::path dir = args.resume;
  WD_CHECK(args.out.empty() && !args.force && args.init_from.empty(),
           "--resume continues the run in its own directory from its checkpoint: --out, "
           "--force and --init-from do not apply");
  WD_CHECK(fs::is_regular_file(dir / kCheckpointFile),
           "{}: no checkpoint to resume from ({} is missing; a run writes one every "
           "train.checkpoint_every steps or train.checkpoint_minutes, and when interrupted)",
           dir.string(), (dir / kCheckpointFile).string());
  nlohmann::json stored;
  try {
    std::ifstream in(dir / "config.json");
    stored = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    fail("{}: cannot read the run's config: {}", (dir / "config.json").string(), e.what());
  }
  WD_CHECK(stored.is_object() && stored.contains("wdlab"), "{}: not a wdlab run config",
           (dir / "config.json").string());
  const int recorded_threads = stored["wdlab"].value("threads", 1);
  const bool recorded_save = stored["wdlab"].value("save", false);
  const bool recorded_tensorboard = stored["wdlab"].value("tensorboard", false);
  // Part of the run's identity (the config id): the checkpoint carries it.
  const nlohmann::json init_from = stored["wdlab"].value("init_from", nlohmann::json());
  stored.erase("wdlab");
  // Overrides apply on top of the run's config: restating it (or changing only the checkpoint
  // schedule) is fine, anything else would be another run.
  nlohmann::json cfg = stored;
  WD_CHECK(!args.preset_given || args.config.preset == stored.value("preset", ""),
           "{}: the run used preset '{}', not '{}'", dir.string(), stored.value("preset", ""),
           args.config.preset);
  WD_CHECK(!args.scale_given || args.config.scale == stored.value("scale", ""),
           "{}: the run used scale '{}', not '{}'", dir.string(), stored.value("scale", ""),
           args.config.scale);
  for (const std::string& o : args.config.overrides) apply_override(cfg, o);
  normalise_optim(cfg);
  const std::vector<std::string> keys = differing_keys(stored, cfg);
  if (!keys.empty()) {
    const nlohmann::json before = stored.flatten(), now = cfg.flatten();
    std::string list;
    for (const std::string& k : keys) {
      const std::string pointer = "/" + replace_dots(k);
      list += fmt::format("\n  {}: {} in the run, {} now", k,
                          before.value(pointer, nlohmann::json()).dump(),
                          now.value(pointer, nlohmann::json()).dump());
    }
    fail("{}: cannot resume with a different config ({} key{} differ):{}", dir.string(),
         keys.size(), keys.size() == 1 ? "" : "s", list);
  }
  const int threads = args.threads_given ? args.threads : recorded_threads;
  WD_CHECK(threads >= 1, "--threads: must be at least 1, got {}", threads);
  blas_set_threads(threads);

  RunConfig config = parse_run_config(cfg);
  check_run_memory(config, {.threads = threads, .resume = true}, args.allow_large);
  Trainer trainer(std::move(config), threads, data_cache_dir());
  trainer.record_command_line(command_line());
  trainer.resume_from(dir, init_from);
  trainer.save_final_weights(args.save || recorded_save);
  trainer.write_tensorboard(args.tensorboard || recorded_tensorboard);
  // Until it completes again, the run is unfinished: no stale "interrupted" summary stays.
  std::error_code ec;
  fs::remove(dir / "summary.json", ec);
  spdlog::info("run directory: {}", dir.string());
  StopSignals stop;
  stop.follow_parent_sweep();
  return outcome_of(trainer.run(dir, &stop.flag()), dir);
}

Outcome run(const RunArgs& args) {
  if (!args.resume.empty()) return resume(args);
  const nlohmann::json cfg =
      resolve_config(load_preset(args.config.preset), args.config.scale, args.config.overrides);
  RunConfig config = parse_run_config(cfg);
  WD_CHECK(args.threads >= 1, "--threads: must be at least 1, got {}", args.threads);

  check_run_memory(config, {.threads = args.threads}, args.allow_large);
  blas_set_threads(args.threads);

  // Everything that can reject the input (data files included) happens before the run
  // directory exists, so bad input leaves nothing behind.
  Trainer trainer(std::move(config), args.threads, data_cache_dir());
  if (!args.init_from.empty()) trainer.load_initial_weights(args.init_from);
  trainer.record_command_line(command_line());
  trainer.save_final_weights(args.save);
  trainer.write_tensorboard(args.tensorboard);
  namespace fs = std::filesystem;
  fs::path dir;
  if (!args.out.empty()) {
    dir = args.out;
  } else {
    const std::string name = trainer.config().name.empty()
                                 ? trainer.config().preset + "-" + trainer.config().scale
                                 : trainer.config().name;
    dir = fresh_run_dir(args.results, name);
  }
  create_run_dir(dir, args.force);
  spdlog::info("run directory: {}", dir.string());

  StopSignals stop;
  stop.follow_parent_sweep();
  return outcome_of(trainer.run(dir, &stop.flag()), dir);
}

}  // namespace

void register_run(CLI::App& app, Outcome& outcome) {
  auto* cmd = app.add_subcommand("run", "Train one run and write its run directory");
  auto args = std::make_shared<RunArgs>();
  add_config_args(*cmd, args->config);
  cmd->add_option("--out", args->out,
                  "Run directory (default: <results>/<name or preset-scale>, never overwriting)");
  cmd->add_option("--results", args->results, "Base directory for default run directories")
      ->capture_default_str();
  cmd->add_option("--threads", args->threads,
                  "Threads: the batch is split between them (whole sequences); results depend "
                  "on this only by fp32 rounding")
      ->capture_default_str();
  cmd->add_flag("--force", args->force, "Replace the contents of an existing --out directory");
  cmd->add_flag("--save", args->save,
                "Write the final weights to <run dir>/model.safetensors (fp32, PyTorch names)");
  cmd->add_flag("--tensorboard", args->tensorboard,
                "Also write every metrics.jsonl row as TensorBoard scalars to "
                "<run dir>/events.out.tfevents.* (tensorboard --logdir <run dir or sweep dir>)");
  cmd->add_option("--init-from", args->init_from,
                  "Start from the weights in a safetensors file instead of the seed's init");
  cmd->add_option(
      "--resume", args->resume,
      "Continue the interrupted run in DIR from its checkpoint, bit for bit (its "
      "config.json is the config; --threads, --save and --tensorboard default to the run's)");
  cmd->add_flag("--allow-large", args->allow_large,
                "Run even when the memory estimate (see `wdlab config`) exceeds the memory "
                "available");
  cmd->footer(
      "Exit codes: 0 finished; 1 bad input; 3 diverged; 130 interrupted (partial metrics and a "
      "checkpoint kept: --resume DIR continues).");
  cmd->callback([args, cmd, &outcome] {
    args->preset_given = cmd->count("--preset") > 0;
    args->scale_given = cmd->count("--scale") > 0;
    args->threads_given = cmd->count("--threads") > 0;
    outcome = run(*args);
  });
}

}  // namespace wdlab::cli
