// A bash completion script for wdlab, generated from the CLI's own definitions (the CLI11 app
// tree: subcommands, their options, which options take a value and the values a validator
// allows), so it cannot drift from the commands. Values that depend on the installation are
// filled in when the script is generated: preset and scale names, and the config keys offered
// as key= for positional overrides.
//
//   std::fputs(bash_completion_script(app, presets, scales, keys).c_str(), stdout);
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace wdlab::cli {

std::string bash_completion_script(const CLI::App& app, const std::vector<std::string>& presets,
                                   const std::vector<std::string>& scales,
                                   const std::vector<std::string>& config_keys);

}  // namespace wdlab::cli
