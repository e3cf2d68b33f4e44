// What a run directory holds, which decides whether a sweep runs it (again). summary.json is
// the last file a run writes, atomically, so it is the single mark of a completed run:
//
//   done        summary.json with status finished or diverged and the expected config id
//   foreign     a completed run of another config (the spec or overrides changed)
//   unfinished  anything else: interrupted, killed before its summary, an unreadable summary or
//               one whose values are not what a run writes (a number that is a string: never
//               averaged, the run is redone)
//   missing     no directory
//
//   if (inspect_run_dir(root / run.name, run.id).state != RunState::done) ...run it...
#pragma once

#include <filesystem>
#include <string>

namespace wdlab {

enum class RunState { missing, unfinished, done, foreign };

struct RunDirState {
  RunState state = RunState::missing;
  std::string status;  // summary.json's status, if readable
  std::string id;      // summary.json's config_id, if readable
  std::string damage;  // why a readable summary.json does not count ("" if it is well formed)
};

RunDirState inspect_run_dir(const std::filesystem::path& dir, const std::string& expected_id);
// The state a run directory whose summary.json holds `summary_text` is in (never missing).
RunDirState summary_state(const std::string& summary_text, const std::string& expected_id);

std::string_view to_string(RunState state);

}  // namespace wdlab
