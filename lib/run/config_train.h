// The run config's "train" section: TrainConfig, its keys with defaults and documentation, and
// its parse with every range check. The defaults live in train_schema() only.
#pragma once

#include <nlohmann/json.hpp>

#include "run/config_schema.h"

namespace wdlab {

struct TrainConfig {
  int batch_size{};
  int steps{};
  int log_every{};
  int eval_every{};
  int eval_batches{};
  // When to write a checkpoint (0: never by this rule); neither changes the results, so the
  // config id leaves them out.
  int checkpoint_every{};
  double checkpoint_minutes{};
};

const SectionSchema& train_schema();

// Reads config["train"]; every count must be at least 1.
TrainConfig parse_train_config(const nlohmann::json& config);

}  // namespace wdlab
