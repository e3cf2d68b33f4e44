// One function per subcommand: each adds its options to the app and installs the callback that
// does the work through the library. main.cpp only wires them up. The commands that can end
// other than "done" or an error (run: diverged, interrupted; sweep: a failed run, interrupted)
// store their Outcome for main.cpp to turn into the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include "outcome.h"

namespace wdlab::cli {

void register_run(CLI::App& app, Outcome& outcome);
void register_presets(CLI::App& app);
void register_config(CLI::App& app);
void register_sweep(CLI::App& app, Outcome& outcome);
void register_slurm(CLI::App& app);
void register_table(CLI::App& app);
void register_report(CLI::App& app);
void register_inspect(CLI::App& app);
// Keeps a reference to `app`: the script is generated from its commands when it runs.
void register_completion(CLI::App& app);

// Shared by commands that resolve a config: --preset, --scale and key=value overrides.
struct ConfigArgs {
  std::string preset = "gpt2";
  std::string scale = "tiny";
  std::vector<std::string> overrides;
};
void add_config_args(CLI::App& cmd, ConfigArgs& args);

}  // namespace wdlab::cli
