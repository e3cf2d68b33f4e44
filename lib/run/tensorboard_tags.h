// The TensorBoard tag of every number in a metrics.jsonl row: a "section/name" tag groups the
// curves TensorBoard draws side by side (its cards are grouped by the part before the first '/').
//
//   train_loss -> train/loss      z_loss -> train/z_loss        aux_loss -> train/aux_loss
//   val_loss -> val/loss          val_minus_floor -> val/minus_floor
//   lr -> lr                      grad_norm -> grad_norm        grad_norm.<kind> ->
//   grad_norm/<kind> norm.<kind> -> norm/<kind>    norm_decay -> norm_group/decay, norm_no_decay ->
//   norm_group/no_decay update_rel.<kind> -> update_rel/<kind> wd_step -> decay/step_size wd_budget
//   -> decay/budget tokens -> progress/tokens     tokens_per_s -> progress/tokens_per_s diverged
//   (true) -> train/diverged = 1
// Any other key is written with its dots as slashes; "step" is the event's step, not a value;
// a null (a non-finite loss of a diverged step) is left out. A tag is written once per step:
// the training row and the evaluation row of one step both hold "tokens".
//
//   TensorBoardScalars scalars;
//   events.write_scalars(row["step"], scalars.of(row));
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/tensorboard_events.h"

namespace wdlab {

std::string tensorboard_tag(const std::string& metrics_key);
// Every number of a row under its tag.
std::vector<ScalarValue> tensorboard_scalars(const nlohmann::json& metrics_row);

// The same for a run's rows in order, leaving out a tag an earlier row of the same step had.
class TensorBoardScalars {
 public:
  std::vector<ScalarValue> of(const nlohmann::json& metrics_row);

 private:
  int64_t step_ = -1;
  std::set<std::string> written_;  // tags written at step_
};

}  // namespace wdlab
