// The AdamW timescale section's fit math (report/timescale.h): the parabola through three points,
// λ_opt from a λ grid, the least-squares slope with its residual error, the verdict rule, and the
// whole estimate with its bootstrap over seeds on synthetic sweeps whose λ_opt is known.
#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/aggregate.h"
#include "report/timescale.h"

namespace wdlab {
namespace {

TEST(Timescale, ParabolaThroughThreePointsIsExact) {
  const double x[3] = {-1.0, 0.5, 2.0};
  double y[3];
  for (int i = 0; i < 3; ++i) y[i] = 1.5 - 0.75 * x[i] + 2.25 * x[i] * x[i];
  const Parabola q = parabola_through(x, y);
  EXPECT_NEAR(q.a, 1.5, 1e-12);
  EXPECT_NEAR(q.b, -0.75, 1e-12);
  EXPECT_NEAR(q.c, 2.25, 1e-12);
  EXPECT_NEAR(q.at(3.0), 1.5 - 2.25 + 20.25, 1e-12);
}

// Losses exactly quadratic in ln λ: the vertex is recovered off the grid.
TEST(Timescale, LambdaOptimumIsTheVertexInLogLambda) {
  const std::vector<double> lambdas = {0.5, 1, 2, 4, 8};
  const double best = 2.7;
  std::vector<double> losses;
  for (double l : lambdas) losses.push_back(3.0 + 0.4 * std::pow(std::log(l / best), 2));
  const LambdaOptimum o = lambda_optimum(lambdas, losses);
  EXPECT_TRUE(o.interior);
  EXPECT_EQ(o.lowest, 2);  // λ = 2 is nearer 2.7 than 4 is, in ln λ
  EXPECT_NEAR(std::exp(o.log_lambda), best, 1e-9);
  EXPECT_NEAR(o.curvature, 0.4, 1e-9);
}

// Only the lowest point and its neighbours enter: far points do not pull the vertex.
TEST(Timescale, LambdaOptimumUsesTheLowestPointAndItsNeighbours) {
  const std::vector<double> lambdas = {0.25, 1, 4, 16, 64};
  const std::vector<double> losses = {9.0, 3.2, 3.0, 3.2, 103.0};
  const LambdaOptimum o = lambda_optimum(lambdas, losses);
  EXPECT_TRUE(o.interior);
  EXPECT_EQ(o.lowest, 2);
  EXPECT_NEAR(std::exp(o.log_lambda), 4.0, 1e-9);  // symmetric neighbours: the middle point
}

TEST(Timescale, LambdaOptimumAtTheGridEdgeIsNotInterior) {
  const LambdaOptimum low = lambda_optimum({1, 2, 4}, {3.0, 3.1, 3.2});
  EXPECT_FALSE(low.interior);
  EXPECT_EQ(low.lowest, 0);
  EXPECT_NEAR(low.log_lambda, 0.0, 1e-12);
  const LambdaOptimum high = lambda_optimum({1, 2, 4}, {3.2, 3.1, 3.0});
  EXPECT_FALSE(high.interior);
  EXPECT_EQ(high.lowest, 2);
  EXPECT_EQ(lambda_optimum({}, {}).lowest, -1);
}

TEST(Timescale, FitLineSlopeAndResidualError) {
  // Exact line: slope exact, no residual error.
  const LineFit exact = fit_line({0, 1, 2, 3}, {0.5, 1.5, 2.5, 3.5});
  EXPECT_NEAR(exact.slope, 1.0, 1e-12);
  EXPECT_NEAR(exact.intercept, 0.5, 1e-12);
  EXPECT_NEAR(exact.slope_se, 0.0, 1e-12);
  // Values from numpy.linalg.lstsq: slope 0.99, intercept 0.04, residual SE of the slope
  // sqrt(RSS / (n − 2) / Σ(x − x̄)²) = 0.0932738.
  const LineFit noisy = fit_line({0, 1, 2, 3}, {0, 1.2, 1.8, 3.1});
  EXPECT_NEAR(noisy.slope, 0.99, 1e-12);
  EXPECT_NEAR(noisy.intercept, 0.04, 1e-12);
  EXPECT_NEAR(noisy.slope_se, 0.0932737905308882, 1e-12);
  // Two points: a slope, no error; one point or equal x: nothing.
  const LineFit two = fit_line({std::log(8.0), std::log(32.0)}, {0.0, std::log(4.0)});
  EXPECT_NEAR(two.slope, 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(two.slope_se));
  EXPECT_TRUE(std::isnan(fit_line({1}, {2}).slope));
  EXPECT_TRUE(std::isnan(fit_line({1, 1}, {2, 3}).slope));
}

TEST(Timescale, VerdictRule) {
  EXPECT_EQ(timescale_verdict(true, 0.95, 0.1).word, "reproduced");
  EXPECT_EQ(timescale_verdict(true, 1.15, 0.05).word, "reproduced");  // within the 0.2 tolerance
  EXPECT_EQ(timescale_verdict(true, 1.35, 0.2).word, "reproduced");   // within 2 errors
  EXPECT_EQ(timescale_verdict(true, 0.5, 0.05).word, "partly reproduced");  // grows, not linearly
  EXPECT_EQ(timescale_verdict(true, 0.9, 0.3).word, "partly reproduced");   // too noisy to call
  EXPECT_EQ(timescale_verdict(true, 0.1, 0.1).word, "not reproduced");      // no growth
  EXPECT_EQ(timescale_verdict(true, -0.5, 0.1).word, "not reproduced");
  EXPECT_EQ(timescale_verdict(false, 1.0, 0.01).word, "not reproduced");  // an edge optimum
  EXPECT_EQ(timescale_verdict(true, 1.0, NAN).word, "not reproduced");
}

// A synthetic sweep: GPT-2-like configs at batch sizes 8, 16, 32 and a fixed token budget, a λ
// grid per batch size, three seeds; final validation loss quadratic in ln λ around λ_opt(B),
// plus a small seed offset and a small seed × λ wobble.
struct SyntheticSweep {
  std::deque<RunResult> runs;  // stable addresses for Variant::runs
  std::vector<PresetVariants> presets;

  SyntheticSweep(double exponent, const std::vector<double>& grid_factors, double wobble = 0.002) {
    PresetVariants p;
    p.preset = "gpt2";
    for (int b : {8, 16, 32}) {
      const double opt = 1.5 * std::pow(b / 8.0, exponent);
      for (double f : grid_factors) {
        Variant v;
        v.preset = "gpt2";
        v.decay_mode = "decoupled";
        v.decay_scope = "selective";
        v.weight_decay = 1.5 * std::pow(b / 8.0, 0.5) * f;
        v.lr = 0.003;
        std::vector<double> losses;
        for (int seed : {1, 2, 3}) {
          RunResult& r = runs.emplace_back();
          r.status = "finished";
          const double x = std::log(v.weight_decay / opt);
          const double loss =
              3.2 + 0.05 * x * x + 0.01 * seed + wobble * std::sin(7 * seed + b + x);
          r.config = {{"seed", seed},
                      {"model", {{"block_size", 64}}},
                      {"data", {{"train_tokens", 16384}}},
                      {"train", {{"batch_size", b}, {"steps", 8000 / b}}},
                      {"optim", {{"decay_scaling", "lr"}}}};
          r.summary = {{"final_val_loss", loss}};
          v.runs.push_back(&r);
          losses.push_back(loss);
        }
        v.final_val = summarize(losses);
        v.finished = 3;
        p.variants.push_back(v);
      }
    }
    presets.push_back(p);
  }
};

TEST(Timescale, RecoversALinearScalingWithItsError) {
  const SyntheticSweep s(1.0, {0.25, 0.5, 1, 2, 4});
  const std::vector<TimescaleAnalysis> a = timescale_analyses(s.presets);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(a[0].points.size(), 3u);
  EXPECT_EQ(a[0].seeds, 3);
  EXPECT_EQ(a[0].resamples, kTimescaleResamples);
  for (const TimescalePoint& p : a[0].points) {
    EXPECT_TRUE(p.optimum.interior);
    EXPECT_NEAR(p.lambda_opt(), 1.5 * p.batch_size / 8.0, 0.05 * p.lambda_opt());
    EXPECT_GT(p.log_lambda_error, 1e-3);  // the wobble differs by seed
    EXPECT_LT(p.log_lambda_error, 0.1);
    EXPECT_EQ(p.tokens(), 8000 * 64.0);
  }
  EXPECT_NEAR(a[0].fit.slope, 1.0, 0.05);
  EXPECT_GT(a[0].slope_error, 1e-3);
  EXPECT_LT(a[0].slope_error, 0.1);
  EXPECT_EQ(a[0].verdict.word, "reproduced");
  EXPECT_NE(a[0].line.find("AdamW timescale: reproduced"), std::string::npos);
}

// A seed that shifts every λ's loss alike moves no optimum: the bootstrap draws the same seeds
// for every batch size and λ, so such offsets add no error; the report is the same every time.
TEST(Timescale, BootstrapPairsSeedsAcrossLambdaAndIsDeterministic) {
  const SyntheticSweep offsets_only(1.0, {0.25, 0.5, 1, 2, 4}, 0.0);
  const TimescaleAnalysis a = timescale_analyses(offsets_only.presets).at(0);
  for (const TimescalePoint& p : a.points) EXPECT_LT(p.log_lambda_error, 1e-9);
  EXPECT_LT(a.slope_error, 1e-9);
  const SyntheticSweep s(1.0, {0.25, 0.5, 1, 2, 4});
  const TimescaleAnalysis first = timescale_analyses(s.presets).at(0);
  const TimescaleAnalysis second = timescale_analyses(s.presets).at(0);
  EXPECT_EQ(first.slope_error, second.slope_error);
  EXPECT_EQ(first.line, second.line);
}

TEST(Timescale, NoScalingIsNotReproduced) {
  const SyntheticSweep s(0.0, {0.25, 0.5, 1, 2, 4});
  const std::vector<TimescaleAnalysis> a = timescale_analyses(s.presets);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_NEAR(a[0].fit.slope, 0.0, 0.05);
  EXPECT_EQ(a[0].verdict.word, "not reproduced");
}

TEST(Timescale, AGridThatMissesTheOptimumIsNotReproduced) {
  // Grids centred on 1.5·√(B/8) and a factor 2 wide each way miss λ_opt ∝ B² at B = 32.
  const SyntheticSweep s(2.0, {0.5, 1, 2});
  const std::vector<TimescaleAnalysis> a = timescale_analyses(s.presets);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_FALSE(a[0].points.back().optimum.interior);
  EXPECT_EQ(a[0].verdict.word, "not reproduced");
}

// The section: verdict, one row per batch size, and two figures: loss against λ and against
// τ_EMA (a series and a fitted parabola per batch size), λ_opt and τ_EMA against B (an error bar
// per batch size, the fit, the slope-1 line and the points), log axes where they belong.
TEST(Timescale, SectionHasTheTableAndBothFigures) {
  const SyntheticSweep s(1.0, {0.25, 0.5, 1, 2, 4});
  const TimescaleSection section = timescale_section(s.presets);
  ASSERT_TRUE(section.present);
  EXPECT_NE(section.markdown.find("**AdamW timescale: reproduced at this scale.**"),
            std::string::npos);
  EXPECT_NE(section.verdict.find("AdamW timescale: reproduced"), std::string::npos);
  for (const char* row :
       {"\n| 8 | 512 | 1000 | ", "\n| 16 | 1024 | 500 | ", "\n| 32 | 2048 | 250 | "})
    EXPECT_NE(section.markdown.find(row), std::string::npos) << row;
  ASSERT_EQ(section.figures.size(), 2u);
  EXPECT_EQ(section.figures[0].first, "timescale_val_vs_lambda.svg");
  EXPECT_EQ(section.figures[1].first, "timescale_lambda_opt.svg");
  const LineFigure& loss = section.figures[0].second;
  ASSERT_EQ(loss.panels.size(), 2u);
  for (const LinePanel& p : loss.panels) {
    EXPECT_TRUE(p.log_x);
    EXPECT_EQ(p.series.size(), 6u);  // 3 batch sizes, 3 parabolas
  }
  const LineFigure& opt = section.figures[1].second;
  ASSERT_EQ(opt.panels.size(), 2u);
  for (const LinePanel& p : opt.panels) {
    EXPECT_TRUE(p.log_x && p.log_y);
    EXPECT_EQ(p.series.size(), 6u);  // 3 error bars, the fit, slope 1, the points
  }
  // The claim's line is flat in τ_EMA, the fit's is not where the slope differs from 1.
  const LineSeries& claim_tau = opt.panels[1].series[4];
  ASSERT_EQ(claim_tau.y.size(), 2u);
  EXPECT_NEAR(claim_tau.y[0], claim_tau.y[1], 1e-9 * claim_tau.y[0]);
  const std::string svg = render_line_figure(loss);
  size_t series = 0;
  for (size_t at = svg.find("class=\"series\""); at != std::string::npos;
       at = svg.find("class=\"series\"", at + 1))
    ++series;
  EXPECT_EQ(series, 12u);
}

TEST(Timescale, NeedsSeveralBatchSizesWithThreeLambdas) {
  EXPECT_TRUE(timescale_analyses(SyntheticSweep(1.0, {0.5, 1}).presets).empty());
  SyntheticSweep one_b(1.0, {0.5, 1, 2});
  std::erase_if(one_b.presets[0].variants, [](const Variant& v) {
    return v.runs.front()->config_value("train.batch_size") != 8;
  });
  EXPECT_TRUE(timescale_analyses(one_b.presets).empty());
  EXPECT_FALSE(timescale_section(one_b.presets).present);
}

}  // namespace
}  // namespace wdlab
