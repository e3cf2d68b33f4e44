// A sweep as the report sees it: the plan from sweep.json and, per planned run, what its
// directory holds (config.json, summary.json, the train and validation curves of metrics.jsonl).
// Runs that never ran or did not complete are kept, with their status, so the report can
// count them.
//
//   SweepResults r = load_sweep_results("results/smoke");
//   for (const RunResult& run : r.runs) if (run.completed()) ...run.summary["final_val_loss"]...
#pragma once

#include <filesystem>
#include <istream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweep/plan.h"

namespace wdlab {

struct Curve {
  std::vector<double> step;
  std::vector<double> value;
};

struct RunResult {
  const PlannedRun* plan = nullptr;
  std::string status;      // finished | diverged | interrupted | unfinished | missing
  nlohmann::json config;   // config.json, or null
  nlohmann::json summary;  // summary.json, or null
  Curve train;             // train_loss at the logged steps
  Curve val;               // val_loss at the evaluated steps
  // Every numeric key of metrics.jsonl ("norm.matrix", "grad_norm", "wd_step", ...) by key, at
  // the steps that logged it. A key older runs did not log is simply absent.
  std::map<std::string, Curve> curves;

  bool completed() const { return status == "finished" || status == "diverged"; }
  // A number from summary.json, NaN when absent.
  double summary_number(const char* key) const;
  // The resolved config value at a dotted key ("optim.decay_mode"), or null.
  nlohmann::json config_value(const std::string& dotted_key) const;
};

// Move-only: runs point into plan.runs.
struct SweepResults {
  SweepResults() = default;
  SweepResults(SweepResults&&) = default;
  SweepResults& operator=(SweepResults&&) = default;
  SweepResults(const SweepResults&) = delete;
  SweepResults& operator=(const SweepResults&) = delete;

  std::filesystem::path root;
  SweepPlan plan;
  std::vector<RunResult> runs;  // parallel to plan.runs
};

// Throws when root holds no sweep.json. Torn or malformed metrics lines are skipped with a
// warning naming the file and line; a summary.json that is not what a run writes makes its run
// "unfinished" (run_state.h), also with a warning.
SweepResults load_sweep_results(const std::filesystem::path& root);

// A result file's JSON (sweep.json, config.json, summary.json), or null when it is torn or not
// what wdlab writes.
nlohmann::json parse_result_json(const std::string& text);

Curve read_curve(const std::filesystem::path& metrics, const std::string& key);
// Every numeric key but "step", one read of the file.
std::map<std::string, Curve> read_curves(const std::filesystem::path& metrics);
// The same on metrics.jsonl's lines read from `in`; `where` names them in warnings about lines
// that are skipped.
std::map<std::string, Curve> parse_curves(std::istream& in, const std::string& where);

}  // namespace wdlab
