#include "report/lr_wd_heatmap.h"

#include <cmath>
#include <map>
#include <set>

#include "sweep/run_name.h"

namespace wdlab {
using nlohmann::json;

namespace {

constexpr const char* kLr = "optim.lr";
constexpr const char* kLambda = "optim.weight_decay";

double number_of(const Variant& v, const char* key) {
  for (const Assignment& a : v.axes) {
    if (a.key == key && a.value.is_number()) return a.value.get<double>();
  }
  return NAN;
}

// The panel a variant belongs to: every axis except lr and λ.
std::string panel_of(const Variant& v) {
  std::string s;
  for (const Assignment& a : v.axes) {
    if (a.key == kLr || a.key == kLambda) continue;
    const size_t dot = a.key.rfind('.');
    s += (s.empty() ? "" : ", ") + (dot == std::string::npos ? a.key : a.key.substr(dot + 1)) +
         "=" + short_value(a.value);
  }
  return s.empty() ? "all" : s;
}

}  // namespace

std::vector<std::pair<std::string, HeatmapFigure>> lr_wd_heatmaps(
    const std::vector<PresetVariants>& presets) {
  std::vector<std::pair<std::string, HeatmapFigure>> out;
  for (const PresetVariants& p : presets) {
    std::set<double> lrs, lambdas;
    for (const Variant& v : p.variants) {
      const double lr = number_of(v, kLr), wd = number_of(v, kLambda);
      if (std::isfinite(lr) && std::isfinite(wd)) lrs.insert(lr), lambdas.insert(wd);
    }
    if (lrs.size() < 2 || lambdas.size() < 2) continue;

    std::vector<std::string> panel_names;
    std::map<std::string, std::vector<const Variant*>> panels;
    for (const Variant& v : p.variants) {
      if (!std::isfinite(number_of(v, kLr)) || !std::isfinite(number_of(v, kLambda))) continue;
      const std::string name = panel_of(v);
      if (!panels.contains(name)) panel_names.push_back(name);
      panels[name].push_back(&v);
    }
    HeatmapFigure fig;
    fig.title = p.preset + ": final validation loss over learning rate × λ";
    fig.subtitle =
        "Loshchilov & Hutter Fig. 2: coupled L2 should show a diagonal basin, decoupled decay an "
        "axis-aligned one. Outlined: lowest in each panel.";
    fig.value_label = "final val loss";
    for (const std::string& name : panel_names) {
      // Each panel has its own λ values (coupled and decoupled λ live on different scales).
      std::set<double> xs, ys;
      for (const Variant* v : panels[name])
        xs.insert(number_of(*v, kLambda)), ys.insert(number_of(*v, kLr));
      const std::vector<double> x(xs.begin(), xs.end()), y(ys.begin(), ys.end());
      HeatmapPanel hp;
      hp.title = name;
      hp.x_label = "weight decay λ";
      hp.y_label = "peak learning rate";
      for (double v : x) hp.x_ticks.push_back(short_value(json(v)));
      for (double v : y) hp.y_ticks.push_back(short_value(json(v)));
      hp.values.assign(y.size(), std::vector<double>(x.size(), NAN));
      hp.marks.assign(y.size(), std::vector<std::string>(x.size(), "not run"));
      for (const Variant* v : panels[name]) {
        const size_t xi = std::lower_bound(x.begin(), x.end(), number_of(*v, kLambda)) - x.begin();
        const size_t yi = std::lower_bound(y.begin(), y.end(), number_of(*v, kLr)) - y.begin();
        if (v->final_val.n > 0) {
          hp.values[yi][xi] = v->final_val.mean;
        } else if (v->diverged > 0) {
          hp.marks[yi][xi] = "diverged";
        } else {
          hp.marks[yi][xi] = "missing";
        }
      }
      fig.panels.push_back(std::move(hp));
    }
    out.emplace_back(p.preset, std::move(fig));
  }
  return out;
}

}  // namespace wdlab
