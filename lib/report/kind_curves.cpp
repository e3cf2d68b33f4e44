#include "report/kind_curves.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "report/findings.h"
#include "report/loss_curves.h"
#include "report/svg.h"

namespace wdlab {

namespace {

struct MetricInfo {
  const char* title;
  const char* y_label;
  // Curves to show when the runs logged no per-kind key: key and name.
  std::vector<std::pair<std::string, std::string>> fallback;
  const char* total;  // a total shown beside the kinds ("" for none)
};

MetricInfo info_of(const std::string& metric) {
  if (metric == "norm")
    return {"Parameter norms by kind",
            "‖w‖ (L2)",
            {{"norm_decay", "decayed"}, {"norm_no_decay", "not decayed"}},
            ""};
  if (metric == "grad_norm")
    return {"Gradient norms by kind (before clipping)", "‖g‖ (L2)", {}, "grad_norm"};
  WD_CHECK(metric == "update_rel", "unknown per-kind metric '{}'", metric);
  return {"Relative update size by kind", "‖Δw‖ / ‖w‖ per step", {}, ""};
}

// The curves to draw for one configuration: key in metrics.jsonl and name, in kind order.
std::vector<std::pair<std::string, std::string>> keys_of(const Variant& v,
                                                         const std::string& metric,
                                                         const MetricInfo& info) {
  std::vector<std::string> kinds;
  for (const RunResult* r : v.runs) {
    for (const auto& [key, curve] : r->curves) {
      if (key.starts_with(metric + ".") &&
          std::find(kinds.begin(), kinds.end(), key.substr(metric.size() + 1)) == kinds.end())
        kinds.push_back(key.substr(metric.size() + 1));
    }
  }
  const std::vector<std::string>& order = parameter_kinds();
  auto rank = [&](const std::string& k) {
    return std::find(order.begin(), order.end(), k) - order.begin();
  };
  std::stable_sort(kinds.begin(), kinds.end(),
                   [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  std::vector<std::pair<std::string, std::string>> keys;
  for (const std::string& k : kinds) keys.emplace_back(metric + "." + k, k);
  if (keys.empty()) keys = info.fallback;
  if (*info.total) keys.emplace_back(info.total, "all parameters");
  return keys;
}

}  // namespace

const std::vector<std::string>& parameter_kinds() {
  static const std::vector<std::string> kinds = {"matrix",    "embedding", "bias",  "norm_gain",
                                                 "norm_bias", "router",    "expert"};
  return kinds;
}

LineFigure kind_curve_figure(const SweepResults& results, const PresetVariants& preset,
                             const std::string& metric) {
  const PresetFindings findings = preset_findings(preset);
  // A fixed panel order, so the figures of different presets line up.
  std::vector<const Variant*> variants;
  for (const char* option : {"none", "decoupled/selective", "decoupled/uniform",
                             "coupled/selective", "coupled/uniform"}) {
    for (const OptionBest& o : findings.ranking) {
      if (o.option == option) variants.push_back(o.best);
    }
  }
  return kind_curve_figure_of(
      variants, metric,
      fmt::format("{}: {}, {}", info_of(metric).title, preset.preset, results.plan.name),
      "each decay option at its best configuration in the sweep; mean over finished seeds, "
      "shaded: range over seeds; one y scale for all panels");
}

LineFigure kind_curve_figure_of(const std::vector<const Variant*>& variants,
                                const std::string& metric, const std::string& title,
                                const std::string& subtitle) {
  const MetricInfo info = info_of(metric);
  LineFigure fig;
  fig.title = title;
  fig.subtitle = subtitle;
  std::map<std::string, std::string> legend;  // name -> colour
  std::vector<std::string> legend_order;
  bool any_log = false;
  for (const Variant* variant : variants) {
    const Variant& v = *variant;
    LinePanel panel;
    panel.title = describe_variant(v, false);
    panel.x_label = "step";
    panel.y_label = info.y_label;
    for (const auto& [key, name] : keys_of(v, metric, info)) {
      std::vector<const Curve*> curves;
      for (const RunResult* r : v.runs) {
        if (r->status != "finished") continue;
        const auto it = r->curves.find(key);
        if (it != r->curves.end()) curves.push_back(&it->second);
      }
      if (curves.empty()) continue;
      const SeedCurve c = combine_seeds(curves);
      const bool total = name == "all parameters";
      const std::string color = total ? "#222222" : parameter_kind_color(name);
      const bool band = curves.size() > 1;
      panel.series.push_back({name, color, c.step, c.mean, band ? c.lo : std::vector<double>{},
                              band ? c.hi : std::vector<double>{}, total, false,
                              total ? 1.6 : 2.0});
      if (!legend.contains(name)) {
        legend[name] = color;
        legend_order.push_back(name);
      }
    }
    if (panel.series.empty()) continue;
    any_log = any_log || spans_decades(panel);
    fig.panels.push_back(std::move(panel));
  }
  for (LinePanel& p : fig.panels) p.log_y = any_log;
  share_y_range(fig.panels);
  fig.columns = fig.panels.size() >= 3 ? 3 : 2;
  for (const std::string& name : legend_order)
    fig.legend.push_back({name, legend[name], name == "all parameters" ? "dashed" : "solid"});
  return fig;
}

}  // namespace wdlab
