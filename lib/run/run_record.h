// run.json: where a run came from, beside config.json (what it trains). config.json is written
// once and defines the run (its config id); run.json records each invocation that worked on it
// (the first, and every `--resume`, which may be another binary on another host) and is
// rewritten when one ends. Nothing in it enters the config id, so provenance never makes two
// runs of the same config differ.
//
//   {"config_id": "...", "init_from": {"path": "/abs/w.safetensors", "sha256": "..."} | null,
//    "started": "2026-12-01T18:00:00Z", "ended": "..." | null, "status": "finished",
//    "invocations": [{"argv": [...], "executable": "...", "cwd": "...", "host": "...",
//                     "threads": 1, "wdlab_version": "0.1.0", "git_commit": "...",
//                     "git_dirty": false, "start": "...", "end": "...", "from_step": 0,
//                     "status": "finished"}]}
//
// Times are UTC, ISO 8601, to the second. "status" is "running" until the invocation ends (a
// run killed with SIGKILL keeps it).
//
//   RunRecord record(argv, threads);
//   record.begin(run_dir, id, init_from, /*from_step=*/0);
//   ...
//   record.end("finished");
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wdlab {

inline constexpr const char* kRunRecordFile = "run.json";

class RunRecord {
 public:
  // This invocation: its command line and thread count, and (taken now) the start time, working
  // directory, host, executable and the git state it was built from.
  RunRecord(std::vector<std::string> argv, int threads);

  // Writes <run_dir>/run.json. A resumed run (from_step > 0) keeps the earlier invocations of
  // the run.json there, when it can be read.
  void begin(const std::filesystem::path& run_dir, const std::string& config_id,
             const nlohmann::json& init_from, int from_step);
  // Records the end time and the status, and rewrites run.json.
  void end(const std::string& status);

  const nlohmann::json& record() const { return record_; }

 private:
  nlohmann::json invocation_;
  nlohmann::json record_;
  std::filesystem::path file_;
};

// Now, as "2026-12-01T18:00:00Z".
std::string utc_timestamp();

}  // namespace wdlab
