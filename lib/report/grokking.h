// The report's section for sweeps on an algorithmic task (runs that log val_acc:
// data.source=modular): when each configuration generalised, the accuracy curves, and a verdict
// on the grokking result of Power et al. 2022 ("Grokking: Generalization Beyond Overfitting on
// Small Algorithmic Datasets", arXiv:2201.02177), as Nanda et al. 2023 (arXiv:2301.05217) also
// observe it with decoupled weight decay.
//
// The verdict is fixed in advance, not fitted to the outcome. With D the first decoupled-decay
// configuration and N the no-decay one:
//   grokking   every D seed reaches 99% validation accuracy, and on average at least
//              kGrokDelayFactor times later than it reaches 99% training accuracy;
//   decay      D generalised in some seed and N clearly worse: at most half as many seeds reach
//              99% as D's, or N's censored mean step to 99% is at least kGrokDelayFactor times D's;
//   reproduced both hold; partly: one of them, or some D seeds reach 99%; not reproduced: no D
//   seed reaches 99% validation accuracy in the step budget.
//
//   AccuracySection s = accuracy_section(results, presets);   // s.present == false: no accuracy
//   write_file_atomic(plots / "accuracy_curves.svg", render_line_figure(s.figure));
#pragma once

#include <string>
#include <vector>

#include "report/aggregate.h"
#include "report/line_chart.h"
#include "report/stats.h"
#include "report/sweep_results.h"

namespace wdlab {

// What "generalised" means here: the accuracy Power et al. and Nanda et al. read off.
constexpr double kGrokAccuracy = 0.99;
constexpr double kGrokDelayFactor = 2.0;

// One configuration's seeds: the first evaluation step at which each run's accuracy reached
// kGrokAccuracy, a run that never did counted at its step budget (censored).
struct AccuracyArm {
  const Variant* variant = nullptr;
  int runs = 0;                 // completed runs (finished or diverged)
  int val_reached = 0;          // of them, those whose validation accuracy reached kGrokAccuracy
  int train_reached = 0;        // ... whose training accuracy did
  int budget = 0;               // the largest step budget of the runs
  Stat val_steps, train_steps;  // censored at the budget
  Stat final_val_acc, final_train_acc;
};

// Steps at which `curve` first reaches `threshold`, or -1.
double first_step_at_least(const Curve& curve, double threshold);

std::vector<AccuracyArm> accuracy_arms(const PresetVariants& preset);

struct GrokkingVerdict {
  std::string word;  // "reproduced" | "partly reproduced" | "not reproduced" | "" (no D/N arm)
  std::string line;  // the sentence with the deciding numbers
};
GrokkingVerdict grokking_verdict(const std::vector<AccuracyArm>& arms);

// "1850 ± 120 (3/3 reached)", "≥ 3000 (0/3 reached)", "≥ 2400 ± 300 (2/3 reached; the others
// counted at 3000)".
std::string format_censored_steps(const Stat& steps, int reached, int runs, int budget);

struct AccuracySection {
  bool present = false;
  std::string markdown;  // heading, verdict, table, plot link (plots/accuracy_curves.svg)
  std::string verdict;   // the verdict line, also for the sweep's stdout
  LineFigure figure;
};
AccuracySection accuracy_section(const SweepResults& results,
                                 const std::vector<PresetVariants>& presets);

}  // namespace wdlab
