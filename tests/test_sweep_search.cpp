// Sweep spec search keys: the value generators ({"range": ...}, {"logspace": ...}) with their
// values, run names and errors; random search ("method": "random") and its determinism; a grid
// group's own preset and scale; "metric" and "goal" for the report's best configuration.
#include <gtest/gtest.h>

#include "test_util.h"

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweep/expand.h"
#include "sweep/random_search.h"
#include "sweep/spec.h"
#include "sweep/value_generators.h"

namespace wdlab {
namespace {
using nlohmann::json;
using test::error_of;

SweepSpec spec_of(const std::string& text) {
  return parse_sweep_spec(text, "test.json", "test");
}

SweepPlan plan_of(const std::string& text, const std::vector<std::string>& command_line = {}) {
  SweepSpec spec = spec_of(text);
  apply_command_line(spec, command_line);
  return expand_sweep(spec);
}

std::vector<json> values_of(const std::string& generator) {
  return generate_values(nlohmann::ordered_json::parse(generator), "test.json", "/grid/x");
}

std::vector<std::string> names_of(const SweepPlan& plan) {
  std::vector<std::string> names;
  for (const PlannedRun& r : plan.runs) names.push_back(r.name);
  return names;
}

TEST(ValueGenerators, RangeOfIntegersIsIntegers) {
  const std::vector<json> v = values_of(R"({"range": [2, 10, 4]})");
  EXPECT_EQ(v, (std::vector<json>{2, 6, 10}));
  EXPECT_TRUE(v[0].is_number_integer());
  EXPECT_EQ(values_of(R"({"range": [2, 9, 4]})"), (std::vector<json>{2, 6}));  // 10 > 9
  EXPECT_EQ(values_of(R"({"range": [3, 1, -1]})"), (std::vector<json>{3, 2, 1}));
  EXPECT_EQ(values_of(R"({"range": [5, 5, 1]})"), (std::vector<json>{5}));
}

TEST(ValueGenerators, RangeOfNumbersIncludesTheEndWithinRounding) {
  // 0.1 + 2 * 0.1 is 0.30000000000000004 in doubles; the generator gives 0.3, and includes
  // 0.3 as the end although (0.3 - 0.1) / 0.1 is 1.9999999999999998.
  const std::vector<json> v = values_of(R"({"range": [0.1, 0.3, 0.1]})");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].get<double>(), 0.1);
  EXPECT_EQ(v[1].get<double>(), 0.2);
  EXPECT_EQ(v[2].get<double>(), 0.3);
  EXPECT_TRUE(v[0].is_number_float());
  EXPECT_EQ(values_of(R"({"range": [0, 1, 0.25]})"),
            (std::vector<json>{0.0, 0.25, 0.5, 0.75, 1.0}));
}

TEST(ValueGenerators, LogspaceHitsBothEndsExactly) {
  const std::vector<json> v = values_of(R"({"logspace": [1e-4, 1e-2, 5]})");
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v[0].get<double>(), 1e-4);
  EXPECT_EQ(v[2].get<double>(), 1e-3);
  EXPECT_EQ(v[4].get<double>(), 1e-2);
  EXPECT_EQ(v[1].dump(), "0.000316227766017");  // 12 significant digits, printed round-trip
  EXPECT_EQ(values_of(R"({"logspace": [1, 1000, 4]})"), (std::vector<json>{1, 10.0, 100.0, 1000}));
}

TEST(ValueGenerators, ErrorsNameTheFilePathAndWhatIsAllowed) {
  struct Case {
    const char* generator;
    const char* path;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"range": [1, 2]})", "test.json: /grid/x/range:", "[start, stop, step]"},
           {R"({"range": [1, 2, 0]})", "test.json: /grid/x/range:", "step not 0"},
           {R"({"range": [1, 2, -1]})", "test.json: /grid/x/range:", "pointing from start to stop"},
           {R"({"range": [1, "b", 1]})", "test.json: /grid/x/range/1:", "three numbers"},
           {R"({"range": [0, 1e9, 1]})", "test.json: /grid/x/range:", "more than the 10000"},
           {R"({"logspace": [0, 1, 3]})", "test.json: /grid/x/logspace/0:", "low > 0"},
           {R"({"logspace": [1e-3, 1, 1]})", "test.json: /grid/x/logspace/2:", "n >= 2"},
           {R"({"logspace": [1e-3, 1, 2.5]})", "test.json: /grid/x/logspace/2:", "integer n"},
           {R"({"range": [1, 2, 1], "logspace": [1, 2, 2]})", "test.json: /grid/x:", "one key"},
       }) {
    const std::string e = error_of([&] { values_of(c.generator); });
    EXPECT_NE(e.find(c.path), std::string::npos) << c.generator << ": " << e;
    EXPECT_NE(e.find(c.says), std::string::npos) << c.generator << ": " << e;
  }
}

TEST(ValueGenerators, WorkInGridAndZipWithStableRunNames) {
  const SweepPlan plan = plan_of(R"({
    "base": {"preset": "gpt2", "scale": "tiny", "overrides": {"optim.decay_mode": "decoupled"}},
    "grid": {"optim.weight_decay": {"logspace": [0.01, 1, 3]}},
    "zip": [{"optim.lr": {"range": [0.001, 0.003, 0.002]}, "optim.warmup_steps": [10, 20]}]
  })");
  EXPECT_EQ(names_of(plan),
            (std::vector<std::string>{"000_weight_decay=0.01,lr=0.001,warmup_steps=10",
                                      "001_weight_decay=0.01,lr=0.003,warmup_steps=20",
                                      "002_weight_decay=0.1,lr=0.001,warmup_steps=10",
                                      "003_weight_decay=0.1,lr=0.003,warmup_steps=20",
                                      "004_weight_decay=1,lr=0.001,warmup_steps=10",
                                      "005_weight_decay=1,lr=0.003,warmup_steps=20"}));
  // A generated value the key cannot take is refused with the generator's path.
  const std::string e = error_of([] {
    spec_of(R"({"base": {"preset": "gpt2"}, "grid": {"train.steps": {"range": [1, 2, 0.5]}}})");
  });
  EXPECT_NE(e.find("test.json: /grid/train.steps"), std::string::npos) << e;
}

const char* kRandom = R"({
  "base": {"preset": "gpt2", "scale": "tiny"},
  "grid": {"optim.decay_mode": ["coupled", "decoupled"],
           "optim.weight_decay": {"logspace": [0.001, 1, 4]},
           "optim.lr": [0.001, 0.003, 0.01]},
  "seeds": [1, 2],
  "method": "random", "run_cap": 5, "seed": 11
})";

TEST(RandomSearch, SamplesRunCapDistinctPointsDeterministically) {
  const SweepPlan a = plan_of(kRandom), b = plan_of(kRandom);
  ASSERT_EQ(a.runs.size(), 10u);  // 5 points x 2 seeds
  EXPECT_EQ(names_of(a), names_of(b));
  std::set<std::string> points;
  for (const PlannedRun& r : a.runs) {
    std::string point;
    for (const Assignment& x : r.axes) {
      if (x.key != "seed") point += x.key + "=" + x.value.dump() + ";";
    }
    points.insert(point);
  }
  EXPECT_EQ(points.size(), 5u) << "no point twice";

  std::string other_seed = kRandom;
  other_seed.replace(other_seed.find("\"seed\": 11"), 10, "\"seed\": 12");
  EXPECT_NE(names_of(plan_of(other_seed)), names_of(a));
}

TEST(RandomSearch, SampleIsInGridOrderAndTheWholeGridAtFullCap) {
  std::vector<Factor> factors(2);
  for (int i = 0; i < 4; ++i) factors[0].push_back({{"a", i, ""}});
  for (int i = 0; i < 3; ++i) factors[1].push_back({{"b", i, ""}});
  const Factor all = sample_points(factors, 12, 5);
  ASSERT_EQ(all.size(), 12u);
  for (size_t i = 0; i < 12; ++i) {
    EXPECT_EQ(all[i][0].value, static_cast<int>(i / 3));
    EXPECT_EQ(all[i][1].value, static_cast<int>(i % 3));
  }
  const Factor some = sample_points(factors, 4, 5);
  EXPECT_EQ(some.size(), 4u);
  for (size_t i = 1; i < some.size(); ++i) {
    const int prev = some[i - 1][0].value.get<int>() * 3 + some[i - 1][1].value.get<int>();
    EXPECT_LT(prev, some[i][0].value.get<int>() * 3 + some[i][1].value.get<int>());
  }
}

TEST(RandomSearch, ErrorsNameTheKeyAndTheBounds) {
  auto with = [](const std::string& keys) {
    return R"({"base": {"preset": "gpt2"}, "grid": {"optim.lr": [0.001, 0.003, 0.01]}, )" + keys +
           "}";
  };
  struct Case {
    std::string spec;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {with(R"("method": "random", "run_cap": 4)"),
            "test.json: /run_cap: expected an integer from 1 to 3"},
           {with(R"("method": "random", "run_cap": 0)"),
            "test.json: /run_cap: expected an integer"},
           {with(R"("method": "random", "run_cap": 1.5)"), "test.json: /run_cap"},
           {with(R"("method": "random")"), "test.json: /run_cap: required"},
           {with(R"("method": "bayes")"), "test.json: /method: expected \"grid\""},
           {with(R"("run_cap": 2)"), "test.json: /run_cap: applies to \"method\": \"random\""},
           {with(R"("seed": 2)"), "test.json: /seed: applies to \"method\": \"random\" only"},
           {with(R"("method": "random", "run_cap": 2, "seed": -1)"), "test.json: /seed"},
       }) {
    const std::string e = error_of([&] { spec_of(c.spec); });
    EXPECT_NE(e.find(c.says), std::string::npos) << c.spec << "\n" << e;
  }
}

TEST(GridGroupPreset, MixedPresetArmsInOneSpec) {
  const SweepPlan plan = plan_of(R"({
    "base": {"scale": "tiny"},
    "grid": [{"preset": "gpt2", "optim.decay_mode": ["coupled", "decoupled"]},
             {"preset": ["llama", "palm"], "optim.decay_mode": "none"}],
    "seeds": [1]
  })");
  std::vector<std::string> presets;
  for (const PlannedRun& r : plan.runs) presets.push_back(r.preset);
  EXPECT_EQ(presets, (std::vector<std::string>{"gpt2", "gpt2", "llama", "palm"}));
  EXPECT_EQ(plan.runs[2].axis("optim.decay_mode")->get<std::string>(), "none");
  for (const PlannedRun& r : plan.runs) {
    for (const std::string& o : r.overrides)
      EXPECT_FALSE(o.starts_with("preset=") || o.starts_with("scale=")) << o;
  }
}

TEST(GridGroupPreset, GroupsWithoutAPresetUseTheBaseAndGroupsMayHaveAScale) {
  const SweepPlan plan = plan_of(R"({
    "base": {"preset": "gpt2", "scale": "tiny"},
    "grid": [{"optim.decay_mode": "none"},
             {"preset": "llama", "scale": "small", "optim.decay_mode": "coupled"}]
  })");
  ASSERT_EQ(plan.runs.size(), 2u);
  EXPECT_EQ(plan.runs[0].preset, "gpt2");
  EXPECT_EQ(plan.runs[0].scale, "tiny");
  EXPECT_EQ(plan.runs[1].preset, "llama");
  EXPECT_EQ(plan.runs[1].scale, "small");
  // The command line's preset wins over the groups'.
  const SweepPlan only = plan_of(R"({
    "base": {"preset": "gpt2", "scale": "tiny"},
    "grid": [{"optim.decay_mode": "none"}, {"preset": "llama", "optim.decay_mode": "coupled"}]
  })",
                                 {"preset=mistral"});
  for (const PlannedRun& r : only.runs) EXPECT_EQ(r.preset, "mistral");
  EXPECT_EQ(only.runs.size(), 2u);
}

TEST(GridGroupPreset, ErrorsNameTheGroup) {
  const std::string missing = error_of([] {
    spec_of(R"({"base": {}, "grid": [{"preset": "gpt2"}, {"optim.decay_mode": "none"}]})");
  });
  EXPECT_NE(missing.find("test.json: /base/preset: required"), std::string::npos) << missing;
  const std::string bad =
      error_of([] { spec_of(R"({"base": {"preset": "gpt2"}, "grid": [{"preset": 3}]})"); });
  EXPECT_NE(bad.find("test.json: /grid/0/preset: expected a preset name"), std::string::npos)
      << bad;
  const std::string unknown =
      error_of([] { plan_of(R"({"base": {"preset": "gpt2"}, "grid": [{"preset": "nosuch"}]})"); });
  EXPECT_NE(unknown.find("test.json: /grid/0/preset"), std::string::npos) << unknown;
  const std::string scale = error_of([] {
    plan_of(R"({"base": {"preset": "gpt2"}, "grid": [{"preset": "gpt2", "scale": "huge"}]})");
  });
  EXPECT_NE(scale.find("test.json: /grid/0/scale"), std::string::npos) << scale;
  EXPECT_NE(scale.find("available"), std::string::npos) << scale;
}

TEST(Objective, MetricAndGoalAreCheckedAndKept) {
  const SweepPlan plan = plan_of(R"({"base": {"preset": "gpt2"}, "metric": "best_val_loss",
                                     "goal": "minimize"})");
  EXPECT_EQ(plan.metric, "best_val_loss");
  EXPECT_EQ(plan.goal, "minimize");
  EXPECT_EQ(plan_of(R"({"base": {"preset": "gpt2"}})").metric, "final_val_loss");
  EXPECT_TRUE(spec_of(R"({"base": {"preset": "gpt2"}, "metric": "norm.matrix",
                          "goal": "maximize"})")
                  .goal == "maximize");
  const std::string metric =
      error_of([] { spec_of(R"({"base": {"preset": "gpt2"}, "metric": "val_los"})"); });
  EXPECT_NE(metric.find("test.json: /metric: expected one of final_val_loss"), std::string::npos)
      << metric;
  const std::string goal =
      error_of([] { spec_of(R"({"base": {"preset": "gpt2"}, "goal": "lowest"})"); });
  EXPECT_NE(goal.find("test.json: /goal: expected \"minimize\" or \"maximize\""), std::string::npos)
      << goal;
}

}  // namespace
}  // namespace wdlab
