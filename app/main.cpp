// wdlab: weight-decay ablations on CPU transformers. This file owns process concerns only:
// the command table, log verbosity and mapping outcomes and errors to one-line messages and exit
// codes (outcome.h: the subcommands return, nothing below calls exit()).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <new>

#include "commands.h"
#include "core/build_info.h"
#include "core/error.h"
#include "outcome.h"
#include "usage.h"

int main(int argc, char** argv) {
  using namespace wdlab::cli;
  CLI::App app{"wdlab: weight-decay ablations on CPU transformers"};
  app.set_version_flag("--version", "wdlab " + wdlab::describe_build());
  app.footer(kExitCodesHelp);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "Only print warnings and errors");
  app.require_subcommand(1);
  app.fallthrough();  // global flags (-q) may also follow the subcommand
  Outcome outcome = Outcome::ok;
  register_run(app, outcome);
  register_presets(app);
  register_config(app);
  register_sweep(app, outcome);
  register_slurm(app);
  register_table(app);
  register_report(app);
  register_inspect(app);
  register_completion(app);
  register_export(app);
  app.parse_complete_callback([&] {
    spdlog::set_pattern("%H:%M:%S %^%l%$ %v");
    spdlog::set_level(quiet ? spdlog::level::warn : spdlog::level::info);
  });

  // The command line as typed is the run's record (run.json); CLI11 parses it with config keys
  // given as options (--optim.lr=0.1) turned into overrides (optim.lr=0.1).
  set_command_line({argv, argv + argc});
  std::vector<std::string> args = options_as_overrides(app, {argv, argv + argc});
  std::vector<char*> parsed;
  for (std::string& a : args) parsed.push_back(a.data());
  const int parsed_argc = static_cast<int>(parsed.size());

  // Not CLI11_PARSE: its error handling would bypass ours.
  try {
    app.parse(parsed_argc, parsed.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::fprintf(stderr, "error: %s (see wdlab --help)\n",
                 usage_error(app, parsed_argc, parsed.data(), e).c_str());
    return kExitUsage;
  } catch (const wdlab::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return kExitError;
  } catch (const std::bad_alloc&) {  // after `run --allow-large`, or an estimate that fell short
    std::fprintf(stderr,
                 "error: out of memory (std::bad_alloc); `wdlab config` with the same arguments "
                 "prints the run's memory estimate\n");
    return kExitError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return kExitError;
  }
  return exit_code(outcome);
}
