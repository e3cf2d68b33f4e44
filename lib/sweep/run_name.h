// Readable run directory names, Hydra's override_dirname with a number in front:
//
//   007_preset=gpt2,decay_mode=coupled,weight_decay=0.1,seed=2
//
// Only the keys that vary across the sweep appear, by their last dotted component (the full key
// when two would read the same). Values are short: 1e-5 rather than 1e-05, strings with anything
// outside [A-Za-z0-9._+-] replaced by '_', lists and objects by a short hash.
//
//   name_runs(plan.runs);   // sets every run's name from its index and axes
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweep/plan.h"

namespace wdlab {

std::string short_value(const nlohmann::json& value);
void name_runs(std::vector<PlannedRun>& runs);

}  // namespace wdlab
