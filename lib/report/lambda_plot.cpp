#include "report/lambda_plot.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "report/svg.h"

namespace wdlab {

namespace {

const std::vector<std::string> kOptions = {"decoupled/selective", "decoupled/uniform",
                                           "coupled/selective", "coupled/uniform"};

LinePanel lambda_panel(const PresetVariants& p, Stat Variant::*metric, const std::string& what) {
  LinePanel panel;
  panel.title = p.preset + ": " + what;
  panel.x_label = "λ (optim.weight_decay)";
  panel.y_label = what + " (nats/token)";
  panel.log_x = true;
  // A decoupled λ means another shrink under each decay_scaling (×lr, ×lr², ×lr/lr_peak):
  // each scaling gets a line of its own, named when the preset has more than one.
  auto scaling_of = [](const Variant& v) {
    const nlohmann::json s =
        v.runs.empty() ? nlohmann::json() : v.runs.front()->config_value("optim.decay_scaling");
    return s.is_string() ? s.get<std::string>() : std::string();
  };
  std::map<std::string, std::set<std::string>> scalings;  // option -> its scalings
  for (const Variant& v : p.variants) scalings[option_of(v)].insert(scaling_of(v));
  bool several = false;
  for (const std::string& option : kOptions) {
    for (const std::string& scaling : scalings[option]) {
      // The lowest mean per λ, over the option's configurations at that λ (e.g. several lr).
      std::map<double, const Variant*> at;
      for (const Variant& v : p.variants) {
        if (option_of(v) != option || scaling_of(v) != scaling || (v.*metric).n == 0 ||
            !(v.weight_decay > 0))
          continue;
        auto [it, inserted] = at.emplace(v.weight_decay, &v);
        if (!inserted) {
          several = true;
          if ((v.*metric).mean < (it->second->*metric).mean) it->second = &v;
        }
      }
      if (at.empty()) continue;
      const std::string mode = option.substr(0, option.find('/'));
      const bool named = scalings[option].size() > 1;
      LineSeries s;
      s.name = option_words(option) + (named ? " (decay_scaling=" + scaling + ")" : "");
      const double shade = named && scaling != *scalings[option].begin() ? 0.55 : 1.0;
      s.color = decay_mode_color(mode, (option.ends_with("uniform") ? 0.7 : 1.0) * shade);
      s.dashed = option.ends_with("uniform");
      s.markers = true;
      s.width = 2.2;
      for (const auto& [lambda, v] : at) {
        const Stat& st = v->*metric;
        s.x.push_back(lambda);
        s.y.push_back(st.mean);
        s.err.push_back(st.n > 1 ? st.se : NAN);
      }
      panel.series.push_back(std::move(s));
    }
  }
  for (const Variant& v : p.variants) {
    const Stat& st = v.*metric;
    if (v.decay_mode != "none" || st.n == 0) continue;
    panel.bands.push_back({"no decay", decay_mode_color("none"), st.mean,
                           st.mean - (st.n > 1 ? st.se : 0), st.mean + (st.n > 1 ? st.se : 0)});
    break;
  }
  if (several) panel.note = "several configurations at one λ (e.g. lr): the lowest mean shown";
  return panel;
}

}  // namespace

LineFigure lambda_figure(const SweepResults& results, const std::vector<PresetVariants>& presets) {
  LineFigure fig;
  fig.title = "Validation loss against λ: " + results.plan.name;
  fig.subtitle =
      "mean over seeds with ± 1 standard-error bars; left: final, right: best validation loss; "
      "no decay: horizontal line with its ± se band";
  fig.columns = 2;
  std::set<std::string> shown;  // legend entries, one per series name, in order of appearance
  bool none_shown = false;
  for (const PresetVariants& p : presets) {
    LinePanel final_panel = lambda_panel(p, &Variant::final_val, "final val loss");
    if (final_panel.series.empty()) continue;
    for (const LineSeries& s : final_panel.series) {
      if (shown.insert(s.name).second)
        fig.legend.push_back({s.name, s.color, s.dashed ? "dashed" : "solid"});
    }
    none_shown = none_shown || !final_panel.bands.empty();
    fig.panels.push_back(std::move(final_panel));
    fig.panels.push_back(lambda_panel(p, &Variant::best_val, "best val loss"));
  }
  share_y_range(fig.panels);  // final and best on one scale: the gap between them is overfitting
  if (none_shown) fig.legend.push_back({"no decay ± se", decay_mode_color("none"), "band"});
  return fig;
}

}  // namespace wdlab
