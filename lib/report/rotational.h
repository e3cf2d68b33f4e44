// Rotational equilibrium (Kosson, Messmer, Jaggi, "Rotational Equilibrium: How Weight Decay
// Balances Learning Across Neural Networks", ICML 2024, arXiv:2305.17212): at a constant lr,
// decoupled decay drives every decayed tensor to a steady state in which its relative update per
// step depends on lr·λ only, the same across layers and kinds, and its norm scales as √(lr/λ);
// with Adam + L2 the steady state differs from tensor to tensor.
//
// What is measured (tensor_norms.jsonl, every evaluation that is also a logged step): per decayed
// tensor, update_rel = ‖Δw‖/‖w‖ of the full step (decay included), the norm ‖w‖, update_rms (the
// RMS per coordinate of the optimizer's direction u, w ← (1 − lr·λ)·w − lr·u) and update_cos
// (cos(w, u)). A run's equilibrium value of each is its mean over the evaluations in the last
// third of the run (step > 2/3 of the last step); drift is the mean update_rel over the second
// half of that window over its first half, minus 1.
//
// Prediction for update_rel (docs/weight_decay.md derives it): in the random-walk model of the
// paper (§3: the loss gradient carries no component along w, and successive gradients are
// uncorrelated, so Adam's momentum makes successive directions correlate as β1^k), a stationary
// ‖w‖ needs 2·lr·λ·‖w‖² = lr²·‖u‖² − 2·lr·⟨w, u⟩, which gives
//   update_rel = √(2·lr·λ·(1 − β1)/(1 + β1) + (lr·λ)²·(1 − 3·β1)/(1 + β1))
// (≈ √(2·lr·λ) · 0.229 for β1 = 0.9; √(2·lr·λ) without momentum), and ‖w‖ = √(lr·C/(2λ)) for a
// tensor of C coordinates when g/√v has RMS 1 per coordinate.
//
// The section appears for a preset with at least two AdamW configurations (below) at a constant
// lr whose runs logged per-tensor updates (tensor_norms.jsonl rows at logged evaluation steps).
//
// Verdict rule (fixed before the reference run). AdamW: decoupled decay scaled by lr; centre: the
// AdamW configuration nearest the centre of the sweep's (log lr, log λ) points. Over the decayed
// tensors, each tensor's value the mean over seeds:
//   E  equilibrium: in every AdamW configuration the median |drift| is at most kMaxDrift;
//   L  level: at the centre, the geometric mean of update_rel / prediction is within a factor
//      kLevelFactor of 1;
//   H  homogeneity: at the centre the coefficient of variation (SD / mean) of update_rel across
//      tensors is at most kMaxAdamWSpread, and every Adam + L2 configuration's is at least
//      kCoupledSpreadFactor times it;
//   Sr rotation scaling: update_rel's exponents against lr and against λ (least squares in log-log
//      over the AdamW configurations, per tensor and seed; averaged over tensors per seed, then
//      mean over seeds) are each within kExponentTolerance of +0.5;
//   Sn norm scaling: ‖w‖'s exponents are within kExponentTolerance of +0.5 (lr) and −0.5 (λ).
// reproduced: all five; not reproduced: no E, or none of L, H, Sr; partly otherwise.
// Adam + L2 configurations: coupled decay at a constant lr (any λ > 0).
//
//   RotationalSection s = rotational_section(results, presets);
//   if (s.present) ...s.markdown, s.verdict, s.figure...
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "report/aggregate.h"
#include "report/line_chart.h"
#include "report/stats.h"
#include "report/sweep_results.h"

namespace wdlab {

constexpr double kEquilibriumWindow = 1.0 / 3.0;  // the last third of the run
constexpr double kMaxDrift = 0.15;
constexpr double kLevelFactor = 2.0;
constexpr double kMaxAdamWSpread = 0.3;
constexpr double kCoupledSpreadFactor = 2.0;
constexpr double kExponentTolerance = 0.15;

// The random-walk prediction of update_rel for decoupled decay with per-step shrink lr·λ
// (above). NaN for lr·λ <= 0.
double rotational_prediction(double lr, double lambda, double beta1);
// √(lr·C/(2λ)): the random-walk equilibrium norm of a tensor of C coordinates (g/√v of RMS 1).
double equilibrium_norm_prediction(double lr, double lambda, double coordinates);

// Exponents of y = a · lr^p · λ^q by least squares on (log lr, log λ, log y). A factor that
// takes a single value gets NaN (and is left out of the fit); both NaN when fewer than 2 distinct
// points or the two factors move together (collinear). Points with y <= 0 are left out.
struct PowerFit {
  double lr_exponent = NAN;
  double lambda_exponent = NAN;
};
struct PowerPoint {
  double lr, lambda, y;
};
PowerFit fit_power_law(const std::vector<PowerPoint>& points);

// SD / mean of the values (sample SD); NaN for fewer than 2 values or a mean of 0.
double coefficient_of_variation(const std::vector<double>& values);

// The deciding numbers; NaN where the sweep lacks what a criterion needs (it then fails).
struct RotationalEvidence {
  double max_median_drift = NAN;  // E: the largest, over AdamW configurations, median |drift|
  double level_ratio = NAN;       // L: centre, geometric mean of measured / predicted
  double adamw_spread = NAN;      // H: centre, coefficient of variation across tensors
  double coupled_spread = NAN;    // H: the smallest over Adam + L2 configurations (NaN: none)
  Stat rel_lr, rel_lambda;        // Sr: exponents, over seeds
  Stat norm_lr, norm_lambda;      // Sn
};
struct RotationalVerdict {
  std::string word;  // "reproduced" | "partly reproduced" | "not reproduced"
  bool equilibrium = false, level = false, homogeneous = false, rotation_scaling = false,
       norm_scaling = false;
  std::string line;  // the sentence with the deciding numbers
};
RotationalVerdict rotational_verdict(const RotationalEvidence& e);

struct RotationalSection {
  bool present = false;  // the sweep has decoupled runs that logged per-tensor updates
  std::string markdown;  // heading, verdict, tables, plot link (plots/rotational_update_rel.svg)
  std::string verdict;   // the verdict line, also for the sweep's stdout
  std::string csv;       // one row per configuration and tensor (rotational.csv)
  LineFigure figure;
};
RotationalSection rotational_section(const SweepResults& results,
                                     const std::vector<PresetVariants>& presets);

}  // namespace wdlab
