#include "report/aggregate.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "sweep/spec.h"

namespace wdlab {
using nlohmann::json;

namespace {

std::string last_component(const std::string& key) {
  const size_t dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::string signature(const std::vector<Assignment>& axes) {
  std::string s;
  for (const Assignment& a : axes) s += a.key + "=" + a.value.dump() + ";";
  return s;
}

Stat stat_of(const Variant& v, const std::string& key) {
  std::vector<double> values;
  for (const RunResult* r : v.runs) {
    if (r->status != "finished") continue;
    const double x = r->summary_number(key.c_str());
    if (std::isfinite(x)) values.push_back(x);
  }
  return summarize(values);
}

// The per-kind keys ("norm.matrix") the finished runs' summaries hold, by kind.
std::vector<std::string> kinds_in_summaries(const Variant& v, const std::string& prefix) {
  std::vector<std::string> kinds;
  for (const RunResult* r : v.runs) {
    if (r->status != "finished" || !r->summary.is_object()) continue;
    for (auto it = r->summary.begin(); it != r->summary.end(); ++it) {
      const std::string& k = it.key();
      if (k.starts_with(prefix) && it->is_number() &&
          std::find(kinds.begin(), kinds.end(), k.substr(prefix.size())) == kinds.end())
        kinds.push_back(k.substr(prefix.size()));
    }
  }
  return kinds;
}

// Does `b` serve as the baseline of `v`: its config matches the baseline assignments, and it
// agrees with `v` on every axis the baseline does not name?
bool is_baseline_of(const Variant& b, const Variant& v, const std::vector<Assignment>& baseline) {
  if (b.runs.empty()) return false;
  for (const Assignment& a : baseline) {
    if (b.runs.front()->config_value(a.key) != a.value) return false;
  }
  auto named = [&](const std::string& key) {
    for (const Assignment& a : baseline) {
      if (a.key == key) return true;
    }
    return false;
  };
  std::map<std::string, json> bv, vv;
  for (const Assignment& a : b.axes) {
    if (!named(a.key)) bv[a.key] = a.value;
  }
  for (const Assignment& a : v.axes) {
    if (!named(a.key)) vv[a.key] = a.value;
  }
  return bv == vv;
}

}  // namespace

std::string variant_label(const std::vector<Assignment>& axes) {
  std::string s;
  for (const Assignment& a : axes) {
    s += (s.empty() ? "" : ", ") + last_component(a.key) + "=" +
         (a.ref.empty() ? override_text(a.value) : a.ref);
  }
  return s.empty() ? "base" : s;
}

std::string option_of(const Variant& v) {
  if (v.decay_mode == "none") return "none";
  std::string option = v.decay_mode + "/" + v.decay_scope;
  // Rules on top of the scope make another option: "uniform except norm_gain".
  const nlohmann::json rules =
      v.runs.empty() ? nlohmann::json() : v.runs.front()->config_value("optim.decay_rules");
  if (rules.is_array()) {
    for (const nlohmann::json& r : rules) {
      const std::string what =
          r.contains("kind") && r["kind"].is_string()
              ? r["kind"].get<std::string>()
              : (r.contains("name") && r["name"].is_string() ? r["name"].get<std::string>()
                                                             : std::string("?"));
      const bool decay = r.contains("decay") && r["decay"].is_boolean() && r["decay"].get<bool>();
      option += (decay ? " plus " : " except ") + what;
    }
  }
  return option;
}

std::string option_words(const std::string& option) {
  if (option == "none") return "no decay";
  const size_t slash = option.find('/');
  const std::string mode = option.substr(0, slash);
  const std::string scope = slash == std::string::npos ? "" : " " + option.substr(slash + 1);
  return (mode == "coupled" ? "coupled L2" : mode) + scope;
}

std::string short_number(double x) {
  return fmt::format("{:.3g}", x);
}

std::string describe_variant(const Variant& v, bool with_lr, bool with_scope) {
  std::string s = option_words(with_scope ? option_of(v) : v.decay_mode);
  if (v.decay_mode != "none" && std::isfinite(v.weight_decay)) {
    s += " λ=" + short_number(v.weight_decay);
    for (const Assignment& a : v.axes) {
      if (a.key == "optim.weight_decay" && !a.ref.empty()) s += " (" + a.ref + ")";
    }
  }
  if (with_lr && std::isfinite(v.lr)) s += ", lr=" + short_number(v.lr);
  for (const Assignment& a : v.axes) {
    if (a.key == "optim.decay_mode" || a.key == "optim.decay_scope" ||
        a.key == "optim.weight_decay" || a.key == "optim.lr")
      continue;
    if (a.key == "optim.decay_rules" && with_scope) continue;  // option_of names the rules
    s += ", " + last_component(a.key) + "=" + override_text(a.value);
  }
  return s;
}

std::vector<PresetVariants> aggregate_variants(const SweepResults& results) {
  std::vector<PresetVariants> out;
  std::map<std::string, size_t> preset_index;
  std::map<std::pair<std::string, std::string>, size_t> variant_index;
  for (const RunResult& run : results.runs) {
    const PlannedRun& p = *run.plan;
    if (!preset_index.contains(p.preset)) {
      preset_index[p.preset] = out.size();
      out.push_back({p.preset, {}, -1});
    }
    PresetVariants& group = out[preset_index[p.preset]];
    std::vector<Assignment> axes;
    for (const Assignment& a : p.axes) {
      if (a.key != "preset" && a.key != "seed") axes.push_back(a);
    }
    const auto key = std::make_pair(p.preset, signature(axes));
    if (!variant_index.contains(key)) {
      variant_index[key] = group.variants.size();
      Variant v;
      v.preset = p.preset;
      v.axes = axes;
      v.label = variant_label(axes);
      group.variants.push_back(std::move(v));
    }
    Variant& v = group.variants[variant_index[key]];
    v.runs.push_back(&run);
    if (run.status == "finished") {
      ++v.finished;
    } else if (run.status == "diverged") {
      ++v.diverged;
    } else {
      ++v.incomplete;
    }
  }

  for (PresetVariants& group : out) {
    for (Variant& v : group.variants) {
      v.final_val = stat_of(v, "final_val_loss");
      v.best_val = stat_of(v, "best_val_loss");
      v.val_minus_floor = stat_of(v, "final_val_minus_floor");
      v.final_train = stat_of(v, "final_train_loss");
      v.best_step = stat_of(v, "best_val_step");
      v.norm_decay = stat_of(v, "norm_decay");
      v.norm_no_decay = stat_of(v, "norm_no_decay");
      for (const std::string& kind : kinds_in_summaries(v, "norm."))
        v.kind_norms[kind] = stat_of(v, "norm." + kind);
      for (const RunResult* r : v.runs) {
        if (!r->config.is_object()) continue;
        const json wd = r->config_value("optim.weight_decay");
        const json lr = r->config_value("optim.lr");
        const json mode = r->config_value("optim.decay_mode");
        const json scope = r->config_value("optim.decay_scope");
        if (wd.is_number()) v.weight_decay = wd.get<double>();
        if (lr.is_number()) v.lr = lr.get<double>();
        if (mode.is_string()) v.decay_mode = mode.get<std::string>();
        if (scope.is_string()) v.decay_scope = scope.get<std::string>();
        break;
      }
      // No run has a config yet: what the sweep set is the best guess.
      for (const Assignment& a : v.axes) {
        if (a.key == "optim.decay_mode" && v.decay_mode.empty() && a.value.is_string())
          v.decay_mode = a.value.get<std::string>();
        if (a.key == "optim.decay_scope" && v.decay_scope.empty() && a.value.is_string())
          v.decay_scope = a.value.get<std::string>();
        if (a.key == "optim.weight_decay" && std::isnan(v.weight_decay) && a.value.is_number())
          v.weight_decay = a.value.get<double>();
        if (a.key == "optim.lr" && std::isnan(v.lr) && a.value.is_number())
          v.lr = a.value.get<double>();
      }
      // A decay budget exists only for decoupled decay; older coupled summaries logged Σ lr_t λ.
      if (v.decay_mode == "decoupled") v.decay_budget = stat_of(v, "decay_budget");
    }
    for (size_t i = 0; i < group.variants.size(); ++i) {
      Variant& v = group.variants[i];
      if (v.final_val.n > 0 &&
          (group.best < 0 || v.final_val.mean < group.variants[group.best].final_val.mean))
        group.best = static_cast<int>(i);
      for (size_t j = 0; j < group.variants.size(); ++j) {
        if (is_baseline_of(group.variants[j], v, results.plan.baseline)) {
          v.baseline = static_cast<int>(j);
          break;
        }
      }
      if (v.baseline >= 0 && static_cast<size_t>(v.baseline) != i && v.final_val.n > 0 &&
          group.variants[v.baseline].final_val.n > 0)
        v.vs_baseline = difference(v.final_val, group.variants[v.baseline].final_val);
    }
  }
  return out;
}

}  // namespace wdlab
