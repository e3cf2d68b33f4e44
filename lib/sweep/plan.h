// The expanded sweep: every run with its stable id (config_id of its resolved config), its
// directory name and the overrides that reproduce it. Written as sweep.json at the sweep root,
// read back by the report.
//
//   SweepPlan plan = expand_sweep(spec);                      // expand.h
//   write_file_atomic(root / "sweep.json", plan_to_json(plan).dump(2));
//   SweepPlan again = plan_from_json(read_json(root / "sweep.json"));
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweep/spec.h"

namespace wdlab {

struct PlannedRun {
  int index = 0;
  std::string name;  // directory under the sweep root: NNN_key=value,...
  std::string id;    // config_id of the resolved config
  std::string preset;
  std::string scale;
  // What sets this run apart, in axis order: "preset" first, "seed" last; refs resolved.
  std::vector<Assignment> axes;
  // `wdlab run --preset P --scale S <overrides>` trains exactly this run.
  std::vector<std::string> overrides;

  // The axis value of `key`, or null.
  const nlohmann::json* axis(const std::string& key) const;
};

struct SkippedPreset {
  std::string preset;
  std::string reason;
};

struct SweepPlan {
  std::string name;
  std::string description;
  std::string spec_file;
  nlohmann::json spec;  // the spec as read
  std::vector<std::string> command_line;
  bool reproduce_table = false;
  std::vector<Assignment> baseline;
  double decay_budget = 0.0;
  // The report's best configuration: the lowest (minimize) or highest (maximize) mean of this
  // summary.json number.
  std::string metric = "final_val_loss";
  std::string goal = "minimize";
  std::vector<PlannedRun> runs;
  std::vector<SkippedPreset> skipped;  // presets left out, and why
  int duplicates = 0;                  // points whose config equals an earlier run's
  int scaling_duplicates = 0;  // of those: set decay_scaling without decoupled decay (not saved)
};

nlohmann::json plan_to_json(const SweepPlan& plan);
// Errors name `where` (the sweep.json read).
SweepPlan plan_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace wdlab
