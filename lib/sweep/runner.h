// Runs a sweep plan into its root directory, resumably:
//
//   root/sweep.json                 the plan (runs, ids, overrides), written atomically
//   root/NNN_key=value,.../         one `wdlab run` directory per run, plus log.txt
//
// Each run is a child process `EXE run --preset P --scale S --out DIR --threads K [--allow-large]
// [--tensorboard] overrides...` (EXE is this very executable), with stdout and stderr in
// DIR/log.txt, at most `jobs` at once. A failed run is reported with its own last line, kept in
// memory (DIR/log.txt may be what could not be written).
// Completed runs are never touched; unfinished ones are resumed from their checkpoints or cleared
// and redone (resume.h), each under its run lock (sweep_dir.h), so that several sweep processes
// (shards: options.shard) can share the root; a run locked by another process is left to it. A run
// that diverges is a result, not a failure; a run that ends without a summary is a failure: the
// sweep goes on and reports it. On a stop request no new run starts, the running ones are asked
// to stop (they write status "interrupted", which never counts as done) and are waited for.
// Each child also gets kSweepPidVariable = the sweep's pid, so that it stops the same way if the
// sweep itself dies without a word (kill -9): see app/cmd_run.cpp; and kDataCacheVariable =
// root/.cache/data, where the first run with a given synthetic language stores its data for the
// others (data/synthetic_cache.h).
//
//   SweepOutcome out = run_sweep(plan, {.root = "results/smoke", .jobs = 2}, &stop);
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "sweep/plan.h"
#include "sweep/process_pool.h"
#include "sweep/shard.h"

namespace wdlab {

inline constexpr std::string_view kSweepPidVariable = "WDLAB_SWEEP_PID";

struct SweepOptions {
  std::filesystem::path root;
  int jobs = 1;
  int threads = 1;  // threads per run (wdlab run --threads)
  bool force = false;
  bool allow_large = false;  // passed on to every run (wdlab run --allow-large)
  bool tensorboard = false;  // passed on to every run (wdlab run --tensorboard)
  SweepShard shard;          // runs only the plan's runs this shard owns
  std::string executable = "/proc/self/exe";
};

struct SweepOutcome {
  int total = 0;         // of this shard
  int already_done = 0;  // done before this invocation (renamed ones included)
  int renamed = 0;
  int finished = 0;
  int diverged = 0;
  int failed = 0;
  int interrupted = 0;
  int not_started = 0;
  int resumed = 0;    // of the runs started, continued from a checkpoint
  int elsewhere = 0;  // being run by another process when this one got to them: left to it
  double seconds = 0.0;
};

SweepOutcome run_sweep(const SweepPlan& plan, const SweepOptions& options, const StopRequest* stop);

// The command line that trains `run` into `dir` (argv[0] = executable); with `resume`, the one
// that continues it there from its checkpoint.
std::vector<std::string> run_command(const PlannedRun& run, const std::filesystem::path& dir,
                                     const SweepOptions& options, bool resume = false);

}  // namespace wdlab
