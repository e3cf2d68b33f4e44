#include "report/headline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "run/config.h"
#include "sweep/references.h"

namespace wdlab {

namespace {

const Assignment* lambda_axis(const Variant& v) {
  for (const Assignment& a : v.axes) {
    if (a.key == "optim.weight_decay") return &a;
  }
  return nullptr;
}

}  // namespace

HeadlineCell headline_cell(const PresetVariants& preset, const std::string& ref) {
  HeadlineCell cell;
  // The best variant per option; "none" counts at every λ.
  std::map<std::string, const Variant*> best;
  std::map<std::string, double> lambdas;
  for (const Variant& v : preset.variants) {
    const Assignment* lambda = lambda_axis(v);
    const bool at_ref = lambda && lambda->ref == ref;
    if (!(at_ref || v.decay_mode == "none")) continue;
    cell.runs += static_cast<int>(v.runs.size());
    cell.completed += v.finished + v.diverged;
    if (at_ref) {
      cell.lambda = v.weight_decay;
      lambdas[v.decay_mode] = v.weight_decay;
    }
    if (v.final_val.n == 0) continue;
    const std::string option = option_of(v);
    if (!best.contains(option) || v.final_val.mean < best[option]->final_val.mean)
      best[option] = &v;
  }
  std::set<double> distinct;
  for (const auto& [mode, l] : lambdas) distinct.insert(l);
  if (distinct.size() > 1) {
    for (const auto& [mode, l] : lambdas)
      cell.lambda_by_mode +=
          fmt::format("{}{} {}", cell.lambda_by_mode.empty() ? "" : ", ", mode, l);
  }
  bool any_at_ref = false;
  for (const auto& [option, v] : best) any_at_ref = any_at_ref || option != "none";
  if (!any_at_ref) return cell;
  std::vector<std::pair<std::string, const Variant*>> ranked(best.begin(), best.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second->final_val.mean < b.second->final_val.mean;
  });
  cell.measured = true;
  cell.winner = ranked[0].first;
  cell.winner_val = ranked[0].second->final_val;
  if (ranked.size() > 1) {
    cell.runner_up = ranked[1].first;
    cell.margin = difference(ranked[1].second->final_val, ranked[0].second->final_val);
  }
  return cell;
}

namespace {

std::string config_string(const Variant& v, const char* key) {
  if (v.runs.empty()) return "";
  const nlohmann::json j = v.runs.front()->config_value(key);
  return j.is_string() ? j.get<std::string>() : "";
}

double config_number(const Variant& v, const char* key) {
  if (v.runs.empty()) return NAN;
  const nlohmann::json j = v.runs.front()->config_value(key);
  return j.is_number() ? j.get<double>() : NAN;
}

bool at_reference(const Variant& v, const std::string& ref) {
  const Assignment* lambda = lambda_axis(v);
  return lambda && lambda->ref == ref;
}

// The variant with the lowest mean final validation loss among those `keep` accepts.
template <typename Keep>
const Variant* best_of(const PresetVariants& p, Keep keep) {
  const Variant* best = nullptr;
  for (const Variant& v : p.variants) {
    if (v.final_val.n == 0 || !keep(v)) continue;
    if (!best || v.final_val.mean < best->final_val.mean) best = &v;
  }
  return best;
}

// "+0.37 ± 0.01" (positive: `other` is worse than the recipe), or why there is none.
std::string versus(const Variant* recipe, const Variant* other, const std::string& what) {
  if (!recipe || !other) return "not in this sweep";
  const Difference d = difference(other->final_val, recipe->final_val);
  std::string s = what.empty() ? "" : what + ": ";
  s += format_difference(d, 2);
  if (!d.noise_known || d.within_noise) return s;
  return s + (d.delta > 0 ? " (recipe better)" : " (recipe worse)");
}

}  // namespace

TextTable headline_table(const SweepResults& results, const std::vector<PresetVariants>& presets,
                         const std::vector<PublishedRow>& published) {
  TextTable t;
  t.columns = {"model",
               "published λ (verdict)",
               "recipe: decoupled, budget-matched λ",
               "no decay − recipe",
               "coupled L2 at its best λ − recipe",
               "uniform scope − recipe",
               "best decoupled λ (×lr), final val",
               "τ_EMA at that λ (published)"};
  std::map<std::string, const PresetVariants*> measured;
  for (const PresetVariants& p : presets) measured[p.preset] = &p;
  std::map<std::string, std::string> skipped;
  for (const SkippedPreset& s : results.plan.skipped) skipped[s.preset] += s.reason + "; ";

  for (const PublishedRow& row : published) {
    std::vector<std::string> cells = {
        row.preset, row.present ? fmt::format("{} ({})", row.seed_text, row.verdict)
                                : "missing: " + row.missing};
    const auto it = measured.find(row.preset);
    if (it == measured.end()) {
      const std::string why =
          skipped.contains(row.preset)
              ? "left out: " + skipped[row.preset].substr(0, skipped[row.preset].size() - 2)
              : "not in this sweep";
      cells.insert(cells.end(), {why, "", "", "", "", ""});
      t.rows.push_back(std::move(cells));
      continue;
    }
    const PresetVariants& p = *it->second;
    // The recipe: decoupled decay at the budget-matched λ with the preset's own scope.
    const Variant* recipe = best_of(p, [](const Variant& v) {
      return v.decay_mode == "decoupled" && v.decay_scope == "selective" &&
             at_reference(v, "@budget_matched");
    });
    const Variant* none = best_of(p, [](const Variant& v) { return v.decay_mode == "none"; });
    const Variant* coupled = best_of(p, [](const Variant& v) { return v.decay_mode == "coupled"; });
    const Variant* uniform = best_of(p, [](const Variant& v) {
      return v.decay_mode == "decoupled" && v.decay_scope == "uniform" &&
             at_reference(v, "@budget_matched");
    });
    // The best decoupled selective λ among runs whose decay scales with lr_t, where λ reads as a
    // timescale: τ_iter = 1 / (lr λ) updates, τ_EMA = τ_iter / steps of the run.
    const Variant* best_lr = best_of(p, [](const Variant& v) {
      return v.decay_mode == "decoupled" && v.decay_scope == "selective" &&
             config_string(v, "optim.decay_scaling") == "lr";
    });
    std::string recipe_cell = "not in this sweep";
    if (recipe) {
      const std::optional<double> d = published_decay_budget(load_preset(row.preset));
      recipe_cell = fmt::format(
          "λ={} ({}, D={}{}): {}", short_number(recipe->weight_decay),
          config_string(*recipe, "optim.decay_scaling") == "lr_squared" ? "×lr²" : "×lr",
          d ? *d : results.plan.decay_budget, d ? ", the recipe's" : ", the sweep's default",
          format_stat(recipe->final_val));
    }
    std::string best_cell = "—", tau_cell = "—";
    if (best_lr) {
      const double steps = config_number(*best_lr, "train.steps");
      const double tau_iter = 1.0 / (best_lr->lr * best_lr->weight_decay);
      best_cell = fmt::format("λ={}: {}", short_number(best_lr->weight_decay),
                              format_stat(best_lr->final_val));
      const std::optional<double> d = published_decay_budget(load_preset(row.preset));
      tau_cell =
          fmt::format("τ_iter={:.0f} updates, τ_EMA={:.2f} of {} ({})", tau_iter, tau_iter / steps,
                      steps, d ? fmt::format("published {:.2f}", 1.0 / *d) : "none published");
    }
    cells.insert(cells.end(),
                 {recipe_cell, versus(recipe, none, ""),
                  coupled ? versus(recipe, coupled, "λ=" + short_number(coupled->weight_decay))
                          : "not in this sweep",
                  versus(recipe, uniform, ""), best_cell, tau_cell});
    t.rows.push_back(std::move(cells));
  }
  return t;
}

}  // namespace wdlab
