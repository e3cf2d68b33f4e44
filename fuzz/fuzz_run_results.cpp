// Fuzz target: what a sweep reads back from its run directories. The same bytes are read as a
// run's metrics.jsonl (the report's curves), as its summary.json (the state that decides whether a
// rerun skips the run, and the report's numbers) and as the sweep's sweep.json (the plan).
#include <sstream>
#include <string>

#include "fuzz_target.h"
#include "report/sweep_results.h"
#include "sweep/plan.h"
#include "sweep/run_state.h"

using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = wdlab::fuzz::text(data, size);

  wdlab::fuzz::expect_clean([&] {
    std::istringstream in(text);
    wdlab::parse_curves(in, "fuzz input");
  });
  wdlab::fuzz::expect_clean([&] { wdlab::summary_state(text, "0123456789abcdef"); });

  // As load_sweep_results reads a run's JSON files: null when unreadable.
  const json parsed = wdlab::parse_result_json(text);
  if (parsed.is_null()) return 0;
  wdlab::fuzz::expect_clean([&] {
    wdlab::RunResult run;
    run.summary = parsed;
    run.config = parsed;
    run.summary_number("final_val_loss");
    run.config_value("optim.decay_mode");
  });
  wdlab::fuzz::expect_clean([&] { wdlab::plan_from_json(parsed, "sweep.json"); });
  return 0;
}
