#include "run/config_train.h"

#include <cmath>

namespace wdlab {
using nlohmann::json;

const SectionSchema& train_schema() {
  static const SectionSchema schema{
      "train",
      {
          {"batch_size", 8, "sequences per step (split between --threads)"},
          {"steps", 300, "optimizer steps; also the length of the lr schedule"},
          {"log_every", 10, "steps between training-loss lines in metrics.jsonl"},
          {"eval_every", 50, "steps between validation evaluations (and at the last step)"},
          {"eval_batches", 8, "batches per validation evaluation"},
          {"checkpoint_every", 0,
           "steps between checkpoints in the run directory (0: none by step count); "
           "`wdlab run --resume DIR` continues from the last one bit for bit"},
          {"checkpoint_minutes", 10.0,
           "minutes of training between checkpoints (0: none by time); SIGINT and SIGTERM "
           "always write one before the run stops"},
      }};
  return schema;
}

TrainConfig parse_train_config(const json& config) {
  const SectionReader t(config, "train");
  TrainConfig r;
  auto at_least_one = [&](const char* key) {
    const int v = t.get<int>(key);
    WD_CHECK(v >= 1, "{}: must be at least 1, got {}", t.dotted(key), v);
    return v;
  };
  r.batch_size = at_least_one("batch_size");
  r.steps = at_least_one("steps");
  r.log_every = at_least_one("log_every");
  r.eval_every = at_least_one("eval_every");
  r.eval_batches = at_least_one("eval_batches");
  r.checkpoint_every = t.get<int>("checkpoint_every");
  WD_CHECK(r.checkpoint_every >= 0, "{}: must be >= 0 (0: off), got {}",
           t.dotted("checkpoint_every"), r.checkpoint_every);
  r.checkpoint_minutes = t.get<double>("checkpoint_minutes");
  WD_CHECK(r.checkpoint_minutes >= 0 && std::isfinite(r.checkpoint_minutes),
           "{}: must be finite and >= 0 (0: off), got {}", t.dotted("checkpoint_minutes"),
           r.checkpoint_minutes);
  return r;
}

}  // namespace wdlab
