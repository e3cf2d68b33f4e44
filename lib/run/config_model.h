// The run config's "model" section: its keys with defaults and documentation, and its parse into
// ModelConfig (model/model_config.h), whose validate() holds the range checks.
#pragma once

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "run/config_schema.h"

namespace wdlab {

const SectionSchema& model_schema();

// Reads config["model"]. vocab_size stays 0 (the trainer sets it from the data); every other
// field is checked by validate().
ModelConfig parse_model_config(const nlohmann::json& config);

}  // namespace wdlab
