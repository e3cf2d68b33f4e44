// The AdamW-basin math (report/basin.h): the parabola vertex, the valley of a grid, its slope, the
// bootstrap over seeds, the seed-spread check and the verdict, on grids whose answer is known; and
// the heatmap's standard errors and valley line.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>

#include "report/basin.h"
#include "report/heatmap.h"

namespace wdlab {
namespace {

const std::vector<double> kLrs = {0.001, 0.002, 0.004, 0.008, 0.016};
const std::vector<double> kLambdas = {1e-4, 1e-3, 1e-2, 1e-1, 1};

// A grid whose cell (lr, λ) holds `seeds` losses f(log10 lr, log10 λ) + noise(seed).
BasinGrid make_grid(const std::string& mode, const std::function<double(double, double)>& f,
                    int seeds, double noise = 0.0) {
  BasinGrid g;
  g.mode = mode;
  g.lrs = kLrs, g.lambdas = kLambdas;
  g.losses.assign(kLrs.size(), std::vector<std::vector<double>>(kLambdas.size()));
  g.diverged.assign(kLrs.size(), std::vector<int>(kLambdas.size(), 0));
  for (size_t i = 0; i < kLrs.size(); ++i) {
    for (size_t j = 0; j < kLambdas.size(); ++j) {
      for (int s = 0; s < seeds; ++s) {
        // A fixed, seed- and cell-dependent offset in [-noise, noise].
        const double u = std::sin(12.9898 * (i + 1) + 78.233 * (j + 1) + 37.719 * (s + 1));
        g.losses[i][j].push_back(f(std::log10(kLrs[i]), std::log10(kLambdas[j])) + noise * u);
      }
    }
  }
  return g;
}

// The best λ is 1e-5 / lr: λ* moves against the learning rate with slope -1 (a diagonal).
double diagonal(double log_lr, double log_lambda) {
  const double best = -5.0 - log_lr;
  return 3.0 + 0.2 * (log_lambda - best) * (log_lambda - best);
}
// The best λ is 1e-2 at every learning rate (axis-aligned); the learning rate moves the level.
double axis_aligned(double log_lr, double log_lambda) {
  return 3.0 + 0.2 * (log_lambda + 2.0) * (log_lambda + 2.0) +
         0.1 * (log_lr + 2.5) * (log_lr + 2.5);
}

TEST(Basin, ParabolaVertexOfThreePointsEvenlyAndUnevenlySpaced) {
  auto f = [](double x) { return 2.0 * (x - 1.3) * (x - 1.3) + 0.5; };
  EXPECT_NEAR(parabola_vertex(0, f(0), 1, f(1), 2, f(2)), 1.3, 1e-12);
  EXPECT_NEAR(parabola_vertex(0, f(0), 1, f(1), 3, f(3)), 1.3, 1e-12);
  EXPECT_NEAR(parabola_vertex(-1, 4, 0, 1, 1, 4), 0.0, 1e-12);  // symmetric
  EXPECT_EQ(parabola_vertex(0, 1, 1, 1, 2, 1), 1.0);            // flat: the middle point
}

TEST(Basin, LeastSquaresSlope) {
  EXPECT_NEAR(least_squares_slope({1, 2, 3, 4}, {3, 5, 7, 9}), 2.0, 1e-12);
  EXPECT_NEAR(least_squares_slope({0, 1, 2}, {1, 0, 2}), 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(least_squares_slope({1}, {1})));
  EXPECT_TRUE(std::isnan(least_squares_slope({2, 2}, {1, 3})));
}

TEST(Basin, ValleyOfADiagonalBasinHasSlopeMinusOne) {
  const BasinGrid g = make_grid("coupled", diagonal, 1);
  std::vector<std::vector<double>> means(kLrs.size());
  for (size_t i = 0; i < kLrs.size(); ++i) {
    for (const auto& cell : g.losses[i]) means[i].push_back(cell[0]);
  }
  const Valley v = fit_valley(kLrs, kLambdas, means);
  ASSERT_EQ(v.rows.size(), 5u);
  // λ* = 1e-5 / lr exactly: the loss is a parabola in log λ, so the vertex is exact.
  for (size_t i = 0; i < kLrs.size(); ++i) {
    EXPECT_TRUE(v.interior[i]);
    EXPECT_NEAR(v.log_lambda[i], -5.0 - std::log10(kLrs[i]), 1e-9) << i;
  }
  EXPECT_EQ(v.best[0], 2);  // 1e-2 at lr 1e-3
  EXPECT_NEAR(v.slope, -1.0, 1e-9);
}

TEST(Basin, ValleyOfAnAxisAlignedBasinHasSlopeZero) {
  const BasinGrid g = make_grid("decoupled", axis_aligned, 1);
  std::vector<std::vector<double>> means(kLrs.size());
  for (size_t i = 0; i < kLrs.size(); ++i) {
    for (const auto& cell : g.losses[i]) means[i].push_back(cell[0]);
  }
  const Valley v = fit_valley(kLrs, kLambdas, means);
  EXPECT_NEAR(v.slope, 0.0, 1e-9);
  for (double l : v.log_lambda) EXPECT_NEAR(l, -2.0, 1e-9);
}

TEST(Basin, RowsWithTheirMinimumAtTheGridEdgeAreLeftOutOfTheSlope) {
  // The best λ 10^-5.7 / lr: nearest to the grid's first λ (1e-4) for lr ≥ 0.008 (the last two
  // rows end at the edge).
  auto f = [](double log_lr, double log_lambda) {
    const double best = -5.7 - log_lr;
    return 3.0 + 0.2 * (log_lambda - best) * (log_lambda - best);
  };
  BasinGrid g = make_grid("coupled", f, 1);
  std::vector<std::vector<double>> means(kLrs.size());
  for (size_t i = 0; i < kLrs.size(); ++i) {
    for (const auto& cell : g.losses[i]) means[i].push_back(cell[0]);
  }
  const Valley v = fit_valley(kLrs, kLambdas, means);
  EXPECT_EQ(v.interior, (std::vector<bool>{true, true, true, false, false}));
  EXPECT_EQ(v.rows, (std::vector<int>{0, 1, 2}));
  EXPECT_NEAR(v.log_lambda[4], -4.0, 1e-12);  // the edge itself
  EXPECT_NEAR(v.slope, -1.0, 1e-9);
  // One more edge row and there are too few interior rows for a slope.
  means[2][0] = 2.0;
  EXPECT_TRUE(std::isnan(fit_valley(kLrs, kLambdas, means).slope));
}

TEST(Basin, BootstrapIntervalIsZeroWithoutNoiseAndCoversTheSlopeWithIt) {
  const SlopeEstimate exact = estimate_slope(make_grid("coupled", diagonal, 3));
  EXPECT_NEAR(exact.valley.slope, -1.0, 1e-9);
  EXPECT_EQ(exact.resamples, kBasinResamples);
  EXPECT_NEAR(exact.se, 0.0, 1e-9);
  EXPECT_NEAR(exact.lo, -1.0, 1e-9);
  EXPECT_NEAR(exact.hi, -1.0, 1e-9);

  const BasinGrid noisy = make_grid("coupled", diagonal, 3, 0.01);
  const SlopeEstimate a = estimate_slope(noisy), b = estimate_slope(noisy);
  EXPECT_GT(a.se, 0.0);
  EXPECT_LT(a.lo, a.valley.slope);
  EXPECT_GT(a.hi, a.valley.slope);
  EXPECT_LT(a.hi - a.lo, 1.0);
  EXPECT_EQ(a.se, b.se);  // a fixed bootstrap seed: the same interval every time
  EXPECT_EQ(a.lo, b.lo);
  EXPECT_NE(estimate_slope(noisy, kBasinResamples, 7).lo, a.lo);

  // One seed: no noise estimate, no interval.
  const SlopeEstimate one = estimate_slope(make_grid("coupled", diagonal, 1));
  EXPECT_EQ(one.min_seeds, 1);
  EXPECT_TRUE(std::isnan(one.se));
}

TEST(Basin, SeedSpreadFlagsABimodalCell) {
  BasinGrid g = make_grid("decoupled", axis_aligned, 3, 0.01);
  auto spread = [](const BasinGrid& grid) { return analyse_mode(grid).spread; };
  SeedSpread s = spread(g);
  EXPECT_TRUE(s.ok);
  EXPECT_LE(s.max_cell_range, 0.02);
  EXPECT_GT(s.grid_range, 0.5);
  // A seed 0.6 nats higher far from the valley (λ = 1e-4, two cells from the best λ = 1e-2):
  // reported, but it does not decide the valley.
  g.losses[2][0][1] += 0.6;
  s = spread(g);
  EXPECT_TRUE(s.ok);
  EXPECT_EQ(s.worst_cell, "lr=0.004, λ=0.0001");
  EXPECT_GT(s.max_cell_range, 0.5);
  EXPECT_LE(s.valley_cell_range, 0.02);
  // One seed stuck on a plateau next to the valley's floor: the cell's range is most of the
  // grid's, and the mode is not measured.
  g.losses[2][3][1] += 0.6;
  s = spread(g);
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.worst_valley_cell, "lr=0.004, λ=0.1");
  const ModeResult m = analyse_mode(g);
  EXPECT_FALSE(m.measured);
  EXPECT_NE(m.why_not.find("the seeds disagree"), std::string::npos);
}

TEST(Basin, VerdictReproducedPartlyAndNot) {
  const ModeResult diag_coupled = analyse_mode(make_grid("coupled", diagonal, 3, 0.005));
  const ModeResult flat_decoupled = analyse_mode(make_grid("decoupled", axis_aligned, 3, 0.005));
  ASSERT_TRUE(diag_coupled.measured) << diag_coupled.why_not;
  ASSERT_TRUE(flat_decoupled.measured) << flat_decoupled.why_not;
  EXPECT_TRUE(diag_coupled.shape);
  EXPECT_TRUE(flat_decoupled.shape);
  BasinVerdict v = basin_verdict(diag_coupled, flat_decoupled);
  EXPECT_EQ(v.word, "reproduced");
  EXPECT_EQ(v.line.rfind("**AdamW basin: reproduced at this scale.** Coupled L2: valley slope", 0),
            0u)
      << v.line;

  // Both diagonal: the decoupled half fails.
  const ModeResult diag_decoupled = analyse_mode(make_grid("decoupled", diagonal, 3, 0.005));
  EXPECT_FALSE(diag_decoupled.shape);
  EXPECT_EQ(basin_verdict(diag_coupled, diag_decoupled).word, "partly reproduced");
  // The shapes swapped: neither half holds.
  const ModeResult flat_coupled = analyse_mode(make_grid("coupled", axis_aligned, 3, 0.005));
  EXPECT_FALSE(flat_coupled.shape);
  v = basin_verdict(flat_coupled, diag_decoupled);
  EXPECT_EQ(v.word, "not reproduced");
  // One seed: not measured, whatever the shape.
  const ModeResult one = analyse_mode(make_grid("coupled", diagonal, 1));
  EXPECT_FALSE(one.measured);
  EXPECT_NE(basin_verdict(one, flat_decoupled).line.find("not measured (1 seed(s) in some cell"),
            std::string::npos);
}

TEST(Basin, HeatmapShowsStandardErrorsAndTheValley) {
  HeatmapFigure fig;
  HeatmapPanel p;
  p.title = "coupled";
  p.x_ticks = {"0.001", "0.01", "0.1"};
  p.y_ticks = {"0.001", "0.003"};
  p.values = {{3.5, 3.4, NAN}, {3.3, 3.6, 3.9}};
  p.errors = {{0.012, NAN, NAN}, {0.004, 0.005, 0.006}};
  p.marks = {{"", "", "diverged"}, {"", "", ""}};
  p.valley_x = {1.0, 0.4};
  fig.panels = {p};
  const std::string svg = render_heatmap_figure(fig);
  EXPECT_NE(svg.find("data-se=\"0.012\""), std::string::npos);
  EXPECT_NE(svg.find(">± 0.012<"), std::string::npos);
  EXPECT_NE(svg.find(">± 0.006<"), std::string::npos);
  size_t n = 0;
  for (size_t at = svg.find("data-se="); at != std::string::npos; at = svg.find("data-se=", at + 1))
    ++n;
  EXPECT_EQ(n, 4u);  // a cell without a value or without an error has none
  EXPECT_NE(svg.find("<g class=\"valley\">"), std::string::npos);
  // Well-formed enough for a renderer: no element names an attribute twice.
  for (size_t at = svg.find('<'); at != std::string::npos; at = svg.find('<', at + 1)) {
    const std::string tag = svg.substr(at, svg.find('>', at) - at);
    std::set<std::string> names;
    for (size_t eq = tag.find("=\""); eq != std::string::npos; eq = tag.find("=\"", eq + 1)) {
      const size_t start = tag.rfind(' ', eq) + 1;
      EXPECT_TRUE(names.insert(tag.substr(start, eq - start)).second) << tag;
      eq = tag.find('"', eq + 2);
      if (eq == std::string::npos) break;
    }
  }
  size_t markers = 0;
  for (size_t at = svg.find("<polygon"); at != std::string::npos; at = svg.find("<polygon", at + 1))
    ++markers;
  EXPECT_EQ(markers, 2u);
  // Without errors and valley the figure is as before: no taller cells, no valley.
  fig.panels[0].errors.clear();
  fig.panels[0].valley_x.clear();
  const std::string plain = render_heatmap_figure(fig);
  EXPECT_EQ(plain.find("data-se="), std::string::npos);
  EXPECT_EQ(plain.find("valley"), std::string::npos);
}

}  // namespace
}  // namespace wdlab
