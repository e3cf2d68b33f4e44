// The AdamW timescale (Wang & Aitchison, "How to set AdamW's weight decay as you scale model and
// dataset size", 2024, arXiv:2405.13698; Bergsma et al., "Power Lines: Scaling Laws for Weight
// Decay and Batch Size in LLM Pre-training", 2025, arXiv:2505.13738). Decoupled decay makes the
// weights an exponential moving average of the updates with a time constant of
// τ_iter = 1/(lr·λ) steps; as a fraction of a run of S steps that is τ_EMA = 1/(lr·λ·S) =
// B/(lr·λ·D) (B tokens per step, D tokens in the run). The claim: at a fixed token budget D the
// best λ grows linearly with the batch size, i.e. the best τ_EMA is the same for every B.
//
// A sweep gets this section when, in one preset, decoupled configurations at one lr, scope and
// decay scaling cover at least kTimescaleMinBatchSizes batch sizes with at least 3 λ > 0 each.
// Per batch size: λ_opt is the vertex of the parabola in ln λ through the lowest mean final
// validation loss and its two neighbours on the λ grid (lambda_optimum); at a grid edge there is
// no vertex and the optimum is not measured. The exponent is the least-squares slope of ln λ_opt
// against ln B (fit_line). Errors: the standard deviation over kTimescaleResamples bootstrap
// resamples of the seeds (the same seeds drawn for every batch size and λ, as a seed fixes the
// init everywhere), each resample repeating the whole estimate.
//
// The verdict is fixed in advance (timescale_verdict), with s ± e the slope and its error:
//   reproduced      every batch size has an interior optimum, s > 2e (λ_opt grows with B) and
//                   |s − 1| <= max(2e, kTimescaleSlopeTolerance) with e <= kTimescaleMaxSlopeError
//   partly          every batch size has an interior optimum and s > 2e, but not the above (a
//                   growth clearly other than linear, or too noisy to call linear)
//   not reproduced  otherwise: λ_opt does not grow with B beyond noise, or some batch size's
//                   optimum lies at the edge of its λ grid (not measured)
//
//   TimescaleSection s = timescale_section(results, presets);   // s.present: the sweep has one
//   for (const auto& [name, fig] : s.figures) write_file_atomic(plots / name, render(fig));
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "report/aggregate.h"
#include "report/line_chart.h"
#include "report/sweep_results.h"

namespace wdlab {

inline constexpr int kTimescaleMinBatchSizes = 2;
inline constexpr int kTimescaleResamples = 2000;
inline constexpr uint64_t kTimescaleBootstrapSeed = 20240521;  // fixed: the report is reproducible
inline constexpr double kTimescaleSigmas = 2.0;
inline constexpr double kTimescaleSlopeTolerance = 0.2;
inline constexpr double kTimescaleMaxSlopeError = 0.25;

// The minimum of a loss over a λ grid. `lambdas` ascending and > 0, `losses` parallel.
struct LambdaOptimum {
  bool interior = false;  // the lowest loss has a neighbour on both sides
  int lowest = -1;        // index of the lowest loss (-1: no points)
  double log_lambda = 0;  // ln λ_opt: the parabola's vertex if interior, else ln λ[lowest]
  double curvature = 0;   // the parabola's second-order coefficient in ln λ (interior only)
};
LambdaOptimum lambda_optimum(const std::vector<double>& lambdas, const std::vector<double>& losses);

// The parabola y = a + b·x + c·x² through three points with distinct x.
struct Parabola {
  double a = 0, b = 0, c = 0;
  double at(double x) const { return a + (b + c * x) * x; }
};
Parabola parabola_through(const double x[3], const double y[3]);

// Least squares y = intercept + slope·x. slope_se from the residuals (n > 2; NaN otherwise).
struct LineFit {
  int n = 0;
  double slope = NAN, intercept = NAN, slope_se = NAN;
};
LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y);

// One batch size: its λ grid and what was fitted.
struct TimescalePoint {
  int batch_size = 0;       // sequences per step (train.batch_size)
  double step_tokens = 0;   // tokens per step, batch_size × block_size
  double steps = 0;         // train.steps
  double train_tokens = 0;  // data.train_tokens: the finite training set, for τ in epochs
  std::vector<const Variant*> variants;  // by ascending λ
  std::vector<double> lambdas;
  LambdaOptimum optimum;          // through the seed means
  double log_lambda_error = NAN;  // bootstrap SD of ln λ_opt
  double edge_share = 0;          // resamples whose lowest point sat at a grid edge
  double lambda_opt() const { return std::exp(optimum.log_lambda); }
  double tokens() const { return step_tokens * steps; }
};

struct TimescaleVerdict {
  std::string word;  // reproduced | partly reproduced | not reproduced
  std::string reason;
};
TimescaleVerdict timescale_verdict(bool all_interior, double slope, double slope_error);

struct TimescaleAnalysis {
  std::string preset;
  double lr = NAN;                     // the peak lr (optim.lr) of every configuration
  std::string setting;                 // "decoupled selective, decay_scaling=lr, lr 0.003"
  std::vector<TimescalePoint> points;  // by ascending batch size
  LineFit fit;                         // ln λ_opt against ln B, through the seed means
  double slope_error = NAN;            // bootstrap SD of the slope
  int resamples = 0;                   // bootstrap resamples with an estimate at every B
  int seeds = 0;                       // distinct seeds
  TimescaleVerdict verdict;
  std::string line;  // the verdict sentence with its deciding numbers
};
std::vector<TimescaleAnalysis> timescale_analyses(const std::vector<PresetVariants>& presets);

struct TimescaleSection {
  bool present = false;
  std::string markdown;  // heading, rule, verdict, tables, plot links
  std::string verdict;   // the verdict lines, for the sweep's stdout
  std::vector<std::pair<std::string, LineFigure>> figures;  // file name under plots/, figure
};
TimescaleSection timescale_section(const std::vector<PresetVariants>& presets);

}  // namespace wdlab
