// The sweep's best configuration by the spec's "metric" and "goal" (default: final validation
// loss, minimized), across every preset: the configuration whose mean over its finished runs is
// lowest (or highest), and its best single run. The report puts it in one line at the top of
// summary.md and marks it in summary.csv (column best_by_metric).
//
//   const BestByMetric best = best_by_metric(aggregate_variants(results), "final_val_loss",
//                                            "minimize");
//   if (best.found()) ...best.line...
#pragma once

#include <string>
#include <vector>

#include "report/aggregate.h"

namespace wdlab {

struct BestByMetric {
  int preset = -1;                 // index into the presets
  int variant = -1;                // index into that preset's variants
  Stat value;                      // the metric over the configuration's finished runs
  const RunResult* run = nullptr;  // its best single run
  double run_value = 0.0;
  std::string line;  // markdown, one line; says so when no finished run has the metric

  bool found() const { return variant >= 0; }
  bool is(size_t preset_index, size_t variant_index) const {
    return found() && static_cast<size_t>(preset) == preset_index &&
           static_cast<size_t>(variant) == variant_index;
  }
};

BestByMetric best_by_metric(const std::vector<PresetVariants>& presets, const std::string& metric,
                            const std::string& goal);

}  // namespace wdlab
