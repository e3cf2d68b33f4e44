#include "report/best_by_metric.h"

#include <fmt/format.h>

#include <cmath>

namespace wdlab {

BestByMetric best_by_metric(const std::vector<PresetVariants>& presets, const std::string& metric,
                            const std::string& goal) {
  const bool maximize = goal == "maximize";
  auto better = [&](double a, double b) { return maximize ? a > b : a < b; };
  BestByMetric best;
  for (size_t p = 0; p < presets.size(); ++p) {
    for (size_t i = 0; i < presets[p].variants.size(); ++i) {
      const Variant& v = presets[p].variants[i];
      std::vector<double> values;
      const RunResult* top = nullptr;
      double top_value = 0.0;
      for (const RunResult* r : v.runs) {
        if (r->status != "finished") continue;  // as every other statistic of the report
        const double x = r->summary_number(metric.c_str());
        if (!std::isfinite(x)) continue;
        values.push_back(x);
        if (!top || better(x, top_value)) top = r, top_value = x;
      }
      if (values.empty()) continue;
      const Stat s = summarize(values);
      if (!best.found() || better(s.mean, best.value.mean)) {
        best.preset = static_cast<int>(p), best.variant = static_cast<int>(i);
        best.value = s, best.run = top, best.run_value = top_value;
      }
    }
  }
  const std::string by = fmt::format("{} ({})", metric, maximize ? "maximize" : "minimize");
  if (!best.found()) {
    best.line = fmt::format("**Best by {}:** no finished run reports {} yet.", by, metric);
    return best;
  }
  const Variant& v = presets[best.preset].variants[best.variant];
  best.line = fmt::format(
      "**Best by {}:** {}, {}: {} (mean{} of {} finished run{}); best single run `{}`: {}.", by,
      v.preset, v.label, format_stat_significant(best.value, 4), best.value.n > 1 ? " ± SE" : "",
      best.value.n, best.value.n == 1 ? "" : "s", best.run->plan ? best.run->plan->name : "?",
      fmt::format("{:.4g}", best.run_value));
  return best;
}

}  // namespace wdlab
