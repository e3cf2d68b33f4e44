// What re-running a sweep does with each planned run, decided from the run directories alone:
//
//   skip   its directory holds a completed run with its config id
//   move   a completed run with its id sits under another name in the sweep root (the spec grew
//          an axis value or a seed and the numbering shifted): renamed into place, not redone
//   resume an interrupted run whose checkpoint (run/checkpoint.h) belongs to its config id:
//          continued from that step with `wdlab run --resume`, not redone
//   run    anything else; --force makes every run "run"
//
// A directory that holds a completed run of a *different* config (the spec or its overrides
// changed) is a conflict: the sweep refuses to start rather than overwrite it, unless --force.
//
//   SweepDecisions d = decide_runs(plan, "results/smoke", /*force=*/false);
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sweep/plan.h"
#include "sweep/run_state.h"

namespace wdlab {

enum class RunAction { skip, move, resume, run };

struct RunDecision {
  RunAction action = RunAction::run;
  RunDirState state;                 // of the run's own directory
  std::filesystem::path moved_from;  // for move
  int resume_step = 0;               // for resume: the checkpoint's step
};

struct SweepDecisions {
  std::vector<RunDecision> runs;       // one per plan.runs entry
  std::vector<std::string> conflicts;  // one message per conflicting directory
};

SweepDecisions decide_runs(const SweepPlan& plan, const std::filesystem::path& root, bool force);

std::string_view to_string(RunAction action);

// The step of the checkpoint in the unfinished run directory `dir` when it belongs to config
// `id` (the run can be resumed from it), else nothing.
std::optional<int> resumable_step(const std::filesystem::path& dir, const std::string& id);

}  // namespace wdlab
