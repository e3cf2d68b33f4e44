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
void register_export(CLI::App& app);

// The command line as typed (argv), for the run's record: main sets it before parsing.
void set_command_line(std::vector<std::string> argv);
const std::vector<std::string>& command_line();

// Shared by commands that resolve a config: --preset, --scale and key=value overrides.
struct ConfigArgs {
  std::string preset = "gpt2";
  std::string scale = "tiny";
  std::vector<std::string> overrides;
};
void add_config_args(CLI::App& cmd, ConfigArgs& args);

// W&B sweep agents and Hydra-style launchers pass config keys as options: "--optim.lr=0.003" or
// "--optim.lr 0.003". Rewrites argv (program name included) so that, for the commands taking
// overrides (run, config, sweep), such an argument is the positional "optim.lr=0.003" CLI11
// already accepts. An argument is read as a config key only when it is not an option of the
// command and names a dotted key or a top-level key of the config (name, preset, scale, seed);
// anything else is left to CLI11, so a misspelt option (--thread) stays a usage error.
std::vector<std::string> options_as_overrides(const CLI::App& app,
                                              const std::vector<std::string>& argv);

}  // namespace wdlab::cli
