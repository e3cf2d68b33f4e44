// How a subcommand ends. The subcommands return an Outcome (errors are wdlab::Error, usage errors
// CLI::ParseError); main.cpp alone turns it into the process's exit code. Nothing below main
// calls exit().
#pragma once

namespace wdlab::cli {

enum class Outcome {
  ok,           // 0
  failed,       // 1: a sweep with a failed run (bad input is a wdlab::Error: also 1)
  diverged,     // 3: the run diverged (NaN/Inf or loss above 3x its start); summary.json says so
  interrupted,  // 130: SIGINT / SIGTERM; partial results kept, summary.json says "interrupted"
};

inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;  // unknown command or option, a missing argument

constexpr int exit_code(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok:
      return 0;
    case Outcome::failed:
      return kExitError;
    case Outcome::diverged:
      return 3;
    case Outcome::interrupted:
      return 130;
  }
  return kExitError;
}

// For `wdlab --help` and the README.
inline constexpr const char* kExitCodesHelp =
    "Exit codes: 0 done; 1 error (bad input; a sweep with a failed run); 2 usage error (unknown "
    "command or option); 3 the run diverged; 130 interrupted (SIGINT/SIGTERM; partial results "
    "kept).";

}  // namespace wdlab::cli
