#include "report/lambda_plot.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

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
  bool several = false;
  for (const std::string& option : kOptions) {
    // The lowest mean per λ, over the option's configurations at that λ (e.g. several lr).
    std::map<double, const Variant*> at;
    for (const Variant& v : p.variants) {
      if (option_of(v) != option || (v.*metric).n == 0 || !(v.weight_decay > 0)) continue;
      auto [it, inserted] = at.emplace(v.weight_decay, &v);
      if (!inserted) {
        several = true;
        if ((v.*metric).mean < (it->second->*metric).mean) it->second = &v;
      }
    }
    if (at.empty()) continue;
    const std::string mode = option.substr(0, option.find('/'));
    LineSeries s;
    s.name = option_words(option);
    s.color = decay_mode_color(mode, option.ends_with("uniform") ? 0.7 : 1.0);
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
  std::map<std::string, bool> options_shown;
  bool none_shown = false;
  for (const PresetVariants& p : presets) {
    LinePanel final_panel = lambda_panel(p, &Variant::final_val, "final val loss");
    if (final_panel.series.empty()) continue;
    for (const LineSeries& s : final_panel.series) options_shown[s.name] = s.dashed;
    none_shown = none_shown || !final_panel.bands.empty();
    fig.panels.push_back(std::move(final_panel));
    fig.panels.push_back(lambda_panel(p, &Variant::best_val, "best val loss"));
  }
  share_y_range(fig.panels);  // final and best on one scale: the gap between them is overfitting
  for (const std::string& option : kOptions) {
    const std::string name = option_words(option);
    if (!options_shown.contains(name)) continue;
    const std::string mode = option.substr(0, option.find('/'));
    fig.legend.push_back({name, decay_mode_color(mode, options_shown[name] ? 0.7 : 1.0),
                          options_shown[name] ? "dashed" : "solid"});
  }
  if (none_shown) fig.legend.push_back({"no decay ± se", decay_mode_color("none"), "band"});
  return fig;
}

}  // namespace wdlab
