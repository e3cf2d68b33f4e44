// wdlab: weight-decay ablations on CPU transformers. This file owns process concerns only:
// the command table, log verbosity and mapping errors to one-line messages and exit codes.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"wdlab: weight-decay ablations on CPU transformers"};
  app.set_version_flag("--version", WDLAB_VERSION);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "Only print warnings and errors");
  app.require_subcommand(1);
  app.fallthrough();  // global flags (-q) may also follow the subcommand
  wdlab::cli::register_run(app);
  wdlab::cli::register_presets(app);
  wdlab::cli::register_config(app);
  wdlab::cli::register_sweep(app);
  wdlab::cli::register_table(app);
  wdlab::cli::register_report(app);
  wdlab::cli::register_inspect(app);
  app.parse_complete_callback([&] {
    spdlog::set_pattern("%H:%M:%S %^%l%$ %v");
    spdlog::set_level(quiet ? spdlog::level::warn : spdlog::level::info);
  });

  // Not CLI11_PARSE: its error handling would bypass ours.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const wdlab::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
