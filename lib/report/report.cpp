#include "report/report.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "io/atomic_file.h"
#include "report/aggregate.h"
#include "report/headline.h"
#include "report/heatmap.h"
#include "report/loss_curves.h"
#include "report/lr_wd_heatmap.h"
#include "report/published_table.h"
#include "report/sweep_results.h"
#include "report/text_table.h"

namespace wdlab {
namespace fs = std::filesystem;

namespace {

std::string number(double x, int digits = 6) {
  return std::isfinite(x) ? fmt::format("{:.{}g}", x, digits) : "";
}

std::string mean_or_empty(const Stat& s) {
  return s.n ? number(s.mean) : "";
}
std::string std_or_empty(const Stat& s) {
  return s.n > 1 ? number(s.std) : "";
}

std::string runs_cell(const Variant& v) {
  std::vector<std::string> parts;
  if (v.finished) parts.push_back(fmt::format("{} finished", v.finished));
  if (v.diverged) parts.push_back(fmt::format("{} diverged", v.diverged));
  if (v.incomplete) parts.push_back(fmt::format("{} not completed", v.incomplete));
  std::string s;
  for (const std::string& p : parts) s += (s.empty() ? "" : ", ") + p;
  return s;
}

std::string baseline_name(const SweepResults& r) {
  std::string s;
  for (const Assignment& a : r.plan.baseline)
    s += (s.empty() ? "" : "/") +
         (a.value.is_string() ? a.value.get<std::string>() : a.value.dump());
  return s.empty() ? "baseline" : s;
}

// The keys that vary inside at least one preset, for the CSV's axis columns.
std::vector<std::string> axis_keys(const std::vector<PresetVariants>& presets) {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const PresetVariants& p : presets) {
    for (const Variant& v : p.variants) {
      for (const Assignment& a : v.axes) {
        if (seen.insert(a.key).second) keys.push_back(a.key);
      }
    }
  }
  return keys;
}

TextTable preset_table(const PresetVariants& p, const std::string& baseline) {
  bool any_baseline = false;
  for (const Variant& v : p.variants) any_baseline = any_baseline || v.baseline >= 0;
  TextTable t;
  t.columns = {"configuration",
               "λ",
               "runs",
               "final val loss",
               "best val loss",
               "val − floor",
               "decay budget Σ s_t λ",
               "‖w‖ decayed",
               "‖w‖ not decayed"};
  // Without a baseline configuration in the sweep the column would only hold dashes.
  if (any_baseline) t.columns.push_back("Δ final val vs " + baseline);
  for (size_t i = 0; i < p.variants.size(); ++i) {
    const Variant& v = p.variants[i];
    std::string label = v.label;
    if (static_cast<int>(i) == p.best) label = "**" + label + "** (best)";
    // Without decay the config's λ is unused: showing it would suggest it mattered.
    std::vector<std::string> row = {
        label,
        v.decay_mode == "none" ? "— (no decay)" : number(v.weight_decay, 4),
        runs_cell(v),
        format_stat(v.final_val),
        format_stat(v.best_val),
        format_stat(v.val_minus_floor),
        format_stat_significant(v.decay_budget),
        format_stat(v.norm_decay, 2),
        format_stat(v.norm_no_decay, 2)};
    if (any_baseline) {
      std::string delta = "—";
      if (v.baseline == static_cast<int>(i)) {
        delta = "(baseline)";
      } else if (v.vs_baseline) {
        delta = format_difference(*v.vs_baseline);
      }
      row.push_back(delta);
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

TextTable csv_table(const std::vector<PresetVariants>& presets) {
  const std::vector<std::string> keys = axis_keys(presets);
  TextTable t;
  t.columns = {"preset", "configuration"};
  t.columns.insert(t.columns.end(), keys.begin(), keys.end());
  for (const char* c : {"weight_decay",
                        "decay_mode",
                        "decay_scope",
                        "runs",
                        "finished",
                        "diverged",
                        "not_completed",
                        "final_val_mean",
                        "final_val_std",
                        "best_val_mean",
                        "best_val_std",
                        "val_minus_floor_mean",
                        "val_minus_floor_std",
                        "final_train_mean",
                        "decay_budget_mean",
                        "norm_decay_mean",
                        "norm_no_decay_mean",
                        "delta_vs_baseline",
                        "delta_se",
                        "within_seed_noise",
                        "is_baseline",
                        "is_best"})
    t.columns.push_back(c);
  for (const PresetVariants& p : presets) {
    for (size_t i = 0; i < p.variants.size(); ++i) {
      const Variant& v = p.variants[i];
      std::vector<std::string> row = {p.preset, v.label};
      for (const std::string& k : keys) {
        std::string cell;
        for (const Assignment& a : v.axes) {
          if (a.key == k) cell = a.value.is_string() ? a.value.get<std::string>() : a.value.dump();
        }
        row.push_back(cell);
      }
      const bool has_delta = v.vs_baseline.has_value();
      row.insert(row.end(),
                 {number(v.weight_decay),
                  v.decay_mode,
                  v.decay_scope,
                  std::to_string(v.runs.size()),
                  std::to_string(v.finished),
                  std::to_string(v.diverged),
                  std::to_string(v.incomplete),
                  mean_or_empty(v.final_val),
                  std_or_empty(v.final_val),
                  mean_or_empty(v.best_val),
                  std_or_empty(v.best_val),
                  mean_or_empty(v.val_minus_floor),
                  std_or_empty(v.val_minus_floor),
                  mean_or_empty(v.final_train),
                  mean_or_empty(v.decay_budget),
                  mean_or_empty(v.norm_decay),
                  mean_or_empty(v.norm_no_decay),
                  has_delta ? number(v.vs_baseline->delta) : "",
                  has_delta && v.vs_baseline->noise_known ? number(v.vs_baseline->se) : "",
                  has_delta && v.vs_baseline->noise_known
                      ? (v.vs_baseline->within_noise ? "true" : "false")
                      : "",
                  v.baseline == static_cast<int>(i) ? "true" : "false",
                  p.best == static_cast<int>(i) ? "true" : "false"});
      t.rows.push_back(std::move(row));
    }
  }
  return t;
}

}  // namespace

ReportFiles write_report(const fs::path& sweep_dir) {
  const SweepResults results = load_sweep_results(sweep_dir);
  const std::vector<PresetVariants> presets = aggregate_variants(results);
  const SweepPlan& plan = results.plan;
  ReportFiles files;
  files.markdown = sweep_dir / "summary.md";
  files.csv = sweep_dir / "summary.csv";
  const fs::path plots = sweep_dir / "plots";
  std::error_code ec;
  fs::create_directories(plots, ec);
  WD_CHECK(!ec, "{}: cannot create: {}", plots.string(), ec.message());

  int finished = 0, diverged = 0, incomplete = 0;
  for (const RunResult& r : results.runs) {
    if (r.status == "finished") {
      ++finished;
    } else if (r.status == "diverged") {
      ++diverged;
    } else {
      ++incomplete;
    }
  }
  std::string md = fmt::format("# Sweep report: {}\n\n", plan.name);
  if (!plan.description.empty()) md += plan.description + "\n\n";
  md += fmt::format("{} runs in `{}` (spec `{}`{}): {} finished, {} diverged, {} not completed.\n",
                    results.runs.size(), sweep_dir.string(), plan.spec_file,
                    plan.command_line.empty()
                        ? ""
                        : fmt::format(", command line {}", fmt::join(plan.command_line, " ")),
                    finished, diverged, incomplete);
  for (const SkippedPreset& s : plan.skipped)
    md += fmt::format("Left out: {}: {}.\n", s.preset, s.reason);
  if (incomplete)
    md +=
        "Runs that did not complete are counted but not averaged; rerun the sweep to finish "
        "them.\n";
  md += "\n";

  if (plan.reproduce_table) {
    const TextTable headline = headline_table(results, presets, published_table());
    files.headline = to_markdown(headline);
    md += "## Headline: the published weight-decay table beside the measured outcome\n\n";
    md += files.headline + "\n";
    md +=
        "Measured: the option of {none, coupled, decoupled} × {selective, uniform} with the "
        "lowest mean final validation loss at that λ, its mean ± std over seeds, and its lead "
        "over the runner-up (within seed noise when under two standard errors). \"none\" "
        "applies no decay and competes at both λ. The budget-matched λ gives this run the "
        "decay budget D = Σ_t s_t λ of the published recipe (MODEL_FACTS §5f).\n\n";
  }

  const std::string curves = render_line_figure(loss_curve_figure(results, presets));
  write_file_atomic(plots / "loss_curves.svg", curves);
  files.plots.push_back(plots / "loss_curves.svg");
  md += "## Loss curves\n\n![Loss curves per preset](plots/loss_curves.svg)\n\n";
  for (const auto& [preset, fig] : lr_wd_heatmaps(presets)) {
    const fs::path file = plots / ("lr_wd_" + preset + ".svg");
    write_file_atomic(file, render_heatmap_figure(fig));
    files.plots.push_back(file);
    md += fmt::format("## {}: learning rate × λ\n\n![{} lr × λ heatmap](plots/{})\n\n", preset,
                      preset, file.filename().string());
  }

  const std::string baseline = baseline_name(results);
  md += "## Results per configuration\n\n";
  md += fmt::format(
      "Mean ± std over the finished seeds. val − floor: final validation loss above the entropy "
      "floor of the synthetic data for the model's context. Decay budget: Σ_t s_t λ, the total "
      "log-shrink decay applied. ‖w‖: final L2 norms of the decayed and the non-decayed "
      "parameters. Δ: final validation loss minus the {} configuration with the same other "
      "axes; \"within seed noise\" when under two standard errors of the difference.\n\n",
      baseline);
  for (const PresetVariants& p : presets) {
    md += "### " + p.preset + "\n\n" + to_markdown(preset_table(p, baseline)) + "\n";
    if (p.best >= 0) {
      const Variant& b = p.variants[p.best];
      const std::string line =
          fmt::format("{}: best {} (final val {})", p.preset, b.label, format_stat(b.final_val));
      files.best += line + "\n";
      md +=
          fmt::format("Best: **{}**, final validation loss {}", b.label, format_stat(b.final_val));
      if (b.vs_baseline)
        md += fmt::format(", {} vs {}", format_difference(*b.vs_baseline), baseline);
      md += ".\n\n";
    }
  }
  md += fmt::format("---\nWritten by wdlab {} (`wdlab report {}`).\n", WDLAB_VERSION,
                    sweep_dir.string());

  write_file_atomic(files.csv, to_csv(csv_table(presets)));
  write_file_atomic(files.markdown, md);
  return files;
}

}  // namespace wdlab
