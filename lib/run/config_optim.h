// The run config's "optim" section: OptimConfig, its keys with defaults and documentation, its
// parse with every range check. The defaults live in optim_schema() only (OptimizerOptions has
// none of its own).
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "optim/lr_schedule.h"
#include "optim/optimizer.h"
#include "optim/param_groups.h"
#include "run/config_schema.h"

namespace wdlab {

struct OptimConfig {
  OptimizerOptions options;
  DecayScope decay_scope{};
  std::vector<DecayRule> decay_rules;
  LrSchedule schedule;
  double grad_clip{};
};

const SectionSchema& optim_schema();

// Reads config["optim"]; total_steps (train.steps) is the schedule's length.
OptimConfig parse_optim_config(const nlohmann::json& config, int total_steps);

}  // namespace wdlab
