#include "report/loss_curves.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "report/svg.h"

namespace wdlab {

SeedCurve combine_seeds(const std::vector<const Curve*>& curves) {
  std::map<double, std::vector<double>> at;
  for (const Curve* c : curves) {
    for (size_t i = 0; i < c->step.size() && i < c->value.size(); ++i)
      at[c->step[i]].push_back(c->value[i]);
  }
  SeedCurve out;
  for (const auto& [step, values] : at) {
    double sum = 0;
    for (double v : values) sum += v;
    out.step.push_back(step);
    out.mean.push_back(sum / static_cast<double>(values.size()));
    out.lo.push_back(*std::min_element(values.begin(), values.end()));
    out.hi.push_back(*std::max_element(values.begin(), values.end()));
  }
  return out;
}

std::map<std::string, double> lambda_shades(const std::vector<PresetVariants>& presets) {
  std::map<std::string, std::set<double>> by_mode;
  for (const PresetVariants& p : presets) {
    for (const Variant& v : p.variants) {
      if (std::isfinite(v.weight_decay)) by_mode[v.decay_mode].insert(v.weight_decay);
    }
  }
  std::map<std::string, double> shade;
  for (const auto& [mode, lambdas] : by_mode) {
    size_t i = 0;
    for (double l : lambdas) {
      // Light for the smallest λ, dark for the largest; a lone λ gets the dark end.
      shade[mode + "|" + fmt::format("{}", l)] =
          lambdas.size() > 1 ? 0.25 + 0.75 * static_cast<double>(i) / (lambdas.size() - 1) : 1.0;
      ++i;
    }
  }
  return shade;
}

bool has_axis(const Variant& v, const std::string& key) {
  for (const Assignment& a : v.axes) {
    if (a.key == key) return true;
  }
  return false;
}

// Colour: decay mode, darker for larger λ; decoupled runs with decay rules on top of their scope
// (e.g. norm gains exempt) get a hue of their own, as they would otherwise look like the plain
// scope's run at the same λ.
std::string variant_color(const Variant& v, const std::map<std::string, double>& shades) {
  const auto it = shades.find(v.decay_mode + "|" + fmt::format("{}", v.weight_decay));
  const std::string mode = v.decay_mode == "decoupled" && has_axis(v, "optim.decay_rules")
                               ? "decoupled+rules"
                               : v.decay_mode;
  return decay_mode_color(mode, it == shades.end() ? 1.0 : it->second);
}

LineFigure loss_curve_figure(const SweepResults& results,
                             const std::vector<PresetVariants>& presets) {
  LineFigure fig;
  fig.title = "Loss curves: " + results.plan.name;
  fig.subtitle =
      "mean over seeds; thick: validation (dots at evaluations), thin and faint: training; "
      "colour: decay mode (darker: larger λ; green: decoupled with decay rules); dashed: uniform "
      "scope; shaded: range over seeds";
  fig.columns = presets.size() >= 3 ? 3 : (presets.size() == 1 ? 1 : 2);
  const std::map<std::string, double> shades = lambda_shades(presets);

  // One legend entry per configuration as worded, in order of first appearance.
  std::vector<std::string> labels;
  std::map<std::string, LegendEntry> legend_of;
  for (const PresetVariants& p : presets) {
    std::vector<const Variant*> shown;
    for (const Variant& v : p.variants) shown.push_back(&v);
    std::stable_sort(shown.begin(), shown.end(), [](const Variant* a, const Variant* b) {
      const double x = a->final_val.n ? a->final_val.mean : INFINITY;
      const double y = b->final_val.n ? b->final_val.mean : INFINITY;
      return x < y;
    });
    const size_t total = shown.size();
    if (shown.size() > kMaxCurvesPerPanel) shown.resize(kMaxCurvesPerPanel);
    // Back to sweep order (variants live in one vector, in sweep order).
    std::sort(shown.begin(), shown.end());

    LinePanel panel;
    panel.title = p.preset;
    panel.x_label = "step";
    panel.y_label = "loss (nats/token)";
    if (total > shown.size())
      panel.note = fmt::format("the {} of {} configurations with the lowest final validation loss",
                               shown.size(), total);
    double first_val = -INFINITY;
    for (const Variant* v : shown) {
      const std::string name = describe_variant(*v, has_axis(*v, "optim.lr"));
      const std::string color = variant_color(*v, shades);
      const bool dashed = v->decay_scope == "uniform" && v->decay_mode != "none";
      if (!legend_of.contains(name)) {
        legend_of[name] = {name, color, dashed ? "dashed" : "solid"};
        labels.push_back(name);
      }
      // Finished seeds make the curve; a configuration whose seeds all diverged shows those.
      std::vector<const Curve*> val, train;
      for (int pass = 0; pass < 2 && val.empty(); ++pass) {
        for (const RunResult* r : v->runs) {
          if (r->status == (pass == 0 ? "finished" : "diverged")) {
            val.push_back(&r->val);
            train.push_back(&r->train);
          }
        }
      }
      for (const RunResult* r : v->runs) {
        const double floor = r->summary_number("window_floor");
        if (std::isfinite(floor) && !panel.reference_y) {
          panel.reference_y = floor;
          panel.reference_label = fmt::format("entropy floor {:.3f}", floor);
        }
      }
      const bool band = val.size() > 1;
      const SeedCurve vc = combine_seeds(val), tc = combine_seeds(train);
      if (!vc.mean.empty()) first_val = std::max(first_val, vc.mean.front());
      LineSeries vs{v->label + " · validation",
                    color,
                    vc.step,
                    vc.mean,
                    band ? vc.lo : std::vector<double>{},
                    band ? vc.hi : std::vector<double>{},
                    dashed,
                    true,
                    2.4};
      LineSeries ts{v->label + " · train", color, tc.step, tc.mean, {}, {}, dashed, false, 1.1};
      ts.opacity = 0.45;
      panel.series.push_back(std::move(ts));
      panel.series.push_back(std::move(vs));
    }
    // Keep a diverging curve from flattening the others: the loss at initialisation is the
    // top of the interesting range.
    if (std::isfinite(first_val)) panel.y_max = first_val * 1.08;
    panel.log_y = spans_decades(panel);
    fig.panels.push_back(std::move(panel));
  }
  bool bands = false, floors = false;
  for (const LinePanel& p : fig.panels) {
    floors = floors || p.reference_y.has_value();
    for (const LineSeries& s : p.series) bands = bands || !s.lo.empty();
  }
  for (const std::string& label : labels) fig.legend.push_back(legend_of[label]);
  fig.legend.push_back({"validation", "#555555", "solid", 2.4, 1.0});
  fig.legend.push_back({"train", "#555555", "solid", 1.1, 0.45});
  if (bands) fig.legend.push_back({"range over seeds", "#555555", "band"});
  if (floors) fig.legend.push_back({"entropy floor of the data", "#555555", "dotted"});
  return fig;
}

}  // namespace wdlab
