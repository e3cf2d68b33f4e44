// The published weight-decay table, one row per preset, read from each preset's
// published.weight_decay_table (schema in configs/README.md): the λ the commonly quoted table
// gives (docs/weight_decay.md#the-commonly-quoted-table), what the primary sources say, how the
// decay is applied, which tensors, the source and the verdict (confirmed / contradicted /
// unsourced). A preset without the block gets a row saying so.
//
//   std::vector<PublishedRow> rows = published_table();        // every preset, sorted by name
//   std::printf("%s", to_markdown(published_text_table(rows)).c_str());
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/text_table.h"

namespace wdlab {

struct PublishedRow {
  std::string preset;
  bool present = false;  // false: the preset has no weight_decay_table (see `missing`)
  std::string missing;
  std::optional<double> seed_value;
  std::string seed_text;  // as stated, also when not a number
  std::string primary;
  std::string applied;  // decoupled_lr | decoupled_schedule | lr_squared | coupled | unknown
  std::string tensors;
  std::string source;
  std::string verdict;
};

PublishedRow published_row(const nlohmann::json& preset);
std::vector<PublishedRow> published_table();

// "decoupled_lr" -> "decoupled ×lr", ...
std::string applied_label(const std::string& applied);

TextTable published_text_table(const std::vector<PublishedRow>& rows);
nlohmann::json published_json(const std::vector<PublishedRow>& rows);

}  // namespace wdlab
