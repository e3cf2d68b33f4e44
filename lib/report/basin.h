// The AdamW basin: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019,
// arXiv:1711.05101), Fig. 2. Over a learning rate × λ grid, the region of low final loss runs
// along a diagonal for Adam with L2 coupled into the gradient (the best λ moves with the learning
// rate) and is axis-aligned for decoupled decay multiplied by the schedule only
// (optim.decay_scaling=schedule; the best λ stays put when the learning rate changes).
//
// Per decay mode the grid's cells hold each seed's final validation loss. The valley: for every
// learning rate, the λ of the lowest mean loss, refined by the vertex of the parabola in log λ
// through that cell and its two neighbours ("fitted best λ", λ*); a row whose lowest cell is the
// grid's first or last λ has no interior minimum and λ* is that edge. The valley's slope: the
// least-squares slope of log10 λ* against log10 lr over the rows with an interior minimum, needing
// kBasinMinInteriorRows of them. Its error: a bootstrap over seeds (each cell's seeds resampled
// with replacement, independently, kBasinResamples times, the same rows refitted), giving a
// standard error and a 95% percentile interval.
//
// Seed spread (the check that the final loss is not bimodal across seeds, fixed in advance): a
// mode passes when none of the cells that decide its valley (in every fitted row, the lowest cell
// and its two neighbours) has a seed range (max − min) above kBasinMaxSeedRangeFraction of the
// range of the mode's cell means across the grid (highest mean − lowest). A seed that escapes
// the early loss plateau while another does not makes a cell's range most of the grid's. The
// largest range of any cell is reported beside it.
//
// Verdict, fixed before the reference run:
//   diagonal      (coupled)   the slope is measured, its 95% interval excludes 0 and
//                             |slope| ≥ kBasinDiagonalSlope
//   axis-aligned  (decoupled) the slope is measured and its 95% interval lies within
//                             [−kBasinAxisAlignedSlope, +kBasinAxisAlignedSlope]
//   a slope is measured when the mode passes the seed-spread check, has ≥ 2 seeds per cell and
//   kBasinMinInteriorRows rows with an interior minimum;
//   reproduced: coupled diagonal and decoupled axis-aligned; partly: one of the two; not
//   reproduced: neither.
//
//   for (const BasinSection& s : basin_sections(presets)) write(s.plot_name, s.figure), md +=
//   s.markdown;
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "report/aggregate.h"
#include "report/heatmap.h"

namespace wdlab {

constexpr int kBasinMinInteriorRows = 3;
constexpr int kBasinResamples = 2000;
constexpr uint64_t kBasinBootstrapSeed = 1711;  // fixed: the same results give the same interval
constexpr double kBasinDiagonalSlope = 0.5;
constexpr double kBasinAxisAlignedSlope = 0.5;
constexpr double kBasinMaxSeedRangeFraction = 0.25;

// One decay mode's grid: learning rates and λ ascending; losses[lr][λ] holds the finished seeds'
// final validation losses (empty: no finished run in that cell).
struct BasinGrid {
  std::string mode;  // "coupled" | "decoupled"
  std::vector<double> lrs, lambdas;
  std::vector<std::vector<std::vector<double>>> losses;
  std::vector<std::vector<int>> diverged;  // [lr][λ]: diverged runs, not in `losses`
};

// The vertex of the parabola through (x0, y0), (x1, y1), (x2, y2) with y1 the lowest and
// x0 < x1 < x2; x1 when the three are collinear or flat.
double parabola_vertex(double x0, double y0, double x1, double y1, double x2, double y2);

// The least-squares slope of y on x; NaN with fewer than two points or no spread in x.
double least_squares_slope(const std::vector<double>& x, const std::vector<double>& y);

struct Valley {
  std::vector<int> best;           // per lr: index of the lowest mean λ, -1 for an empty row
  std::vector<double> log_lambda;  // per lr: log10 λ*, NaN for an empty row
  std::vector<bool> interior;      // per lr: the lowest λ is neither the first nor the last
  std::vector<int> rows;           // the rows the slope is fitted over
  double slope = NAN;              // NaN when fewer than kBasinMinInteriorRows rows
};

// The valley of a grid of mean losses ([lr][λ], NaN: no value). `rows`, when given, fixes the
// rows of the slope fit (the bootstrap refits the point estimate's rows).
Valley fit_valley(const std::vector<double>& lrs, const std::vector<double>& lambdas,
                  const std::vector<std::vector<double>>& mean_loss,
                  const std::vector<int>* rows = nullptr);

struct SlopeEstimate {
  Valley valley;              // from the cells' means
  double se = NAN;            // bootstrap standard deviation of the slope
  double lo = NAN, hi = NAN;  // 95% percentile interval
  int resamples = 0;          // bootstrap resamples with a finite slope
  int min_seeds = 0;          // the fewest seeds in a cell
};
SlopeEstimate estimate_slope(const BasinGrid& grid, int resamples = kBasinResamples,
                             uint64_t seed = kBasinBootstrapSeed);

struct SeedSpread {
  double max_cell_range = NAN;     // the largest seed range of any cell
  std::string worst_cell;          // where: "lr=0.004, λ=0.01"
  double valley_cell_range = NAN;  // the largest seed range of a cell that decides the valley
  std::string worst_valley_cell;
  double grid_range = NAN;  // highest cell mean − lowest
  double pooled_sd = NAN;   // sqrt of the mean within-cell variance
  bool ok = false;          // valley_cell_range ≤ kBasinMaxSeedRangeFraction · grid_range
};
SeedSpread seed_spread(const BasinGrid& grid, const Valley& valley);

struct ModeResult {
  BasinGrid grid;
  SlopeEstimate slope;
  SeedSpread spread;
  bool measured = false;  // seed spread ok, ≥ 2 seeds, enough interior rows
  std::string why_not;    // when not measured
  bool shape = false;     // diagonal (coupled) or axis-aligned (decoupled)
};
ModeResult analyse_mode(BasinGrid grid);

struct BasinVerdict {
  std::string word;  // "reproduced" | "partly reproduced" | "not reproduced"
  std::string line;  // the verdict with its deciding numbers
};
BasinVerdict basin_verdict(const ModeResult& coupled, const ModeResult& decoupled);

// The grids of a preset's variants: every coupled and decoupled variant with a numeric lr and λ
// axis, by mode. Empty when the preset is not a basin sweep (both modes with at least three
// learning rates and three λ, one variant per cell).
std::vector<BasinGrid> basin_grids(const PresetVariants& preset);

struct BasinSection {
  std::string preset;
  std::string markdown;   // heading, verdict, per-lr table, plot link
  std::string verdict;    // the verdict line
  std::string plot_name;  // basin_<preset>.svg
  HeatmapFigure figure;
};
std::vector<BasinSection> basin_sections(const std::vector<PresetVariants>& presets);

}  // namespace wdlab
