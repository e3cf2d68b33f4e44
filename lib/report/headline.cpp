#include "report/headline.h"

#include <fmt/format.h>

#include <algorithm>
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

std::string describe(const HeadlineCell& c) {
  const std::string partial =
      c.completed < c.runs ? fmt::format("{} of {} runs so far", c.completed, c.runs) : "";
  if (!c.measured) return "not measured" + (partial.empty() ? "" : "; " + partial);
  std::string s = fmt::format("**{}** {}", c.winner, format_stat(c.winner_val));
  std::vector<std::string> notes;
  if (!c.runner_up.empty()) {
    s +=
        fmt::format(", by {:.2g}{} over {}", c.margin.delta,
                    c.margin.noise_known ? fmt::format(" ± {:.1g}", c.margin.se) : "", c.runner_up);
    if (!c.margin.noise_known) {
      notes.push_back("1 seed");
    } else if (c.margin.within_noise) {
      notes.push_back("within seed noise");
    }
  }
  if (!partial.empty()) notes.push_back(partial);
  if (!notes.empty()) s += " (" + fmt::format("{}", fmt::join(notes, "; ")) + ")";
  return s;
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

TextTable headline_table(const SweepResults& results, const std::vector<PresetVariants>& presets,
                         const std::vector<PublishedRow>& published) {
  TextTable t;
  t.columns = {"model",
               "λ (seed table)",
               "status",
               "applied",
               "lowest final val loss at the published λ",
               "budget-matched λ (D)",
               "lowest final val loss at the budget-matched λ"};
  std::map<std::string, const PresetVariants*> measured;
  for (const PresetVariants& p : presets) measured[p.preset] = &p;
  std::map<std::string, std::string> skipped;
  for (const SkippedPreset& s : results.plan.skipped) skipped[s.preset] += s.reason + "; ";

  for (const PublishedRow& row : published) {
    std::vector<std::string> cells = {row.preset, row.present ? row.seed_text : "",
                                      row.present ? row.verdict : "missing",
                                      row.present ? applied_label(row.applied) : row.missing};
    const auto it = measured.find(row.preset);
    if (it == measured.end()) {
      const std::string why =
          skipped.contains(row.preset)
              ? "left out: " + skipped[row.preset].substr(0, skipped[row.preset].size() - 2)
              : "not in this sweep";
      cells.insert(cells.end(), {why, "", ""});
      t.rows.push_back(std::move(cells));
      continue;
    }
    const HeadlineCell pub = headline_cell(*it->second, "@published");
    const HeadlineCell bud = headline_cell(*it->second, "@budget_matched");
    std::string budget = "—";
    if (bud.lambda > 0) {
      const std::optional<double> d = published_decay_budget(load_preset(row.preset));
      const std::string lambda =
          bud.lambda_by_mode.empty() ? fmt::format("{}", bud.lambda) : bud.lambda_by_mode;
      budget =
          d ? fmt::format("{} (D = {}, the recipe's)", lambda, *d)
            : fmt::format("{} (D = {}, the sweep's default)", lambda, results.plan.decay_budget);
    }
    cells.insert(cells.end(), {describe(pub), budget, describe(bud)});
    t.rows.push_back(std::move(cells));
  }
  return t;
}

}  // namespace wdlab
