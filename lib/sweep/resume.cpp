#include "sweep/resume.h"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <set>

#include "run/checkpoint.h"

namespace wdlab {
namespace fs = std::filesystem;

SweepDecisions decide_runs(const SweepPlan& plan, const fs::path& root, bool force) {
  SweepDecisions d;
  d.runs.resize(plan.runs.size());
  for (size_t i = 0; i < plan.runs.size(); ++i)
    d.runs[i].state = inspect_run_dir(root / plan.runs[i].name, plan.runs[i].id);
  if (force) return d;  // every run is redone, whatever its directory holds

  // Completed runs anywhere in the root, by config id (the first directory wins).
  std::map<std::string, fs::path> completed;
  std::error_code ec;
  if (fs::is_directory(root, ec)) {
    std::vector<fs::path> dirs;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
      if (entry.is_directory()) dirs.push_back(entry.path());
    }
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path& dir : dirs) {
      const RunDirState s = inspect_run_dir(dir, "");
      if (s.state == RunState::foreign && !completed.contains(s.id)) completed[s.id] = dir;
    }
  }

  std::set<fs::path> moving_away;
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    RunDecision& r = d.runs[i];
    if (r.state.state == RunState::done) {
      r.action = RunAction::skip;
      continue;
    }
    const auto it = completed.find(plan.runs[i].id);
    if (it != completed.end() && it->second.filename() != plan.runs[i].name) {
      r.action = RunAction::move;
      r.moved_from = it->second;
      moving_away.insert(it->second);
      continue;
    }
    if (r.state.state != RunState::unfinished) continue;
    if (const std::optional<int> step = resumable_step(root / plan.runs[i].name, plan.runs[i].id)) {
      r.action = RunAction::resume;
      r.resume_step = *step;
    }
  }
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    const RunDirState& s = d.runs[i].state;
    const fs::path dir = root / plan.runs[i].name;
    if (s.state != RunState::foreign || moving_away.contains(dir)) continue;
    d.conflicts.push_back(
        fmt::format("{}: holds a {} run of another config (id {}, this sweep's run has id {})",
                    dir.string(), s.status, s.id, plan.runs[i].id));
  }
  return d;
}

std::optional<int> resumable_step(const fs::path& dir, const std::string& id) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "config.json", ec)) return std::nullopt;
  const std::optional<CheckpointInfo> c = peek_checkpoint(dir);
  if (!c || c->config_id != id) return std::nullopt;
  return c->step;
}

std::string_view to_string(RunAction action) {
  switch (action) {
    case RunAction::skip:
      return "done";
    case RunAction::move:
      return "done (renamed)";
    case RunAction::resume:
      return "to resume";
    case RunAction::run:
      return "to run";
  }
  return "?";
}

}  // namespace wdlab
