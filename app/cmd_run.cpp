// `wdlab run`: train one run into one run directory.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <string>

#include "commands.h"
#include "core/available_memory.h"
#include "core/error.h"
#include "core/gemm.h"
#include "run/config.h"
#include "run/memory_estimate.h"
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
  bool allow_large = false;
};

Outcome run(const RunArgs& args) {
  const nlohmann::json cfg =
      resolve_config(load_preset(args.config.preset), args.config.scale, args.config.overrides);
  RunConfig config = parse_run_config(cfg);
  WD_CHECK(args.threads >= 1, "--threads: must be at least 1, got {}", args.threads);

  // Refuse a run that cannot fit before allocating it: the alternative is std::bad_alloc, or
  // minutes of swapping.
  const MemoryEstimate need = estimate_run_memory(
      config, {.threads = args.threads, .checkpoint = args.save || !args.init_from.empty()});
  const AvailableMemory have = available_memory();
  if (!args.allow_large) check_memory(need, have);
  spdlog::info("memory: estimated {} of {} available", need.describe(), human_bytes(have.bytes));
  blas_set_threads(args.threads);

  // Everything that can reject the input (data files included) happens before the run
  // directory exists, so bad input leaves nothing behind.
  Trainer trainer(std::move(config), args.threads);
  if (!args.init_from.empty()) trainer.load_initial_weights(args.init_from);
  trainer.save_final_weights(args.save);
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
  const nlohmann::json summary = trainer.run(dir, &stop.flag());
  const std::string status = summary["status"];
  if (status == "interrupted") {
    spdlog::warn("interrupted; partial metrics kept in {}", dir.string());
    return Outcome::interrupted;
  }
  return status == "diverged" ? Outcome::diverged : Outcome::ok;
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
  cmd->add_option("--init-from", args->init_from,
                  "Start from the weights in a safetensors file instead of the seed's init");
  cmd->add_flag("--allow-large", args->allow_large,
                "Run even when the memory estimate (see `wdlab config`) exceeds the memory "
                "available");
  cmd->footer(
      "Exit codes: 0 finished; 1 bad input; 3 diverged; 130 interrupted (partial "
      "metrics kept).");
  cmd->callback([args, &outcome] { outcome = run(*args); });
}

}  // namespace wdlab::cli
