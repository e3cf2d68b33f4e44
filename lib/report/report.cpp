#include "report/report.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "io/atomic_file.h"
#include "report/aggregate.h"
#include "report/basin.h"
#include "report/best_by_metric.h"
#include "report/findings.h"
#include "report/gradient_rise.h"
#include "report/grokking.h"
#include "report/headline.h"
#include "report/heatmap.h"
#include "report/kind_curves.h"
#include "report/lambda_plot.h"
#include "report/loss_curves.h"
#include "report/lr_wd_heatmap.h"
#include "report/published_table.h"
#include "report/rotational.h"
#include "report/sweep_results.h"
#include "report/text_table.h"
#include "report/timescale.h"

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
std::string se_or_empty(const Stat& s) {
  return s.n > 1 ? number(s.se) : "";
}

// Σ s_t λ is a decoupled quantity: coupled L2 shrinks nothing per step, so it has none.
std::string budget_cell(const Variant& v) {
  if (v.decay_mode == "none") return "0 (no decay)";
  if (v.decay_mode != "decoupled") return "n/a (coupled L2)";
  return format_stat_significant(v.decay_budget);
}

// "; within noise of decoupled selective λ=0.1 (+0.000 ± 0.003)": how far the next decay option
// (at its own best) is behind the lowest mean, when that is no clear lead.
std::string runner_up_note(const PresetFindings& f) {
  if (f.ranking.size() < 2) return "";
  const Difference d = difference(f.ranking[1].best->final_val, f.ranking[0].best->final_val);
  if (d.noise_known && !d.within_noise) return "";
  const std::string gap =
      d.noise_known ? fmt::format("{:+.3f} ± {:.3f}", d.delta, d.se) : format_difference(d);
  return fmt::format("; {} {} ({})",
                     d.noise_known ? "within noise of" : "no noise estimate against",
                     describe_variant(*f.ranking[1].best, false), gap);
}

// The parameter kinds whose final norms any variant's summaries hold, in a fixed order.
std::vector<std::string> norm_kinds(const std::vector<PresetVariants>& presets) {
  std::set<std::string> kinds;
  for (const PresetVariants& p : presets) {
    for (const Variant& v : p.variants) {
      for (const auto& [kind, stat] : v.kind_norms) kinds.insert(kind);
    }
  }
  return {kinds.begin(), kinds.end()};
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

TextTable preset_table(const PresetVariants& p, const std::string& baseline,
                       const std::vector<std::string>& kinds) {
  bool any_baseline = false;
  std::set<double> lrs;
  for (const Variant& v : p.variants) {
    any_baseline = any_baseline || v.baseline >= 0;
    if (std::isfinite(v.lr)) lrs.insert(v.lr);
  }
  TextTable t;
  t.columns = {"configuration",
               "λ",
               "lr",
               "runs",
               "final val loss",
               "best val loss",
               "step of best val",
               "val − floor",
               "decay budget Σ s_t λ (decoupled only)",
               "‖w‖ decayed",
               "‖w‖ not decayed"};
  for (const std::string& k : kinds) t.columns.push_back("‖w‖ " + k);
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
        number(v.lr, 4),
        runs_cell(v),
        format_stat(v.final_val),
        format_stat(v.best_val),
        v.best_step.n ? format_stat(v.best_step, 0) : "—",
        format_stat(v.val_minus_floor),
        budget_cell(v),
        format_stat(v.norm_decay, 2),
        format_stat(v.norm_no_decay, 2)};
    for (const std::string& k : kinds)
      row.push_back(v.kind_norms.contains(k) ? format_stat(v.kind_norms.at(k), 2) : "—");
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

TextTable csv_table(const std::vector<PresetVariants>& presets,
                    const std::vector<std::string>& kinds, const BestByMetric& best) {
  const std::vector<std::string> keys = axis_keys(presets);
  TextTable t;
  t.columns = {"preset", "configuration"};
  t.columns.insert(t.columns.end(), keys.begin(), keys.end());
  for (const char* c : {"weight_decay",
                        "lr",
                        "decay_mode",
                        "decay_scope",
                        "runs",
                        "finished",
                        "diverged",
                        "not_completed",
                        "final_val_mean",
                        "final_val_std",
                        "final_val_se",
                        "best_val_mean",
                        "best_val_std",
                        "best_val_se",
                        "best_val_step_mean",
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
  for (const std::string& k : kinds) t.columns.push_back("norm." + k + "_mean");
  t.columns.push_back("best_by_metric");  // the spec's metric and goal, across presets
  for (size_t pi = 0; pi < presets.size(); ++pi) {
    const PresetVariants& p = presets[pi];
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
                  number(v.lr),
                  v.decay_mode,
                  v.decay_scope,
                  std::to_string(v.runs.size()),
                  std::to_string(v.finished),
                  std::to_string(v.diverged),
                  std::to_string(v.incomplete),
                  mean_or_empty(v.final_val),
                  std_or_empty(v.final_val),
                  se_or_empty(v.final_val),
                  mean_or_empty(v.best_val),
                  std_or_empty(v.best_val),
                  se_or_empty(v.best_val),
                  mean_or_empty(v.best_step),
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
      for (const std::string& k : kinds)
        row.push_back(v.kind_norms.contains(k) ? mean_or_empty(v.kind_norms.at(k)) : "");
      row.push_back(best.is(pi, i) ? "true" : "false");
      t.rows.push_back(std::move(row));
    }
  }
  return t;
}

// AdamW against AdamC at the same λ: the rise of the gradient norm at the end of training,
// total and per kind, with a verdict (gradient_rise.h), and the two arms' per-kind gradient and
// weight norms side by side.
std::string gradient_rise_section(const std::vector<RisePair>& rises, const fs::path& plots,
                                  ReportFiles& files) {
  std::string md = "## Gradient norm at the end of training: AdamW against AdamC\n\n";
  md +=
      "Defazio (\"Why Gradients Rapidly Increase Near the End of Training\", 2025, "
      "arXiv:2506.02285): with AdamW's decay lr_t·λ the weights of normalized layers settle at "
      "a norm that shrinks with lr_t, so their gradient norm rises as the schedule ends; AdamC's "
      "lr_t²/lr_peak·λ holds that norm. Rise: the mean gradient norm over the last 5 % of the "
      "steps over the lowest mean over any window of as many logged steps (1 = no rise), per "
      "seed, then mean ± SE. Verdict: reproduced when AdamW rises by at least 20 % beyond 2 SE "
      "from a lowest window in the second half of the run (a late rise, as in the paper) and "
      "AdamC's rise is smaller beyond 2 SE and at most half of AdamW's; partly when it is "
      "smaller but more than half, or when the norm has no late minimum (it grows from the "
      "start) but over the second half (the end window over the window at the midpoint) grows "
      "by at least 20 % beyond 2 SE under AdamW and less, beyond 2 SE, under AdamC; not "
      "reproduced otherwise.\n\n";
  int n = 0;
  for (const RisePair& p : rises) {
    ++n;
    md += "- " + p.sentence + ".\n";
    files.verdicts += p.sentence + "\n";
    TextTable t;
    t.columns = {"gradient norm", "AdamW rise", "AdamC rise", "AdamW − AdamC"};
    for (size_t i = 0; i < p.adamw_rise.size(); ++i) {
      const Stat& w = p.adamw_rise[i].second;
      const Stat& c = p.adamc_rise[i].second;
      const std::string& key = p.adamw_rise[i].first;
      t.rows.push_back({key == "grad_norm" ? "all parameters" : key.substr(10), format_stat(w, 2),
                        format_stat(c, 2), format_difference(difference(w, c), 2)});
    }
    md += fmt::format(
        "\n{}\nThe total's lowest window starts at step {} (AdamW) and {} (AdamC), mean over "
        "seeds.\n\n",
        to_markdown(t), format_stat(p.adamw_min_step, 0), format_stat(p.adamc_min_step, 0));
    const std::vector<const Variant*> arms = {p.adamw, p.adamc};
    for (const auto& [metric, words] :
         {std::pair<std::string, std::string>{"grad_norm", "Gradient norms"},
          {"norm", "Weight norms"}}) {
      const LineFigure fig = kind_curve_figure_of(
          arms, metric,
          fmt::format("{} by kind, {}: AdamW (left) and AdamC (right)", words, p.preset),
          "same λ and schedule; mean over finished seeds, shaded: range over seeds");
      if (fig.panels.empty()) continue;
      const std::string name =
          fmt::format("adamc_{}_{}{}.svg", metric, p.preset, n > 1 ? fmt::format("_{}", n) : "");
      write_file_atomic(plots / name, render_line_figure(fig));
      files.plots.push_back(plots / name);
      md += fmt::format("![{} by kind, AdamW and AdamC, {}](plots/{})\n\n", words, p.preset, name);
    }
  }
  return md;
}

// Runs that log accuracies (algorithmic tasks): steps to 99% and final accuracies per row, in
// the rows' order (presets, then their variants). Other sweeps' CSVs keep their columns.
void add_accuracy_columns(TextTable& t, const std::vector<PresetVariants>& presets) {
  for (const char* c :
       {"val_acc_99_step_mean", "val_acc_99_step_se", "val_acc_99_reached",
        "train_acc_99_step_mean", "train_acc_99_step_se", "train_acc_99_reached", "accuracy_runs",
        "step_budget", "final_val_acc_mean", "final_train_acc_mean"})
    t.columns.push_back(c);
  size_t row = 0;
  for (const PresetVariants& p : presets) {
    for (const AccuracyArm& a : accuracy_arms(p)) {
      std::vector<std::string>& r = t.rows.at(row++);
      const bool any = a.runs > 0;
      r.insert(r.end(), {any ? number(a.val_steps.mean) : "", se_or_empty(a.val_steps),
                         std::to_string(a.val_reached), any ? number(a.train_steps.mean) : "",
                         se_or_empty(a.train_steps), std::to_string(a.train_reached),
                         std::to_string(a.runs), std::to_string(a.budget),
                         mean_or_empty(a.final_val_acc), mean_or_empty(a.final_train_acc)});
    }
  }
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
  const BestByMetric best = best_by_metric(presets, plan.metric, plan.goal);
  md += best.line + "\n\n";

  // Algorithmic tasks (data.source=modular): accuracies, steps to 99% and the grokking verdict
  // come first, as they are what such a sweep is for.
  const AccuracySection accuracy = accuracy_section(results, presets);
  if (accuracy.present) {
    write_file_atomic(plots / "accuracy_curves.svg", render_line_figure(accuracy.figure));
    files.plots.push_back(plots / "accuracy_curves.svg");
    files.verdicts += accuracy.verdict;
    md += accuracy.markdown;
  }
  // Batch size x λ at a fixed token budget: λ_opt per batch size and the AdamW timescale verdict.
  const TimescaleSection timescale = timescale_section(presets);
  for (const auto& [name, figure] : timescale.figures) {
    write_file_atomic(plots / name, render_line_figure(figure));
    files.plots.push_back(plots / name);
  }
  files.verdicts += timescale.verdict;
  md += timescale.markdown;

  // Constant-lr sweeps of AdamW over lr and λ (with Adam + L2 beside): the rotational
  // equilibrium per tensor against its prediction, with the verdict (rotational.h).
  const RotationalSection rotational = rotational_section(results, presets);
  if (rotational.present) {
    write_file_atomic(plots / "rotational_update_rel.svg", render_line_figure(rotational.figure));
    files.plots.push_back(plots / "rotational_update_rel.svg");
    write_file_atomic(sweep_dir / "rotational.csv", rotational.csv);
    files.verdicts += rotational.verdict;
    md += rotational.markdown;
  }

  md += "## Findings\n\n";
  md += fmt::format(
      "Each decay option (no decay; coupled L2 and decoupled decay, each selective or uniform) "
      "at its own best configuration in this sweep, ranked by mean final validation loss. "
      "Values are mean ± standard error over seeds; a difference carries the standard error "
      "of the difference of two independent means, sqrt(se_a² + se_b²) (seeds not paired), "
      "and is called \"within noise\" when |Δ| < {} SE; with one seed there is no noise "
      "estimate and no verdict. The best λ of an option is picked on the same validation loss "
      "it is ranked by, which flatters options that tried more λ values.\n\n",
      kNoiseSigmas);
  for (const PresetVariants& p : presets) {
    const PresetFindings f = preset_findings(p);
    md += "### " + p.preset + "\n\n";
    if (f.ranking.empty()) {
      md += "No finished runs yet.\n\n";
      continue;
    }
    for (const std::string& sentence : f.sentences) {
      md += "- " + sentence + ".\n";
      files.findings += sentence + "\n";
    }
    if (!f.lr_note.empty()) md += "- " + f.lr_note + ".\n";
    md += "\n" + to_markdown(ranking_table(f)) + "\n";
  }

  const std::vector<RisePair> rises = gradient_rise_pairs(presets);
  if (!rises.empty()) md += gradient_rise_section(rises, plots, files);

  // Learning rate × λ grids of both decay modes: the AdamW basin with a verdict (basin.h); its
  // heatmap (mean ± SE per cell, the valley drawn) replaces the plain lr × λ one below.
  std::set<std::string> basin_presets;
  for (const BasinSection& b : basin_sections(presets)) {
    write_file_atomic(plots / b.plot_name, render_heatmap_figure(b.figure));
    files.plots.push_back(plots / b.plot_name);
    files.verdicts += (presets.size() > 1 ? b.preset + ": " : "") + b.verdict + "\n";
    md += b.markdown;
    basin_presets.insert(b.preset);
  }

  if (plan.reproduce_table) {
    const TextTable headline = headline_table(results, presets, published_table());
    files.headline = to_markdown(headline);
    md += "## Headline: the published weight-decay table beside the measured outcome\n\n";
    md += files.headline + "\n";
    md +=
        "Columns: the recipe is decoupled decay with the preset's own scope rules and scaling at "
        "the budget-matched λ, which gives these runs the published recipe's decay budget "
        "D = Σ_t s_t λ (the preset's weight_decay_table decay_budget, else the spec's). Each "
        "difference is final validation loss minus the recipe's, mean over seeds ± the standard "
        "error of the difference, with a verdict only beyond two standard errors. Coupled L2 has "
        "no decay budget: it is shown at its own best λ from its grid. The best decoupled λ is "
        "the best of the lr-scaled selective runs (the recipe among them when it scales by lr); "
        "τ_iter = 1/(lr λ) and "
        "τ_EMA = τ_iter / steps, beside the published recipe's τ_EMA = 1/D where a budget is "
        "published.\n\n";
  }

  const LineFigure by_lambda = lambda_figure(results, presets);
  if (!by_lambda.panels.empty()) {
    write_file_atomic(plots / "val_vs_lambda.svg", render_line_figure(by_lambda));
    files.plots.push_back(plots / "val_vs_lambda.svg");
    md +=
        "## Validation loss against λ\n\n![Final and best validation loss against λ per "
        "preset](plots/val_vs_lambda.svg)\n\n";
  }
  const std::string curves = render_line_figure(loss_curve_figure(results, presets));
  write_file_atomic(plots / "loss_curves.svg", curves);
  files.plots.push_back(plots / "loss_curves.svg");
  md += "## Loss curves\n\n![Loss curves per preset](plots/loss_curves.svg)\n\n";
  const std::vector<std::pair<std::string, std::string>> kind_plots = {
      {"norm", "Parameter norms"},
      {"grad_norm", "Gradient norms"},
      {"update_rel", "Relative update size"}};
  for (const auto& [metric, heading] : kind_plots) {
    std::string section;
    for (const PresetVariants& p : presets) {
      const LineFigure fig = kind_curve_figure(results, p, metric);
      if (fig.panels.empty()) continue;
      const std::string name = metric + "_" + p.preset + ".svg";
      write_file_atomic(plots / name, render_line_figure(fig));
      files.plots.push_back(plots / name);
      section += fmt::format("![{} by parameter kind, {}](plots/{})\n\n", heading, p.preset, name);
    }
    if (!section.empty()) md += "## " + heading + " by parameter kind\n\n" + section;
  }
  for (const auto& [preset, fig] : lr_wd_heatmaps(presets)) {
    if (basin_presets.contains(preset)) continue;
    const fs::path file = plots / ("lr_wd_" + preset + ".svg");
    write_file_atomic(file, render_heatmap_figure(fig));
    files.plots.push_back(file);
    md += fmt::format("## {}: learning rate × λ\n\n![{} lr × λ heatmap](plots/{})\n\n", preset,
                      preset, file.filename().string());
  }

  const std::string baseline = baseline_name(results);
  md += "## Results per configuration\n\n";
  md += fmt::format(
      "Mean ± standard error over the finished seeds. Best val loss: the lowest evaluation of "
      "each run, at the step shown (mean over seeds). val − floor: final validation loss above "
      "the entropy floor of the synthetic data for the model's context. Decay budget: Σ_t s_t "
      "λ, the total log-shrink of decoupled decay; coupled L2 adds λw to the gradient and has "
      "no such budget. ‖w‖: final L2 norms of the decayed and the non-decayed parameters (and "
      "per parameter kind where the runs logged them). Δ: final validation loss minus the {} "
      "configuration with the same other axes ± the SE of the difference; \"within noise\" "
      "when under two standard errors.\n\n",
      baseline);
  const std::vector<std::string> kinds = norm_kinds(presets);
  for (const PresetVariants& p : presets) {
    md += "### " + p.preset + "\n\n" + to_markdown(preset_table(p, baseline, kinds)) + "\n";
    if (p.best >= 0) {
      const Variant& b = p.variants[p.best];
      // "Best" claims nothing the noise does not support: the next option's gap comes along.
      const std::string versus = runner_up_note(preset_findings(p));
      files.best += fmt::format("{}: best {} (final val {}){}\n", p.preset, b.label,
                                format_stat(b.final_val), versus);
      md += fmt::format("Best: **{}**, final validation loss {}{}", b.label,
                        format_stat(b.final_val), versus);
      if (b.vs_baseline)
        md += fmt::format(", {} vs {}", format_difference(*b.vs_baseline), baseline);
      md += ".\n\n";
    }
  }
  md += fmt::format("---\nWritten by wdlab {} (`wdlab report {}`).\n", WDLAB_VERSION,
                    sweep_dir.string());

  TextTable csv = csv_table(presets, kinds, best);
  if (accuracy.present) add_accuracy_columns(csv, presets);
  write_file_atomic(files.csv, to_csv(csv));
  write_file_atomic(files.markdown, md);
  return files;
}

}  // namespace wdlab
