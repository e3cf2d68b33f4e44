// Fuzz target: a preset file's text, read and checked as load_preset reads it, then resolved at no
// scale and at each of its scales (at most four) into a parsed RunConfig with its config id, as
// `wdlab run --preset FILE` does; and the published-table row the report reads from it.
#include <string>
#include <vector>

#include "fuzz_target.h"
#include "report/published_table.h"
#include "run/config.h"

using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  json preset;
  if (!wdlab::fuzz::expect_clean([&] {
        preset = wdlab::parse_preset(wdlab::fuzz::text(data, size), "fuzz.json", "fuzz");
      }))
    return 0;

  std::vector<std::string> scales = {""};
  if (preset.contains("scales")) {
    for (const auto& [name, scale] : preset["scales"].items()) {
      if (scales.size() > 4) break;
      scales.push_back(name);
    }
  }
  for (const std::string& scale : scales) {
    wdlab::fuzz::expect_clean([&] {
      const json config = wdlab::resolve_config(preset, scale, {});
      wdlab::parse_run_config(config);
      wdlab::config_id(config);
    });
  }
  wdlab::fuzz::expect_clean([&] { wdlab::published_row(preset); });
  return 0;
}
