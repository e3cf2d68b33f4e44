// Reports: seed statistics, tables, the published table, aggregation over a sweep directory, and
// the SVG plots (parsed as XML, checked for the expected series and cells).
#include <gtest/gtest.h>

#include "test_util.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "report/aggregate.h"
#include "report/findings.h"
#include "report/gradient_rise.h"
#include "report/headline.h"
#include "report/heatmap.h"
#include "report/kind_curves.h"
#include "report/lambda_plot.h"
#include "report/line_chart.h"
#include "report/loss_curves.h"
#include "report/lr_wd_heatmap.h"
#include "report/published_table.h"
#include "report/report.h"
#include "report/stats.h"
#include "report/svg.h"
#include "report/text_table.h"
#include "run/config.h"
#include "sweep/expand.h"

namespace wdlab {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// A minimal XML well-formedness check: one root element, every tag closed in order, attributes
// quoted, no raw '<' or stray '&' in text. Collects the elements' attributes for inspection.
struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attrs;
};

bool parse_xml(const std::string& doc, std::vector<XmlElement>& elements, std::string& error) {
  std::vector<std::string> open;
  size_t i = 0, roots = 0;
  auto fail_at = [&](const std::string& what) {
    error = what + " at offset " + std::to_string(i);
    return false;
  };
  auto check_text = [&](size_t from, size_t to) {
    for (size_t k = from; k < to; ++k) {
      if (doc[k] != '&') continue;
      const size_t semi = doc.find(';', k);
      if (semi == std::string::npos) return false;
      const std::string entity = doc.substr(k, semi - k + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" &&
          entity != "&apos;")
        return false;
    }
    return true;
  };
  if (doc.rfind("<?xml", 0) == 0) i = doc.find("?>") + 2;
  while (i < doc.size()) {
    const size_t lt = doc.find('<', i);
    if (lt == std::string::npos) {
      if (!check_text(i, doc.size())) return fail_at("bad entity in text");
      break;
    }
    if (!check_text(i, lt)) return fail_at("bad entity in text");
    if (open.empty() && doc.find_first_not_of(" \n\r\t", i) < lt)
      return fail_at("text outside root");
    i = lt + 1;
    if (doc[i] == '/') {
      const size_t gt = doc.find('>', i);
      const std::string name = doc.substr(i + 1, gt - i - 1);
      if (open.empty() || open.back() != name) return fail_at("unexpected </" + name + ">");
      open.pop_back();
      i = gt + 1;
      continue;
    }
    XmlElement e;
    while (i < doc.size() && !std::isspace(static_cast<unsigned char>(doc[i])) && doc[i] != '>' &&
           doc[i] != '/')
      e.name += doc[i++];
    if (e.name.empty()) return fail_at("empty tag name");
    bool self_closing = false;
    for (;;) {
      while (i < doc.size() && std::isspace(static_cast<unsigned char>(doc[i]))) ++i;
      if (i >= doc.size()) return fail_at("unterminated tag");
      if (doc[i] == '/') {
        if (doc[i + 1] != '>') return fail_at("bad '/'");
        self_closing = true;
        i += 2;
        break;
      }
      if (doc[i] == '>') {
        ++i;
        break;
      }
      std::string key;
      while (i < doc.size() && doc[i] != '=' && !std::isspace(static_cast<unsigned char>(doc[i])))
        key += doc[i++];
      if (doc[i] != '=' || doc[i + 1] != '"') return fail_at("unquoted attribute " + key);
      const size_t end = doc.find('"', i + 2);
      const std::string value = doc.substr(i + 2, end - i - 2);
      if (value.find('<') != std::string::npos) return fail_at("'<' in attribute " + key);
      if (!check_text(i + 2, end)) return fail_at("bad entity in attribute " + key);
      if (e.attrs.contains(key)) return fail_at("duplicate attribute " + key);
      e.attrs[key] = value;
      i = end + 1;
    }
    if (open.empty()) ++roots;
    if (!self_closing) open.push_back(e.name);
    elements.push_back(std::move(e));
  }
  if (!open.empty()) return fail_at("unclosed <" + open.back() + ">");
  if (roots != 1) return fail_at("expected one root element");
  return true;
}

std::vector<XmlElement> parse_svg(const std::string& doc) {
  std::vector<XmlElement> elements;
  std::string error;
  EXPECT_TRUE(parse_xml(doc, elements, error)) << error;
  EXPECT_FALSE(elements.empty());
  if (!elements.empty()) {
    EXPECT_EQ(elements[0].name, "svg");
  }
  return elements;
}

std::vector<std::string> attr_values(const std::vector<XmlElement>& elements,
                                     const std::string& attr) {
  std::vector<std::string> out;
  for (const XmlElement& e : elements) {
    if (e.attrs.contains(attr)) out.push_back(e.attrs.at(attr));
  }
  return out;
}

// The rise of a gradient-norm curve (gradient_rise.h), by hand: 100 steps logged every 5 (20
// points); the end window is the last 5 % of the steps, steps 96..100: one point. A curve that
// falls to 2 at step 50 and climbs to 6 at the end rises 3x; one that falls to the end rises 1x;
// windows of one point make the minimum the smallest value.
TEST(GradientRise, EndWindowOverLowestWindow) {
  Curve c;
  for (int s = 5; s <= 100; s += 5) {
    c.step.push_back(s);
    c.value.push_back(s <= 50 ? 12.0 - s / 5.0 : 2.0 + (s - 50) / 12.5);
  }
  ASSERT_DOUBLE_EQ(c.value[9], 2.0);      // step 50, the lowest
  ASSERT_DOUBLE_EQ(c.value.back(), 6.0);  // step 100
  EXPECT_DOUBLE_EQ(rise_ratio(c, 100), 3.0);
  Curve falling;
  for (int s = 5; s <= 100; s += 5) falling.step.push_back(s), falling.value.push_back(200.0 - s);
  EXPECT_DOUBLE_EQ(rise_ratio(falling, 100), 1.0);
  // 200 steps logged every 5: the end window holds the points after step 190 (2 of them), and
  // the lowest window is the mean of two neighbours.
  Curve two;
  for (int s = 5; s <= 200; s += 5)
    two.step.push_back(s), two.value.push_back(s == 100 ? 1.0 : 4.0);
  EXPECT_DOUBLE_EQ(rise_ratio(two, 200), 4.0 / 2.5);
  EXPECT_TRUE(std::isnan(rise_ratio(Curve{{5}, {1.0}}, 5)));
}

TEST(Stats, MeanSampleStdAndTheNoiseOfADifference) {
  const Stat a = summarize({1.0, 2.0, 3.0});
  EXPECT_EQ(a.n, 3);
  EXPECT_DOUBLE_EQ(a.mean, 2.0);
  EXPECT_DOUBLE_EQ(a.std, 1.0);  // sample std (n - 1)
  EXPECT_NEAR(a.se, 1.0 / std::sqrt(3.0), 1e-12);
  EXPECT_EQ(format_stat(a), "2.000 ± 0.577");  // mean ± standard error
  EXPECT_EQ(format_stat(summarize({3.5})), "3.500");
  EXPECT_EQ(format_stat(summarize({})), "—");

  const Stat b = summarize({4.0, 5.0, 6.0});
  const Difference d = difference(a, b);
  EXPECT_DOUBLE_EQ(d.delta, -3.0);
  EXPECT_NEAR(d.se, std::sqrt(2.0 / 3.0), 1e-12);
  EXPECT_TRUE(d.noise_known);
  EXPECT_FALSE(d.within_noise);  // 3 > 2 * 0.816
  EXPECT_TRUE(difference(summarize({1.0, 2.0, 3.0}), summarize({1.5, 2.5, 3.5})).within_noise);
  EXPECT_FALSE(difference(summarize({1.0}), b).noise_known);
  EXPECT_NE(format_difference(difference(summarize({1.0}), b)).find("1 seed: no noise estimate"),
            std::string::npos);
}

TEST(Stats, StandardErrorOfADifferenceAndTheWithinNoiseVerdict) {
  // se_a = se_b = 0.005 (two seeds 0.01 apart): se of the difference sqrt(2) * 0.005.
  const Stat a = summarize({3.225, 3.235}), b = summarize({3.595, 3.605});
  EXPECT_NEAR(a.se, 0.005, 1e-12);
  const Difference d = difference(b, a);
  EXPECT_NEAR(d.delta, 0.37, 1e-12);
  EXPECT_NEAR(d.se, std::sqrt(a.se * a.se + b.se * b.se), 1e-15);
  EXPECT_NEAR(d.se, 0.00707107, 1e-8);
  EXPECT_EQ(d.seeds, 2);
  EXPECT_FALSE(d.within_noise);
  EXPECT_EQ(format_difference(d), "+0.370 ± 0.007");
  // Just under and just over 2 se.
  const Stat c = summarize({3.238, 3.248});  // 0.013 above a: under 2 * 0.00707
  EXPECT_TRUE(difference(c, a).within_noise);
  EXPECT_EQ(format_difference(difference(c, a)), "+0.013 ± 0.007 (within noise)");
  const Stat e = summarize({3.2395, 3.2495});  // 0.0145 above a: over 2 * 0.00707
  EXPECT_FALSE(difference(e, a).within_noise);
  // One seed on either side: no noise estimate and no verdict.
  const Difference single = difference(summarize({3.6}), a);
  EXPECT_FALSE(single.noise_known);
  EXPECT_FALSE(single.within_noise);
  EXPECT_EQ(format_difference(single), "+0.370 (1 seed: no noise estimate)");
  EXPECT_NE(comparison_sentence("x", "y", single).find("1 seed: no noise estimate, no verdict"),
            std::string::npos);
  EXPECT_EQ(comparison_sentence("x", "y", d),
            "x beats y by 0.370 ± 0.007 nats (final val loss, 2 seeds)");
  EXPECT_EQ(comparison_sentence("x", "y", difference(c, a)),
            "x and y are within noise: 0.013 ± 0.007 nats apart (final val loss, 2 seeds)");
}

TEST(TextTable, MarkdownEscapesAndCsvQuotes) {
  const TextTable t{{"a", "b"}, {{"x|y", "line\nbreak"}, {"q\"uote", "c,d"}}};
  EXPECT_EQ(to_markdown(t), "| a | b |\n|---|---|\n| x\\|y | line break |\n| q\"uote | c,d |\n");
  EXPECT_EQ(to_csv(t), "a,b\nx|y,\"line\nbreak\"\n\"q\"\"uote\",\"c,d\"\n");
}

TEST(PublishedTable, RowsFromPresetsAndAClearRowWhenMissing) {
  const PublishedRow gpt2 = published_row(load_preset("gpt2"));
  EXPECT_TRUE(gpt2.present);
  ASSERT_TRUE(gpt2.seed_value.has_value());
  EXPECT_DOUBLE_EQ(*gpt2.seed_value, 0.01);
  EXPECT_EQ(gpt2.verdict, "unsourced");  // GPT-1's value: GPT-2's report states none

  const PublishedRow bare = published_row(json{{"name", "bare"}, {"__file__", "bare.json"}});
  EXPECT_FALSE(bare.present);
  const TextTable t = published_text_table({gpt2, bare});
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[1].back(), "missing");
  EXPECT_NE(t.rows[1][2].find("bare.json has no published.weight_decay_table"), std::string::npos);
  EXPECT_EQ(applied_label("decoupled_lr"), "decoupled ×lr");

  const json j = published_json({gpt2, bare});
  EXPECT_EQ(j[0]["model"], "gpt2");
  EXPECT_EQ(j[1]["status"], "missing");
  // Every model family shipped has a row (task presets such as modular have none).
  EXPECT_EQ(published_table().size(), list_model_families().size());
}

TEST(Svg, NiceTicksAndLabels) {
  EXPECT_EQ(nice_ticks(0, 10, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  const std::vector<double> t = nice_ticks(3.92, 4.17, 5);
  ASSERT_GE(t.size(), 3u);
  EXPECT_GE(t.front(), 3.92);
  EXPECT_LE(t.back(), 4.17 + 1e-9);
  EXPECT_EQ(tick_label(4.05, 0.05), "4.05");
  EXPECT_EQ(tick_label(200, 100), "200");
  EXPECT_EQ(tick_label(0.25, 0.25), "0.25");
  EXPECT_EQ(xml_escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
}

TEST(Svg, LineFigureIsWellFormedAndHoldsEverySeries) {
  LineFigure fig;
  fig.title = "Loss <curves> & more";
  LinePanel p;
  p.title = "gpt2";
  p.x_label = "step";
  p.y_label = "loss";
  p.reference_y = 2.0;
  p.reference_label = "floor";
  p.series.push_back({"coupled & \"selective\"",
                      "#4e79a7",
                      {0, 10, 20},
                      {4, 3, 2.5},
                      {3.9, 2.9, 2.4},
                      {4.1, 3.1, 2.6},
                      false,
                      true,
                      2});
  p.series.push_back({"decoupled", "#f28e2b", {0, 10, 20}, {4, 3.2, NAN}, {}, {}, true, false, 1});
  fig.panels = {p, p};
  fig.panels[1].title = "llama";
  fig.legend = {{"coupled", "#4e79a7", "solid"}, {"seeds", "#555", "band"}};
  const std::vector<XmlElement> elements = parse_svg(render_line_figure(fig));
  std::vector<std::string> series;
  for (const XmlElement& e : elements) {
    if (e.attrs.contains("data-series"))
      series.push_back(e.attrs.at("data-panel") + "/" + e.attrs.at("data-series"));
  }
  EXPECT_EQ(series,
            (std::vector<std::string>{"gpt2/coupled &amp; &quot;selective&quot;", "gpt2/decoupled",
                                      "llama/coupled &amp; "
                                      "&quot;selective&quot;",
                                      "llama/decoupled"}));
  int polylines = 0, bands = 0;
  for (const XmlElement& e : elements) {
    polylines += e.name == "polyline";
    bands += e.name == "polygon";
  }
  EXPECT_EQ(polylines, 4);
  EXPECT_EQ(bands, 2);
}

TEST(Svg, HeatmapIsWellFormedWithOneCellPerValueAndTheBestOutlined) {
  HeatmapFigure fig;
  fig.title = "lr × λ";
  fig.value_label = "val";
  HeatmapPanel p;
  p.title = "coupled";
  p.x_ticks = {"0.001", "0.01", "0.1"};
  p.y_ticks = {"0.001", "0.003"};
  p.values = {{3.5, 3.4, NAN}, {3.3, 3.6, 3.9}};
  p.marks = {{"", "", "diverged"}, {"", "", ""}};
  fig.panels = {p, p};
  fig.panels[1].title = "decoupled";
  const std::string svg = render_heatmap_figure(fig);
  const std::vector<XmlElement> elements = parse_svg(svg);
  EXPECT_EQ(attr_values(elements, "data-panel"),
            (std::vector<std::string>{"coupled", "decoupled"}));
  int cells = 0, best = 0;
  for (const XmlElement& e : elements) {
    if (e.attrs.contains("class") && e.attrs.at("class") == "cell") ++cells;
    if (e.attrs.contains("class") && e.attrs.at("class") == "best") ++best;
  }
  EXPECT_EQ(cells, 12);
  EXPECT_EQ(best, 2);
  EXPECT_NE(svg.find(">diverged<"), std::string::npos);
  EXPECT_NE(svg.find("data-value=\"3.3\""), std::string::npos);
}

// A sweep directory written by hand: the plan from a real spec, run directories with made-up
// summaries and metrics.
std::string read_text(const fs::path& file);

class ReportTest : public ::testing::Test {
 protected:
  fs::path root = fs::temp_directory_path() /
                  ("wdlab_report_" +
                   std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  SweepPlan plan;
  void SetUp() override { fs::remove_all(root); }
  void TearDown() override { fs::remove_all(root); }

  void make_plan(const std::string& spec) {
    plan = expand_sweep(parse_sweep_spec(spec, "test.json", "test"));
    fs::create_directories(root);
    write_file_atomic(root / "sweep.json", plan_to_json(plan).dump(2));
  }

  // final val loss = f(run); 3 evaluations and 3 training points. `per_kind`: the trainer's
  // newer schema (per-kind norm., grad_norm., update_rel. keys; wd_step and wd_budget for
  // decoupled runs only; a null decay budget for coupled runs); without it, an older run's.
  void write_run(const PlannedRun& run, const std::string& status, double final_val,
                 bool per_kind = false) {
    const fs::path dir = root / run.name;
    fs::create_directories(dir);
    json config = resolve_config(load_preset(run.preset), run.scale, run.overrides);
    const std::string mode = config["optim"]["decay_mode"].get<std::string>();
    json summary = {{"status", status},
                    {"config_id", run.id},
                    {"final_val_loss", final_val},
                    {"best_val_loss", final_val - 0.01},
                    {"best_val_step", 5},
                    {"final_train_loss", final_val - 0.1},
                    {"decay_budget", 0.5},
                    {"norm_decay", 10.0},
                    {"norm_no_decay", 2.0},
                    {"window_floor", 2.37},
                    {"final_val_minus_floor", final_val - 2.37}};
    const std::map<std::string, double> kinds = {
        {"matrix", 20.0}, {"embedding", 8.0}, {"bias", 0.05}, {"norm_gain", 4.0}};
    if (per_kind) {
      summary["decay_budget"] = mode == "decoupled" ? json(0.5) : mode == "none" ? json(0) : json();
      for (const auto& [kind, norm] : kinds) summary["norm." + kind] = norm;
    }
    write_file_atomic(dir / "config.json", config.dump(2));
    write_file_atomic(dir / "summary.json", summary.dump(2));
    std::string metrics;
    for (int step : {0, 5, 10}) {
      metrics +=
          json{{"step", step}, {"val_loss", 4.2 - (4.2 - final_val) * step / 10}}.dump() + "\n";
      if (!step) continue;
      json row = {{"step", step}, {"train_loss", 4.0 - 0.05 * step}, {"grad_norm", 1.0 / step}};
      if (per_kind) {
        for (const auto& [kind, norm] : kinds) {
          row["norm." + kind] = norm * (1 + 0.01 * step);
          row["grad_norm." + kind] = 0.1 * norm / step;
          row["update_rel." + kind] = 1e-3 / step;
        }
        if (mode == "decoupled") row.update(json{{"wd_step", 0.05}, {"wd_budget", 0.05 * step}});
      }
      metrics += row.dump() + "\n";
    }
    metrics += "{\"step\": 11, \"train_lo";  // a torn last line is skipped
    write_file_atomic(dir / "metrics.jsonl", metrics);
  }
};

TEST_F(ReportTest, AggregatesSeedsComparesToTheBaselineAndPicksTheBest) {
  make_plan(R"({
    "base": {"preset": "gpt2", "scale": "tiny"},
    "grid": {"optim.decay_mode": ["coupled", "decoupled"], "optim.decay_scope": ["selective", "uniform"]},
    "seeds": [1, 2, 3]
  })");
  ASSERT_EQ(plan.runs.size(), 12u);
  // coupled/selective: 3.50 3.52 3.54; coupled/uniform (baseline): 3.60 3.61 3.62;
  // decoupled/selective: 3.40 3.41 diverged; decoupled/uniform: 3.59 3.62 and one missing.
  const double vals[12] = {3.50, 3.52, 3.54, 3.60, 3.61, 3.62, 3.40, 3.41, 0, 3.59, 3.62, 0};
  for (size_t i = 0; i < 12; ++i) {
    if (i == 11) continue;
    write_run(plan.runs[i], i == 8 ? "diverged" : "finished", vals[i]);
  }
  const SweepResults results = load_sweep_results(root);
  EXPECT_EQ(results.runs[11].status, "missing");
  EXPECT_EQ(results.runs[0].val.step.size(), 3u);
  EXPECT_EQ(results.runs[0].train.step.size(), 2u);

  const std::vector<PresetVariants> presets = aggregate_variants(results);
  ASSERT_EQ(presets.size(), 1u);
  const std::vector<Variant>& v = presets[0].variants;
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].label, "decay_mode=coupled, decay_scope=selective");
  EXPECT_NEAR(v[0].final_val.mean, 3.52, 1e-12);
  EXPECT_NEAR(v[0].final_val.std, 0.02, 1e-12);
  EXPECT_EQ(v[2].finished, 2);
  EXPECT_EQ(v[2].diverged, 1);
  EXPECT_EQ(v[3].incomplete, 1);
  EXPECT_EQ(presets[0].best, 2);
  EXPECT_EQ(v[0].baseline, 1);
  EXPECT_EQ(v[1].baseline, 1);
  ASSERT_TRUE(v[0].vs_baseline.has_value());
  EXPECT_NEAR(v[0].vs_baseline->delta, -0.09, 1e-12);
  EXPECT_FALSE(v[0].vs_baseline->within_noise);
  ASSERT_TRUE(v[3].vs_baseline.has_value());
  EXPECT_TRUE(v[3].vs_baseline->within_noise);  // 3.605 vs 3.61, spread 0.02
  EXPECT_FALSE(v[1].vs_baseline.has_value());

  // The diverged seed is named in the findings.
  const PresetFindings f = preset_findings(presets[0]);
  ASSERT_FALSE(f.sentences.empty());
  EXPECT_EQ(f.sentences.back(),
            "gpt2: decoupled selective λ=0.01 diverged in 1 of 3 seeds (its mean is over the "
            "finished seeds)");

  // The curves: mean over seeds with the range as a band.
  const LineFigure fig = loss_curve_figure(results, presets);
  ASSERT_EQ(fig.panels.size(), 1u);
  const std::vector<XmlElement> elements = parse_svg(render_line_figure(fig));
  std::vector<std::string> series = attr_values(elements, "data-series");
  EXPECT_EQ(series.size(), 8u);  // train + validation per configuration
  EXPECT_NE(std::find(series.begin(), series.end(),
                      "decay_mode=decoupled, decay_scope=uniform · validation"),
            series.end());
  const SeedCurve c = combine_seeds({&results.runs[0].val, &results.runs[1].val});
  EXPECT_NEAR(c.mean.back(), 3.51, 1e-12);
  EXPECT_NEAR(c.lo.back(), 3.50, 1e-12);
  EXPECT_NEAR(c.hi.back(), 3.52, 1e-12);
}

TEST_F(ReportTest, WritesSummaryCsvAndAHeatmapForAnLrLambdaGrid) {
  make_plan(R"({
    "base": {"preset": "gpt2", "scale": "tiny"},
    "grid": [{"optim.decay_mode": "coupled", "optim.lr": [0.001, 0.003], "optim.weight_decay": [0.0001, 0.001]},
             {"optim.decay_mode": "decoupled", "optim.lr": [0.001, 0.003], "optim.weight_decay": [0.1, 1]}]
  })");
  for (const PlannedRun& r : plan.runs) write_run(r, "finished", 3.0 + 0.01 * r.index);
  const ReportFiles files = write_report(root);
  EXPECT_TRUE(fs::exists(files.markdown));
  EXPECT_TRUE(fs::exists(files.csv));
  // Validation loss against λ, loss curves, gradient norms (the total), the heatmap.
  ASSERT_EQ(files.plots.size(), 4u);
  EXPECT_EQ(files.plots[0].filename(), "val_vs_lambda.svg");
  EXPECT_EQ(files.plots[3].filename(), "lr_wd_gpt2.svg");
  std::ifstream in(files.plots[3]);
  const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<XmlElement> elements = parse_svg(svg);
  EXPECT_EQ(attr_values(elements, "data-panel"),
            (std::vector<std::string>{"decay_mode=coupled", "decay_mode=decoupled"}));
  EXPECT_EQ(attr_values(elements, "data-value").size(), 8u);

  std::ifstream csv(files.csv);
  std::string header, line;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("preset,configuration,optim.decay_mode,optim.lr,optim.weight_decay", 0),
            0u);
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 8);
  std::ifstream md(files.markdown);
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("plots/lr_wd_gpt2.svg"), std::string::npos);
  // lr varied for each mode: each option at its best (λ, lr), and the sentences name the lr.
  EXPECT_NE(text.find("- lr tuned per mode: each option at its best (λ, lr); lr tried: coupled "
                      "{0.001, 0.003}; decoupled {0.001, 0.003}."),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("coupled L2 at its best λ (0.0001, lr 0.001, selective)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("### gpt2"), std::string::npos);
}

// The spec's metric and goal name one best configuration across presets: a line at the top of
// summary.md and the column best_by_metric in summary.csv.
TEST_F(ReportTest, BestByTheSpecsMetricIsNamedInTheHeadlineAndMarkedInTheCsv) {
  auto run_report = [&](const std::string& objective) {
    fs::remove_all(root);
    make_plan(R"({
      "base": {"preset": ["gpt2", "llama"], "scale": "tiny"},
      "grid": {"optim.decay_mode": ["coupled", "decoupled"]},
      "seeds": [1, 2])" +
              objective + "}");
    // gpt2 coupled 3.1, 3.3; gpt2 decoupled 3.0, 3.2; llama coupled 3.6, 3.8 (one diverged at
    // 2.0, not counted); llama decoupled 3.4, 3.5.
    const double vals[8] = {3.1, 3.3, 3.0, 3.2, 3.6, 2.0, 3.4, 3.5};
    for (size_t i = 0; i < 8; ++i)
      write_run(plan.runs[i], i == 5 ? "diverged" : "finished", vals[i]);
    const ReportFiles files = write_report(root);
    return std::make_pair(read_text(files.markdown), read_text(files.csv));
  };
  auto [md, csv] = run_report("");
  EXPECT_NE(md.find("**Best by final_val_loss (minimize):** gpt2, decay_mode=decoupled: 3.1 ± "
                    "0.1 (mean ± SE of 2 finished runs); best single run `002_preset=gpt2,"
                    "decay_mode=decoupled,seed=1`: 3."),
            std::string::npos)
      << md.substr(0, 600);
  std::istringstream lines(csv);
  std::string header, line;
  std::getline(lines, header);
  EXPECT_TRUE(header.ends_with(",best_by_metric")) << header;
  std::vector<std::string> marked;
  while (std::getline(lines, line)) {
    if (line.ends_with(",true")) marked.push_back(line.substr(0, line.find(',', 5)));
  }
  EXPECT_EQ(marked, (std::vector<std::string>{"gpt2,decay_mode=decoupled"}));

  std::tie(md, csv) = run_report(R"(, "metric": "final_val_loss", "goal": "maximize")");
  EXPECT_NE(md.find("**Best by final_val_loss (maximize):** llama, decay_mode=coupled: 3.6 "
                    "(mean of 1 finished run)"),
            std::string::npos)
      << md.substr(0, 600);
}

TEST_F(ReportTest, TableSweepHeadlineNamesTheWinnerPerLambda) {
  make_plan(R"({
    "base": {"preset": "gpt2", "scale": "tiny", "overrides": {"train.steps": 20}},
    "grid": [{"optim.decay_mode": "none", "optim.weight_decay": 0},
             {"optim.decay_mode": "decoupled", "optim.decay_scope": ["selective", "uniform"],
              "optim.weight_decay": ["@published", "@budget_matched"]},
             {"optim.decay_mode": "coupled", "optim.decay_scope": ["selective", "uniform"],
              "optim.weight_decay": ["@published", 0.001]}],
    "seeds": [1, 2],
    "reproduce_table": true
  })");
  ASSERT_EQ(plan.runs.size(), 18u);
  for (const PlannedRun& r : plan.runs) {
    const bool decoupled = r.axis("optim.decay_mode")->get<std::string>() == "decoupled";
    bool budget = false;
    for (const Assignment& a : r.axes) budget = budget || a.ref == "@budget_matched";
    const double seed = r.axis("seed")->get<double>();
    // none: 3.60; decoupled at the budget λ wins clearly; at the published λ all within noise.
    double v = 3.6 + 0.001 * seed;
    if (r.axis("optim.decay_mode")->get<std::string>() != "none" && budget && decoupled)
      v = 3.4 + 0.001 * seed;
    if (r.axis("optim.decay_mode")->get<std::string>() != "none" && !budget)
      v = 3.6 + 0.002 * seed + (decoupled ? -0.0005 : 0.0);
    write_run(r, "finished", v);
  }
  const SweepResults results = load_sweep_results(root);
  const std::vector<PresetVariants> presets = aggregate_variants(results);
  const HeadlineCell budget = headline_cell(presets[0], "@budget_matched");
  ASSERT_TRUE(budget.measured);
  EXPECT_EQ(budget.winner.rfind("decoupled/", 0), 0u);
  EXPECT_GT(budget.lambda, 0.0);
  const HeadlineCell published = headline_cell(presets[0], "@published");
  ASSERT_TRUE(published.measured);
  EXPECT_DOUBLE_EQ(published.lambda, 0.01);

  const ReportFiles files = write_report(root);
  // The row: published λ and verdict, the recipe's result, each comparison with its noise, the
  // best decoupled λ and its timescale.
  const std::string& h = files.headline;
  EXPECT_NE(h.find("| gpt2 | 0.01 (unsourced) | λ="), std::string::npos) << h;
  EXPECT_NE(h.find("+0.20 ± 0.00"), std::string::npos) << h;     // none − recipe
  EXPECT_NE(h.find("(recipe better)"), std::string::npos) << h;  // clears the noise
  EXPECT_NE(h.find("| λ=0.01: +0.20"), std::string::npos) << h;  // coupled at its best λ (a tie)
  EXPECT_NE(h.find("within noise"), std::string::npos) << h;     // uniform: same values
  EXPECT_NE(h.find("τ_iter="), std::string::npos) << h;
  std::ifstream md(files.markdown);
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("## Headline"), std::string::npos);
}

// none, decoupled and coupled each on their own λ grid, both scopes, 2 seeds.
const char* kModesSpec = R"({
  "base": {"preset": "gpt2", "scale": "tiny"},
  "grid": [{"optim.decay_mode": "none"},
           {"optim.decay_mode": "decoupled", "optim.decay_scope": ["selective", "uniform"],
            "optim.weight_decay": [0.1, 1]},
           {"optim.decay_mode": "coupled", "optim.decay_scope": ["selective", "uniform"],
            "optim.weight_decay": [0.001, 0.01]}],
  "seeds": [1, 2]
})";

// Mean final validation loss per configuration of kModesSpec; seeds at mean ∓ 0.005 (se 0.005).
double modes_value(const PlannedRun& r) {
  const std::string mode = r.axis("optim.decay_mode")->get<std::string>();
  const json* scope = r.axis("optim.decay_scope");
  const bool uniform = scope && scope->get<std::string>() == "uniform";
  const double lambda =
      r.axis("optim.weight_decay") ? r.axis("optim.weight_decay")->get<double>() : 0.0;
  double v = 3.6;  // none
  if (mode == "decoupled") v = lambda == 1 ? (uniform ? 3.85 : 3.23) : (uniform ? 3.50 : 3.40);
  if (mode == "coupled") v = lambda == 0.001 ? (uniform ? 3.385 : 3.38) : (uniform ? 3.55 : 3.50);
  return v + (r.axis("seed")->get<int>() == 1 ? -0.005 : 0.005);
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  return {(std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()};
}

TEST_F(ReportTest, FindingsCompareEachModeAtItsOwnBestLambdaWithTheSeedNoise) {
  make_plan(kModesSpec);
  ASSERT_EQ(plan.runs.size(), 18u);
  for (const PlannedRun& r : plan.runs) write_run(r, "finished", modes_value(r));
  const SweepResults results = load_sweep_results(root);
  const std::vector<PresetVariants> presets = aggregate_variants(results);
  const PresetFindings f = preset_findings(presets[0]);

  // Ranked by final val loss, each option at its own best λ.
  ASSERT_EQ(f.ranking.size(), 5u);
  EXPECT_EQ(f.ranking[0].option, "decoupled/selective");
  EXPECT_DOUBLE_EQ(f.ranking[0].best->weight_decay, 1.0);
  EXPECT_EQ(f.ranking[0].tried, 2);
  EXPECT_EQ(f.ranking[1].option, "coupled/selective");
  EXPECT_DOUBLE_EQ(f.ranking[1].best->weight_decay, 0.001);
  EXPECT_EQ(f.ranking[2].option, "coupled/uniform");
  EXPECT_EQ(f.ranking[3].option, "decoupled/uniform");
  EXPECT_DOUBLE_EQ(f.ranking[3].best->weight_decay, 0.1);  // not decoupled selective's λ
  EXPECT_EQ(f.ranking[4].option, "none");
  const std::string lr = fmt::format("{}", presets[0].variants[0].lr);
  EXPECT_EQ(f.lr_note, "lr not tuned per mode (lr = " + lr + " for all)");

  EXPECT_EQ(
      f.sentences,
      (std::vector<std::string>{
          "gpt2: decoupled selective λ=1 (its best of 2) beats no decay by 0.370 ± 0.007 nats "
          "(final val loss, 2 seeds)",
          "gpt2: decoupled selective λ=1 (its best of 2) beats coupled L2 at its best λ (0.001, "
          "selective) by 0.150 ± 0.007 nats (final val loss, 2 seeds)",
          "gpt2: decoupled λ=1: uniform scope costs 0.620 ± 0.007 nats against selective at the "
          "same λ (final val loss, 2 seeds)",
          "gpt2: coupled L2 λ=0.001: uniform and selective scope are within noise at the same λ "
          "(+0.005 ± 0.007 nats, 2 seeds)"}));
  ASSERT_FALSE(f.sentences.empty());

  const TextTable t = ranking_table(f);
  ASSERT_EQ(t.rows.size(), 5u);
  EXPECT_EQ(t.rows[0][1], "decoupled selective");
  EXPECT_EQ(t.rows[0][2], "1");
  EXPECT_EQ(t.rows[0][5], "3.230 ± 0.005");  // final
  EXPECT_EQ(t.rows[0][6], "3.220 ± 0.005");  // best
  EXPECT_EQ(t.rows[0][7], "5");              // step of the best
  EXPECT_EQ(t.rows[2][9], "+0.155 ± 0.007");

  // The report: findings first, the budget only for decoupled runs, best val and its step in
  // the table and the csv.
  const ReportFiles files = write_report(root);
  const std::string md = read_text(files.markdown);
  EXPECT_NE(md.find("## Findings"), std::string::npos);
  EXPECT_NE(md.find("- " + f.sentences[0] + "."), std::string::npos) << md;
  EXPECT_NE(md.find("n/a (coupled L2)"), std::string::npos);
  EXPECT_LT(md.find("## Findings"), md.find("## Results per configuration"));
  EXPECT_EQ(files.findings.find(f.sentences[0]), 0u);
  EXPECT_EQ(files.best,
            "gpt2: best decay_mode=decoupled, decay_scope=selective, weight_decay=1 "
            "(final val 3.230 ± 0.005)\n");  // a clear lead: nothing to add
  std::ifstream csv(files.csv);
  std::string header, row;
  std::getline(csv, header);
  for (const char* column : {"final_val_se", "best_val_mean", "best_val_se", "best_val_step_mean"})
    EXPECT_NE(header.find(column), std::string::npos) << column;
  // Coupled rows leave the budget empty: it is no decay budget.
  const size_t budget_col = [&] {
    size_t n = 0;
    for (size_t i = 0; i < header.find(",decay_budget_mean"); ++i) n += header[i] == ',';
    return n + 1;
  }();
  while (std::getline(csv, row)) {
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (char c : row) {
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) {
        cells.push_back(cell);
        cell.clear();
      } else {
        cell += c;
      }
    }
    cells.push_back(cell);
    ASSERT_GT(cells.size(), budget_col);
    if (row.find(",coupled,") != std::string::npos) {
      EXPECT_EQ(cells[budget_col], "") << row;
    } else if (row.find(",decoupled,") != std::string::npos) {
      EXPECT_EQ(cells[budget_col], "0.5") << row;
    }
  }
}

TEST_F(ReportTest, OneSeedGivesNoVerdict) {
  make_plan(R"({
    "base": {"preset": "gpt2", "scale": "tiny"},
    "grid": [{"optim.decay_mode": "none"},
             {"optim.decay_mode": "decoupled", "optim.weight_decay": 1}]
  })");
  write_run(plan.runs[0], "finished", 3.6);
  write_run(plan.runs[1], "finished", 3.2);
  const PresetFindings f = preset_findings(aggregate_variants(load_sweep_results(root))[0]);
  ASSERT_EQ(f.sentences.size(), 1u);
  EXPECT_EQ(f.sentences[0],
            "gpt2: decoupled selective λ=1 is lower than no decay by 0.400 nats (final val loss; "
            "1 seed: no noise estimate, no verdict)");
  EXPECT_EQ(f.sentences[0].find("beats"), std::string::npos);
  EXPECT_NE(write_report(root).best.find("; no noise estimate against no decay (+0.400 (1 seed"),
            std::string::npos);
}

// The rendered legend fits the figure: every entry's text ends inside the width.
void expect_legend_fits(const std::string& svg) {
  const size_t width_at = svg.find("width=\"", svg.find("<svg"));
  const double width = std::stod(svg.substr(width_at + 7));
  const size_t legend = svg.find("class=\"legend\"");
  ASSERT_NE(legend, std::string::npos);
  int entries = 0;
  for (size_t at = svg.find("<text x=\"", legend); at != std::string::npos;
       at = svg.find("<text x=\"", at + 1)) {
    const double x = std::stod(svg.substr(at + 9));
    const size_t open = svg.find('>', at) + 1;
    const std::string text = svg.substr(open, svg.find("</text>", open) - open);
    EXPECT_LE(x + text_width(text, 12), width) << text;
    ++entries;
  }
  EXPECT_GT(entries, 0);
}

// A decoupled λ means another shrink under each decay_scaling: one line per scaling, named.
TEST_F(ReportTest, LambdaPlotKeepsDecayScalingsApart) {
  make_plan(R"({
    "base": {"preset": "gpt2", "scale": "tiny"},
    "grid": [{"optim.decay_mode": "decoupled", "optim.decay_scaling": "lr",
              "optim.weight_decay": [0.1, 1]},
             {"optim.decay_mode": "decoupled", "optim.decay_scaling": "lr_squared",
              "optim.weight_decay": 100}]
  })");
  for (const PlannedRun& r : plan.runs) write_run(r, "finished", 3.0);
  const SweepResults results = load_sweep_results(root);
  const LineFigure f = lambda_figure(results, aggregate_variants(results));
  ASSERT_FALSE(f.panels.empty());
  ASSERT_EQ(f.panels[0].series.size(), 2u);
  EXPECT_EQ(f.panels[0].series[0].name, "decoupled selective (decay_scaling=lr)");
  EXPECT_EQ(f.panels[0].series[0].x, (std::vector<double>{0.1, 1}));
  EXPECT_EQ(f.panels[0].series[1].name, "decoupled selective (decay_scaling=lr_squared)");
  EXPECT_EQ(f.panels[0].series[1].x, (std::vector<double>{100}));
  EXPECT_NE(f.panels[0].series[0].color, f.panels[0].series[1].color);
}

TEST_F(ReportTest, PlotsShowLambdaModesScopesAndPerKindCurves) {
  make_plan(kModesSpec);
  for (const PlannedRun& r : plan.runs) write_run(r, "finished", modes_value(r), true);
  const SweepResults results = load_sweep_results(root);
  const std::vector<PresetVariants> presets = aggregate_variants(results);

  // Validation loss against λ: log x, a line per mode × scope with error bars, no decay a band.
  const LineFigure by_lambda = lambda_figure(results, presets);
  ASSERT_EQ(by_lambda.panels.size(), 2u);  // final and best
  EXPECT_TRUE(by_lambda.panels[0].log_x);
  ASSERT_EQ(by_lambda.panels[0].series.size(), 4u);
  EXPECT_EQ(by_lambda.panels[0].series[0].name, "decoupled selective");
  EXPECT_EQ(by_lambda.panels[0].series[0].x, (std::vector<double>{0.1, 1}));
  EXPECT_NEAR(by_lambda.panels[0].series[0].err[1], 0.005, 1e-12);
  EXPECT_TRUE(by_lambda.panels[0].series[1].dashed);  // uniform
  ASSERT_EQ(by_lambda.panels[0].bands.size(), 1u);
  EXPECT_NEAR(by_lambda.panels[0].bands[0].y, 3.6, 1e-12);
  const std::string lambda_svg = render_line_figure(by_lambda);
  const std::vector<XmlElement> le = parse_svg(lambda_svg);
  int errorbars = 0, log_panels = 0;
  for (const XmlElement& e : le) {
    errorbars += e.attrs.contains("class") && e.attrs.at("class") == "errorbar";
    log_panels += e.attrs.contains("data-log-x") && e.attrs.at("data-log-x") == "1";
  }
  EXPECT_EQ(errorbars, 2 * 8 * 3);  // 2 panels × 8 points × (bar + 2 caps)
  EXPECT_EQ(log_panels, 2);
  expect_legend_fits(lambda_svg);

  // Loss curves: colour by mode, dash by scope, train faint beside validation, legend inside.
  const LineFigure curves = loss_curve_figure(results, presets);
  std::map<std::string, const LineSeries*> by_name;
  for (const LineSeries& s : curves.panels[0].series) by_name[s.name] = &s;
  const LineSeries* dec_uni =
      by_name["decay_mode=decoupled, decay_scope=uniform, weight_decay=1 · validation"];
  const LineSeries* dec_uni_train =
      by_name["decay_mode=decoupled, decay_scope=uniform, weight_decay=1 · train"];
  const LineSeries* cou_sel =
      by_name["decay_mode=coupled, decay_scope=selective, weight_decay=0.01 · validation"];
  ASSERT_TRUE(dec_uni && dec_uni_train && cou_sel);
  EXPECT_TRUE(dec_uni->dashed);
  EXPECT_FALSE(cou_sel->dashed);
  EXPECT_EQ(dec_uni->color, decay_mode_color("decoupled", 1.0));  // the larger λ: darkest
  EXPECT_EQ(cou_sel->color, decay_mode_color("coupled", 1.0));
  EXPECT_EQ(dec_uni_train->color, dec_uni->color);
  EXPECT_LT(dec_uni_train->opacity, 1.0);
  EXPECT_LT(dec_uni_train->width, dec_uni->width);
  EXPECT_NE(
      by_name["decay_mode=decoupled, decay_scope=uniform, weight_decay=0.1 · validation"]->color,
      dec_uni->color);  // shaded by λ
  expect_legend_fits(render_line_figure(curves));

  // Per-kind norms, gradients and relative updates: a panel per option, a series per kind.
  for (const char* metric : {"norm", "grad_norm", "update_rel"}) {
    SCOPED_TRACE(metric);
    const LineFigure fig = kind_curve_figure(results, presets[0], metric);
    ASSERT_EQ(fig.panels.size(), 5u);
    EXPECT_EQ(fig.panels[0].title, "no decay");
    EXPECT_EQ(fig.panels[1].title, "decoupled selective λ=1");
    std::vector<std::string> names;
    for (const LineSeries& s : fig.panels[1].series) names.push_back(s.name);
    std::vector<std::string> expected = {"matrix", "embedding", "bias", "norm_gain"};
    if (std::string(metric) == "grad_norm") expected.push_back("all parameters");
    EXPECT_EQ(names, expected);
    // bias 0.05 against matrix 20; the relative updates are alike across kinds here.
    EXPECT_EQ(fig.panels[1].log_y, std::string(metric) != "update_rel");
    const std::vector<XmlElement> ke = parse_svg(render_line_figure(fig));
    EXPECT_EQ(attr_values(ke, "data-series").size(), 5 * expected.size());
  }

  // The report lists the plots and the per-kind final norms.
  const ReportFiles files = write_report(root);
  std::vector<std::string> plots;
  for (const fs::path& p : files.plots) plots.push_back(p.filename().string());
  EXPECT_EQ(plots,
            (std::vector<std::string>{"val_vs_lambda.svg", "loss_curves.svg", "norm_gpt2.svg",
                                      "grad_norm_gpt2.svg", "update_rel_gpt2.svg"}));
  const std::string md = read_text(files.markdown);
  EXPECT_NE(md.find("| ‖w‖ matrix |"), std::string::npos);
  EXPECT_NE(read_text(files.csv).find("norm.matrix_mean"), std::string::npos);
}

TEST_F(ReportTest, OlderRunsWithoutPerKindKeysStillReport) {
  make_plan(kModesSpec);
  for (const PlannedRun& r : plan.runs) write_run(r, "finished", modes_value(r), false);
  const SweepResults results = load_sweep_results(root);
  const std::vector<PresetVariants> presets = aggregate_variants(results);
  EXPECT_TRUE(presets[0].variants[0].kind_norms.empty());
  // An older coupled summary logged a "decay budget": it is not one, so it is not reported.
  for (const Variant& v : presets[0].variants)
    EXPECT_EQ(v.decay_budget.n, v.decay_mode == "decoupled" ? 2 : 0) << v.label;
  // No per-kind keys: norms fall back to nothing here (the metrics hold none), gradients to
  // the total; no relative updates.
  EXPECT_TRUE(kind_curve_figure(results, presets[0], "norm").panels.empty());
  const LineFigure grad = kind_curve_figure(results, presets[0], "grad_norm");
  ASSERT_EQ(grad.panels.size(), 5u);
  ASSERT_EQ(grad.panels[0].series.size(), 1u);
  EXPECT_EQ(grad.panels[0].series[0].name, "all parameters");
  EXPECT_TRUE(kind_curve_figure(results, presets[0], "update_rel").panels.empty());
  const ReportFiles files = write_report(root);
  EXPECT_EQ(files.plots.size(), 3u);  // λ, loss curves, gradient norms
  EXPECT_EQ(read_text(files.markdown).find("‖w‖ matrix"), std::string::npos);
}

// A sweep.json whose "spec" nests half a million levels deep overflowed the stack when the plan
// copied it: JSON deeper than any wdlab writes is now unreadable, a clear error.
TEST(SweepResults, DeeplyNestedJsonIsUnreadableNotACrash) {
  const std::string deep = std::string(500000, '[') + std::string(500000, ']');
  EXPECT_TRUE(parse_result_json(R"({"name": "x", "runs": [], "spec": )" + deep + "}").is_null());
  EXPECT_EQ(parse_result_json(R"({"spec": [[1]]})")["spec"][0][0], 1);
  const fs::path root = fs::temp_directory_path() / "wdlab_report_deep";
  fs::create_directories(root);
  write_file_atomic(root / "sweep.json", R"({"name": "x", "runs": [], "spec": )" + deep + "}");
  const std::string msg = test::error_of([&] { load_sweep_results(root); });
  EXPECT_NE(msg.find("unreadable JSON"), std::string::npos) << msg;
  fs::remove_all(root);
}

// Captures what the library logs (spdlog's default logger) while alive.
class LogCapture {
 public:
  LogCapture()
      : previous_(spdlog::default_logger()),
        sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

// A metrics line that parses but is not what a run writes is skipped with a warning naming the
// file and the line; a summary whose numbers are not numbers makes its run not completed, never
// averaged.
TEST_F(ReportTest, BadMetricsLinesAndDamagedSummariesAreNamedNotAveraged) {
  make_plan(kModesSpec);
  for (const PlannedRun& r : plan.runs) write_run(r, "finished", modes_value(r));
  const fs::path metrics = root / plan.runs[0].name / "metrics.jsonl";
  std::string lines = read_text(metrics);
  lines.insert(0, "{\"step\": \"x\", \"val_loss\": 1.0}\n{\"step\": 7, \"train_loss\": \"x\"}\n");
  write_file_atomic(metrics, lines);
  const fs::path summary = root / plan.runs[1].name / "summary.json";
  json damaged = json::parse(read_text(summary));
  damaged["final_val_loss"] = "x";
  write_file_atomic(summary, damaged.dump());

  LogCapture log;
  const SweepResults results = load_sweep_results(root);
  const std::string warnings = log.text();
  EXPECT_NE(warnings.find(metrics.string() + ":1: skipped: \"step\" is \"x\", not a number"),
            std::string::npos)
      << warnings;
  EXPECT_NE(warnings.find(metrics.string() + ":2: skipped: \"train_loss\" is \"x\""),
            std::string::npos)
      << warnings;
  EXPECT_NE(warnings.find(":8: skipped: not JSON"), std::string::npos) << warnings;  // torn
  EXPECT_EQ(results.runs[0].val.step.size(), 3u);
  EXPECT_EQ(results.runs[0].train.step.size(), 2u);

  EXPECT_EQ(results.runs[1].status, "unfinished");
  EXPECT_FALSE(results.runs[1].completed());
  EXPECT_NE(warnings.find(summary.string() +
                          ": \"final_val_loss\" is \"x\", not a number: counted as not completed"),
            std::string::npos)
      << warnings;
  const std::vector<PresetVariants> presets = aggregate_variants(results);
  EXPECT_EQ(presets[0].variants[0].incomplete, 1);  // runs 0 and 1 are its two seeds
  EXPECT_EQ(presets[0].variants[0].final_val.n, 1);
  EXPECT_NO_THROW(write_report(root));
}

TEST(SweepResults, NotASweepDirectoryIsAClearError) {
  try {
    load_sweep_results(fs::temp_directory_path() / "wdlab_no_such_sweep");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no sweep.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wdlab
