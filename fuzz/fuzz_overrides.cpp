// Fuzz target: command-line overrides. Each input line is one "dotted.key=value" argument, applied
// to the gpt2 preset as `wdlab run` applies them (resolved, parsed, given its config id) and, as
// `wdlab sweep` reads them (key=v1,v2 axes), on top of the smoke sweep's spec.
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_target.h"
#include "run/config.h"
#include "sweep/spec.h"

using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const json preset = wdlab::load_preset("gpt2");
  static const wdlab::SweepSpec spec =
      wdlab::load_sweep_spec(WDLAB_SOURCE_DIR "/configs/sweeps/smoke.json");

  std::vector<std::string> overrides;
  std::istringstream lines(wdlab::fuzz::text(data, size));
  for (std::string line; std::getline(lines, line);) overrides.push_back(line);

  wdlab::fuzz::expect_clean([&] {
    const json config = wdlab::resolve_config(preset, "tiny", overrides);
    wdlab::parse_run_config(config);
    wdlab::config_id(config);
  });
  wdlab::fuzz::expect_clean([&] {
    wdlab::SweepSpec s = spec;
    wdlab::apply_command_line(s, overrides);
  });
  return 0;
}
