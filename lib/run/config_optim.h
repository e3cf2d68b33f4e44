// The run config's "optim" section: OptimConfig, its keys with defaults and documentation, its
// parse with every range check, and the normalisation of keys that have no effect.
// The defaults live in optim_schema() only (OptimizerOptions has none of its own).
//
// optim.decay_scaling only matters with decay_mode=decoupled: otherwise the resolved config
// records it as null, so configs that differ only there have the same config id (a sweep over
// decay_mode x decay_scaling runs each coupled / none configuration once).
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

// Sets optim.decay_scaling to null unless optim.decay_mode is "decoupled" (idempotent).
void normalise_optim(nlohmann::json& config);

// Reads config["optim"]; total_steps (train.steps) is the schedule's length. A null
// decay_scaling is accepted without decoupled decay (and parsed as lr, which nothing reads).
OptimConfig parse_optim_config(const nlohmann::json& config, int total_steps);

}  // namespace wdlab
