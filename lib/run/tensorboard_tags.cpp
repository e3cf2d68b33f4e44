#include "run/tensorboard_tags.h"

#include <algorithm>
#include <map>

namespace wdlab {

std::string tensorboard_tag(const std::string& key) {
  static const std::map<std::string, std::string> renamed = {
      {"train_loss", "train/loss"},       {"z_loss", "train/z_loss"},
      {"aux_loss", "train/aux_loss"},     {"diverged", "train/diverged"},
      {"val_loss", "val/loss"},           {"val_minus_floor", "val/minus_floor"},
      {"norm_decay", "norm_group/decay"}, {"norm_no_decay", "norm_group/no_decay"},
      {"wd_step", "decay/step_size"},     {"wd_budget", "decay/budget"},
      {"tokens", "progress/tokens"},      {"tokens_per_s", "progress/tokens_per_s"},
      {"time_s", "progress/time_s"},
  };
  if (const auto it = renamed.find(key); it != renamed.end()) return it->second;
  std::string tag = key;  // lr, grad_norm, norm.<kind>, grad_norm.<kind>, update_rel.<kind>
  std::replace(tag.begin(), tag.end(), '.', '/');
  return tag;
}

std::vector<ScalarValue> tensorboard_scalars(const nlohmann::json& row) {
  std::vector<ScalarValue> values;
  for (auto it = row.begin(); it != row.end(); ++it) {
    if (it.key() == "step") continue;
    if (it.value().is_number()) {
      values.push_back({tensorboard_tag(it.key()), it.value().get<float>()});
    } else if (it.value().is_boolean()) {
      values.push_back({tensorboard_tag(it.key()), it.value().get<bool>() ? 1.0f : 0.0f});
    }
  }
  return values;
}

std::vector<ScalarValue> TensorBoardScalars::of(const nlohmann::json& row) {
  const int64_t step = row.at("step").get<int64_t>();
  if (step != step_) step_ = step, written_.clear();
  std::vector<ScalarValue> values = tensorboard_scalars(row);
  std::erase_if(values, [&](const ScalarValue& v) { return !written_.insert(v.tag).second; });
  return values;
}

}  // namespace wdlab
