// Run configuration: one JSON object with a fixed schema. Every key and its default live in
// default_config(); a preset file (configs/NAME.json) overrides part of it under "config", then
// one of its "scales" ("tiny", "small", "base") overrides more, then the user's dotted overrides
// (optim.weight_decay=0.1). Unknown keys and values of the wrong type are errors that name the
// key and what is allowed; parse_run_config then checks ranges and cross-field rules.
//
//   nlohmann::json preset = load_preset("gpt2");               // name or path of a JSON file
//   nlohmann::json cfg = resolve_config(preset, "tiny", {"optim.decay_mode=coupled"});
//   RunConfig run = parse_run_config(cfg);
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/synthetic_language.h"
#include "model/model_config.h"
#include "optim/lr_schedule.h"
#include "optim/optimizer.h"
#include "optim/param_groups.h"

namespace wdlab {

struct DataConfig {
  std::string source = "synthetic";  // "synthetic" | "text"
  std::string path;                  // text: the file to read
  double val_fraction = 0.1;         // text: held-out tail of the file
  SyntheticLanguageOptions synthetic;
  uint64_t language_seed = 1234;
  size_t train_tokens = 0;
  size_t val_tokens = 0;
};

struct TrainConfig {
  int batch_size = 8;
  int steps = 100;
  int log_every = 10;
  int eval_every = 50;
  int eval_batches = 4;
};

struct OptimConfig {
  OptimizerOptions options;
  DecayScope decay_scope = DecayScope::selective;
  std::vector<DecayRule> decay_rules;
  LrSchedule schedule;
  double grad_clip = 1.0;
};

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

// The schema: every key with its default value and type.
const nlohmann::json& default_config();

// Directories searched for presets, in order: $WDLAB_CONFIGS, configs/ next to or above the
// executable, the source tree's configs/.
std::vector<std::filesystem::path> preset_search_path();
// Preset names found on the search path (first occurrence wins), sorted.
std::vector<std::string> list_presets();
// A preset by name (searched) or by path (anything containing '/' or ending in .json). Checks the
// file's form: top-level keys, "config" and every scale against the schema; errors name the file
// and the JSON path.
nlohmann::json load_preset(const std::string& name_or_path);

// default_config() <- preset["config"] <- preset["scales"][scale] <- overrides ("a.b=value").
// Also records "preset" and "scale".
nlohmann::json resolve_config(const nlohmann::json& preset, const std::string& scale,
                              const std::vector<std::string>& overrides);

// Applies one "dotted.key=value" override in place. The value is read as JSON when it parses
// (numbers, true/false, [..], {..}, "quoted"), else as a bare string.
void apply_override(nlohmann::json& config, const std::string& assignment);

// Typed, range-checked view. Errors name the key and the allowed values.
RunConfig parse_run_config(const nlohmann::json& config);

// Stable id of a resolved config (hex of a 64-bit FNV-1a hash over its canonical dump, ignoring
// "name"): two runs with the same id train the same thing.
std::string config_id(const nlohmann::json& config);

}  // namespace wdlab
