#include "report/grokking.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "report/svg.h"
#include "report/text_table.h"

namespace wdlab {
namespace {

int step_budget(const RunResult& r) {
  const double planned = r.summary_number("steps_planned");
  if (std::isfinite(planned)) return static_cast<int>(planned);
  const nlohmann::json steps = r.config_value("train.steps");
  return steps.is_number() ? steps.get<int>() : 0;
}

std::string percent(const Stat& s) {
  if (s.n == 0) return "—";
  return s.n > 1 ? fmt::format("{:.1f} ± {:.1f}%", 100 * s.mean, 100 * s.se)
                 : fmt::format("{:.1f}%", 100 * s.mean);
}

const AccuracyArm* first_arm(const std::vector<AccuracyArm>& arms, const std::string& mode) {
  for (const AccuracyArm& a : arms) {
    if (a.variant->decay_mode == mode && a.runs > 0) return &a;
  }
  return nullptr;
}

std::string arm_name(const AccuracyArm& a) {
  return describe_variant(*a.variant, false, false);
}

}  // namespace

double first_step_at_least(const Curve& curve, double threshold) {
  for (size_t i = 0; i < curve.step.size() && i < curve.value.size(); ++i) {
    if (curve.value[i] >= threshold) return curve.step[i];
  }
  return -1;
}

std::vector<AccuracyArm> accuracy_arms(const PresetVariants& preset) {
  std::vector<AccuracyArm> arms;
  for (const Variant& v : preset.variants) {
    AccuracyArm a;
    a.variant = &v;
    std::vector<double> val_steps, train_steps, val_acc, train_acc;
    for (const RunResult* r : v.runs) {
      if (!r->completed() || !r->curves.contains("val_acc")) continue;
      ++a.runs;
      const int budget = step_budget(*r);
      a.budget = std::max(a.budget, budget);
      const double val = first_step_at_least(r->curves.at("val_acc"), kGrokAccuracy);
      const double train = r->curves.contains("train_acc")
                               ? first_step_at_least(r->curves.at("train_acc"), kGrokAccuracy)
                               : -1;
      a.val_reached += val >= 0, a.train_reached += train >= 0;
      val_steps.push_back(val >= 0 ? val : budget);
      train_steps.push_back(train >= 0 ? train : budget);
      val_acc.push_back(r->curves.at("val_acc").value.back());
      if (r->curves.contains("train_acc"))
        train_acc.push_back(r->curves.at("train_acc").value.back());
    }
    a.val_steps = summarize(val_steps), a.train_steps = summarize(train_steps);
    a.final_val_acc = summarize(val_acc), a.final_train_acc = summarize(train_acc);
    arms.push_back(a);
  }
  return arms;
}

std::string format_censored_steps(const Stat& steps, int reached, int runs, int budget) {
  if (runs == 0) return "—";
  const std::string mean = steps.n > 1 ? fmt::format("{:.0f} ± {:.0f}", steps.mean, steps.se)
                                       : fmt::format("{:.0f}", steps.mean);
  if (reached == runs) return fmt::format("{} ({}/{} reached)", mean, reached, runs);
  if (reached == 0) return fmt::format("≥ {} (0/{} reached)", budget, runs);
  return fmt::format("≥ {} ({}/{} reached; the others counted at {})", mean, reached, runs, budget);
}

GrokkingVerdict grokking_verdict(const std::vector<AccuracyArm>& arms) {
  const AccuracyArm* d = first_arm(arms, "decoupled");
  const AccuracyArm* n = first_arm(arms, "none");
  GrokkingVerdict v;
  if (!d || !n) return v;
  const bool all_grok = d->val_reached == d->runs;
  const bool delayed = all_grok && d->train_reached == d->runs &&
                       d->val_steps.mean >= kGrokDelayFactor * d->train_steps.mean;
  // Only a decoupled arm that generalised can show that decay is what made it generalise.
  const bool decay_helps =
      d->val_reached > 0 && (2 * n->val_reached <= d->val_reached ||
                             n->val_steps.mean >= kGrokDelayFactor * d->val_steps.mean);
  if (d->val_reached == 0) {
    v.word = "not reproduced";
  } else if (delayed && decay_helps) {
    v.word = "reproduced";
  } else {
    v.word = "partly reproduced";
  }
  auto steps = [](const AccuracyArm& a, bool val) {
    return val ? format_censored_steps(a.val_steps, a.val_reached, a.runs, a.budget)
               : format_censored_steps(a.train_steps, a.train_reached, a.runs, a.budget);
  };
  const std::string delay =
      all_grok ? fmt::format(
                     "generalisation {:.1f}× later than memorisation; the rule needs ≥ "
                     "{:.0f}×: {}",
                     d->val_steps.mean / std::max(d->train_steps.mean, 1.0), kGrokDelayFactor,
                     delayed ? "met" : "not met")
               : fmt::format("{} of {} seeds did not generalise within the {} steps",
                             d->runs - d->val_reached, d->runs, d->budget);
  const std::string versus = d->val_reached == 0 ? "no contrast: decoupled decay did not "
                                                   "generalise either"
                             : decay_helps       ? "clearly worse than decoupled decay"
                                                 : "not clearly worse than decoupled decay";
  v.line = fmt::format(
      "**Grokking: {} at this scale.** {}: 99% training accuracy at step {}, 99% validation "
      "accuracy at step {} ({}). No decay: 99% validation accuracy at step {} ({}).",
      v.word, arm_name(*d), steps(*d, false), steps(*d, true), delay, steps(*n, true), versus);
  for (const AccuracyArm& a : arms) {
    if (&a == d || &a == n || a.runs == 0) continue;
    v.line +=
        fmt::format(" {}: 99% training accuracy at step {}, 99% validation accuracy at step {}.",
                    arm_name(a), steps(a, false), steps(a, true));
  }
  return v;
}

AccuracySection accuracy_section(const SweepResults& results,
                                 const std::vector<PresetVariants>& presets) {
  AccuracySection s;
  for (const RunResult& r : results.runs) s.present = s.present || r.curves.contains("val_acc");
  if (!s.present) return s;

  LineFigure& fig = s.figure;
  fig.title = "Accuracy curves: " + results.plan.name;
  fig.subtitle =
      "one line per seed; solid: validation accuracy, dashed and faint: training accuracy (all "
      "equations of each split, exactly); dotted: 99%; log step axis (step 0 left out)";
  std::string md = "## Accuracy: when each configuration generalised\n\n";
  md += fmt::format(
      "Steps to {:.0f}% accuracy: the first evaluation at which a run's accuracy on all "
      "equations of the split reached it, mean ± standard error over seeds; a seed that never "
      "did is counted at the step budget (censored), so such a mean is a lower bound (≥). "
      "Verdict rule (fixed in advance, lib/report/grokking.h): grokking needs every "
      "decoupled-decay seed to reach {:.0f}% validation accuracy at least {:.0f}× later than "
      "{:.0f}% training accuracy, and no decay to do clearly worse (at most half as many seeds, "
      "or ≥ {:.0f}× the steps).\n\n",
      100 * kGrokAccuracy, 100 * kGrokAccuracy, kGrokDelayFactor, 100 * kGrokAccuracy,
      kGrokDelayFactor);
  std::vector<std::string> legend_seen;
  for (const PresetVariants& p : presets) {
    const std::vector<AccuracyArm> arms = accuracy_arms(p);
    const GrokkingVerdict verdict = grokking_verdict(arms);
    if (presets.size() > 1) md += "### " + p.preset + "\n\n";
    if (!verdict.word.empty()) {
      md += verdict.line + "\n\n";
      s.verdict += (presets.size() > 1 ? p.preset + ": " : "") + verdict.line + "\n";
    }
    TextTable t;
    t.columns = {"configuration",        "λ",
                 "steps to 99% val acc", "steps to 99% train acc",
                 "final val acc",        "final train acc"};
    for (const AccuracyArm& a : arms) {
      const Variant& v = *a.variant;
      t.rows.push_back({describe_variant(v, false, false),
                        v.decay_mode == "none" ? "— (no decay)" : short_number(v.weight_decay),
                        format_censored_steps(a.val_steps, a.val_reached, a.runs, a.budget),
                        format_censored_steps(a.train_steps, a.train_reached, a.runs, a.budget),
                        percent(a.final_val_acc), percent(a.final_train_acc)});

      LinePanel panel;
      panel.title = presets.size() > 1 ? p.preset + ": " + describe_variant(v, false, false)
                                       : describe_variant(v, false, false);
      panel.note = format_censored_steps(a.val_steps, a.val_reached, a.runs, a.budget) +
                   " to 99% validation accuracy";
      panel.x_label = "step";
      panel.y_label = "accuracy";
      panel.log_x = true;
      panel.y_min = 0.0, panel.y_max = 1.0, panel.fixed_y = true;
      panel.reference_y = kGrokAccuracy;
      panel.reference_label = "99%";
      const std::string color = decay_mode_color(v.decay_mode);
      for (const RunResult* r : v.runs) {
        if (!r->completed()) continue;
        const std::string seed = fmt::format("seed {}", r->config_value("seed").dump());
        if (r->curves.contains("train_acc")) {
          const Curve& c = r->curves.at("train_acc");
          LineSeries ts{seed + " · train", color, c.step, c.value, {}, {}, true, false, 1.2};
          ts.opacity = 0.5;
          panel.series.push_back(std::move(ts));
        }
        if (r->curves.contains("val_acc")) {
          const Curve& c = r->curves.at("val_acc");
          panel.series.push_back(
              {seed + " · validation", color, c.step, c.value, {}, {}, false, false, 1.8});
        }
      }
      const std::string name = option_words(option_of(v));
      if (std::find(legend_seen.begin(), legend_seen.end(), name) == legend_seen.end()) {
        legend_seen.push_back(name);
        fig.legend.push_back({name, color, "solid"});
      }
      fig.panels.push_back(std::move(panel));
    }
    md += to_markdown(t) + "\n";
  }
  fig.legend.push_back({"validation accuracy", "#555555", "solid", 1.8});
  fig.legend.push_back({"training accuracy", "#555555", "dashed", 1.2, 0.5});
  fig.legend.push_back({"99%", "#555555", "dotted"});
  fig.columns = std::min<int>(3, std::max<int>(1, static_cast<int>(fig.panels.size())));
  md +=
      "![Training and validation accuracy per configuration and seed](plots/accuracy_curves.svg)"
      "\n\n";
  s.markdown = md;
  return s;
}

}  // namespace wdlab
