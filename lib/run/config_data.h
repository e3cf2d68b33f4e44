// The run config's "data" section: DataConfig, its keys with defaults and documentation, and its
// parse with every range check. The defaults live in data_schema() only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "data/modular_arithmetic.h"
#include "data/synthetic_language.h"
#include "run/config_schema.h"

namespace wdlab {

struct DataConfig {
  std::string source;  // "synthetic" | "text" | "modular"
  std::string path;    // text: the file to read
  double val_fraction{};
  SyntheticLanguageOptions synthetic;
  uint64_t language_seed{};
  size_t train_tokens{};
  size_t val_tokens{};
  ModularTask modular;  // modular: the task (split seeded by the run seed)
};

const SectionSchema& data_schema();

// Reads config["data"]; the token counts must exceed the model's block_size; modular needs
// block_size kModularBlockSize.
DataConfig parse_data_config(const nlohmann::json& config, int block_size);

}  // namespace wdlab
