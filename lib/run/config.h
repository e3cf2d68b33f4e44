// Run configuration: one JSON object with a fixed schema, assembled from its sections, each of
// which lists its keys with their defaults and one line of documentation and parses and checks
// its own part (config_model.h, config_data.h, config_train.h, config_optim.h). A preset file
// (configs/NAME.json, preset_files.h) overrides part of the defaults under "config", then one of
// its "scales" ("tiny", "small", "base") overrides more, then the user's dotted overrides
// (overrides.h: optim.weight_decay=0.1). Unknown keys and values of the wrong type are errors that
// name the key and what is allowed; parse_run_config then checks ranges and cross-field rules.
//
//   nlohmann::json preset = load_preset("gpt2");               // name or path of a JSON file
//   nlohmann::json cfg = resolve_config(preset, "tiny", {"optim.decay_mode=coupled"});
//   RunConfig run = parse_run_config(cfg);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "run/config_data.h"
#include "run/config_model.h"
#include "run/config_optim.h"
#include "run/config_schema.h"
#include "run/config_train.h"
#include "run/overrides.h"
#include "run/preset_files.h"

namespace wdlab {

struct RunConfig {
  std::string preset;
  std::string scale;
  std::string name;
  uint64_t seed = 0;
  ModelConfig model;  // vocab_size is 0 until the data is known
  DataConfig data;
  TrainConfig train;
  OptimConfig optim;
  nlohmann::json json;  // the resolved config this was parsed from
};

// The sections of the schema in the order `wdlab config --explain` lists them: the top-level
// keys (name, preset, scale, seed), then model, data, train, optim.
const std::vector<const SectionSchema*>& config_sections();

// The schema: every key with its default value (whose JSON type is the key's type).
const nlohmann::json& default_config();

// default_config() <- preset["config"] <- preset["scales"][scale] <- overrides ("a.b=value"),
// then normalised (normalise_optim: decay_scaling is null unless decay is decoupled).
// Also records "preset" and "scale".
nlohmann::json resolve_config(const nlohmann::json& preset, const std::string& scale,
                              const std::vector<std::string>& overrides);

// Typed, range-checked view. Errors name the key and the allowed values.
RunConfig parse_run_config(const nlohmann::json& config);

// Stable id of a resolved config (hex of a 64-bit FNV-1a hash over its canonical dump, ignoring
// "name" and the checkpoint schedule, after normalisation): two runs with the same id train the
// same thing. A run started from a weights file (--init-from) passes the file's SHA-256, which
// enters the hash: it trains something else than the run from the seed's init. Without one the
// id is what it always was.
std::string config_id(const nlohmann::json& config, const std::string& init_sha256 = "");

}  // namespace wdlab
