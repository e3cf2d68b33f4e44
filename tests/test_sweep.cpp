// Sweeps: spec parsing and its errors, grid / zip / seed expansion, command-line axes, stable
// ids, directory names, per-preset references, the resume decision and the process pool.
#include <gtest/gtest.h>

#include "test_util.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "optim/optimizer.h"
#include "run/checkpoint.h"
#include "run/config.h"
#include "sweep/expand.h"
#include "sweep/parallelism.h"
#include "sweep/process_pool.h"
#include "sweep/references.h"
#include "sweep/resume.h"
#include "sweep/run_name.h"
#include "sweep/runner.h"
#include "sweep/spec.h"

namespace wdlab {
namespace {
using test::error_of;
namespace fs = std::filesystem;
using nlohmann::json;

SweepSpec spec_of(const std::string& text) {
  return parse_sweep_spec(text, "test.json", "test");
}

SweepPlan plan_of(const std::string& text, const std::vector<std::string>& command_line = {}) {
  SweepSpec spec = spec_of(text);
  apply_command_line(spec, command_line);
  return expand_sweep(spec);
}

std::string axes_of(const PlannedRun& r) {
  std::string s;
  for (const Assignment& a : r.axes) {
    if (a.key != "preset") s += a.key + "=" + override_text(a.value) + " ";
  }
  return s;
}

const char* kGrid = R"({
  "base": {"preset": "gpt2", "scale": "tiny", "overrides": {"train.steps": 7}},
  "grid": {"optim.decay_mode": ["coupled", "decoupled"], "optim.weight_decay": [0.01, 0.1, 1]},
  "seeds": [1, 2]
})";

TEST(SweepSpec, CartesianGridFirstKeySlowestSeedsInnermost) {
  const SweepPlan plan = plan_of(kGrid);
  ASSERT_EQ(plan.runs.size(), 12u);
  EXPECT_EQ(axes_of(plan.runs[0]), "optim.decay_mode=coupled optim.weight_decay=0.01 seed=1 ");
  EXPECT_EQ(axes_of(plan.runs[1]), "optim.decay_mode=coupled optim.weight_decay=0.01 seed=2 ");
  EXPECT_EQ(axes_of(plan.runs[2]), "optim.decay_mode=coupled optim.weight_decay=0.1 seed=1 ");
  EXPECT_EQ(axes_of(plan.runs[11]), "optim.decay_mode=decoupled optim.weight_decay=1 seed=2 ");
  for (size_t i = 0; i < plan.runs.size(); ++i) EXPECT_EQ(plan.runs[i].index, int(i));
  // The fixed override reaches every run.
  EXPECT_EQ(plan.runs[5].overrides.front(), "train.steps=7");
}

TEST(SweepSpec, ListOfGridsIsTheirUnion) {
  const SweepPlan plan = plan_of(R"({
    "base": {"preset": "gpt2", "scale": "tiny"},
    "grid": [{"optim.decay_mode": "none", "optim.weight_decay": 0},
             {"optim.decay_mode": ["coupled", "decoupled"], "optim.weight_decay": [0.1, 1]}]
  })");
  ASSERT_EQ(plan.runs.size(), 5u);
  EXPECT_EQ(axes_of(plan.runs[0]), "optim.decay_mode=none optim.weight_decay=0 ");
  EXPECT_EQ(axes_of(plan.runs[4]), "optim.decay_mode=decoupled optim.weight_decay=1 ");
}

TEST(SweepSpec, ZipPairsValuesAndMultipliesWithTheGrid) {
  const SweepPlan plan = plan_of(R"({
    "base": {"preset": "gpt2", "scale": "tiny"},
    "grid": {"optim.decay_scope": ["selective", "uniform"]},
    "zip": [{"optim.lr": [0.001, 0.003], "optim.warmup_steps": [20, 10]}]
  })");
  ASSERT_EQ(plan.runs.size(), 4u);
  EXPECT_EQ(axes_of(plan.runs[0]),
            "optim.decay_scope=selective optim.lr=0.001 optim.warmup_steps=20 ");
  EXPECT_EQ(axes_of(plan.runs[1]),
            "optim.decay_scope=selective optim.lr=0.003 optim.warmup_steps=10 ");
}

TEST(SweepSpec, ErrorsNameTheFileAndTheJsonPath) {
  const std::string unknown = error_of(
      [] { spec_of(R"({"base": {"preset": "gpt2"}, "grid": {"optim.weight_decy": [0.1]}})"); });
  EXPECT_NE(unknown.find("test.json: /grid/optim.weight_decy"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("optim.weight_decay"), std::string::npos) << unknown;  // what is allowed

  const std::string type = error_of(
      [] { spec_of(R"({"base": {"preset": "gpt2"}, "grid": {"optim.lr": [0.1, "fast"]}})"); });
  EXPECT_NE(type.find("test.json: /grid/optim.lr/1"), std::string::npos) << type;

  const std::string zip = error_of([] {
    spec_of(R"({"base": {"preset": "gpt2"}, "zip": [{"optim.lr": [0.1, 0.2], "seed": [1]}]})");
  });
  EXPECT_NE(zip.find("test.json: /zip/0/seed"), std::string::npos) << zip;

  const std::string top = error_of([] { spec_of(R"({"base": {"preset": "gpt2"}, "axes": {}})"); });
  EXPECT_NE(top.find("test.json: /axes: unknown key"), std::string::npos) << top;

  const std::string twice = error_of([] {
    spec_of(R"({"base": {"preset": "gpt2", "overrides": {"seed": 3}}, "seeds": [1, 2]})");
  });
  EXPECT_NE(twice.find("seed"), std::string::npos) << twice;

  const std::string json_error = error_of([] { spec_of("{\"base\": "); });
  EXPECT_NE(json_error.find("test.json: malformed JSON"), std::string::npos) << json_error;

  const std::string ref = error_of(
      [] { spec_of(R"({"base": {"preset": "gpt2"}, "grid": {"optim.lr": ["@published"]}})"); });
  EXPECT_NE(ref.find("/grid/optim.lr/0"), std::string::npos) << ref;

  // Config rules that need the whole run (here: lr > 0) name the run.
  const std::string run = error_of([] { plan_of(kGrid, {"optim.lr=0"}); });
  EXPECT_NE(run.find("optim.lr"), std::string::npos) << run;
}

// Out of range numbers: beyond a double while parsing, beyond the key's integer type when a run
// is resolved. Each error names the file (or argument) and the key.
TEST(SweepSpec, NumbersOutOfRangeNameTheFileAndKey) {
  const std::string overflow = error_of(
      [] { spec_of(R"({"base": {"preset": "gpt2"}, "grid": {"optim.lr": [0.1, 1e400]}})"); });
  EXPECT_NE(overflow.find("test.json: /grid/optim.lr/1: the number 1e400 is out of range"),
            std::string::npos)
      << overflow;
  const std::string argument = error_of([] { plan_of(kGrid, {"optim.lr=0.1,1e400"}); });
  EXPECT_NE(argument.find("'optim.lr=0.1,1e400'"), std::string::npos) << argument;
  EXPECT_NE(argument.find("1e400 is out of range"), std::string::npos) << argument;
  const std::string steps = error_of([] {
    plan_of(
        R"({"base": {"preset": "gpt2", "scale": "tiny"}, "grid": {"train.steps": [4294967297]}})");
  });
  EXPECT_NE(steps.find("test.json"), std::string::npos) << steps;
  EXPECT_NE(steps.find("train.steps: 4294967297 is out of range"), std::string::npos) << steps;
}

TEST(SweepSpec, CommandLineReplacesAxesAndFixesValues) {
  // An axis replaces the spec's, keeping seeds innermost.
  SweepPlan plan = plan_of(kGrid, {"optim.weight_decay=0.5,2"});
  ASSERT_EQ(plan.runs.size(), 8u);
  EXPECT_EQ(axes_of(plan.runs[0]), "optim.decay_mode=coupled optim.weight_decay=0.5 seed=1 ");
  EXPECT_EQ(axes_of(plan.runs[3]), "optim.decay_mode=coupled optim.weight_decay=2 seed=2 ");
  // A single value is fixed: the axis disappears.
  plan = plan_of(kGrid, {"optim.decay_mode=decoupled", "seeds=5"});
  ASSERT_EQ(plan.runs.size(), 3u);
  EXPECT_EQ(axes_of(plan.runs[0]), "optim.weight_decay=0.01 ");
  EXPECT_NE(std::find(plan.runs[0].overrides.begin(), plan.runs[0].overrides.end(), "seed=5"),
            plan.runs[0].overrides.end());
  // A new axis.
  plan = plan_of(kGrid, {"optim.lr=0.001,0.002"});
  EXPECT_EQ(plan.runs.size(), 24u);
  // Bad input names the argument.
  const std::string msg = error_of([] { plan_of(kGrid, {"optim.lr=fast,0.1"}); });
  EXPECT_NE(msg.find("optim.lr=fast,0.1"), std::string::npos) << msg;
}

// Text that is not UTF-8 cannot be written as JSON (sweep.json, config.json: nlohmann's dump
// throws its own type_error), so the command line refuses it where it enters.
TEST(SweepSpec, CommandLineThatIsNotUtf8IsRefused) {
  SweepSpec spec = spec_of(kGrid);
  for (const std::string arg : {"scale=\xff", "preset=gpt2,\xfe", "optim.decay_mode=\xc3"}) {
    const std::string msg = error_of([&] { apply_command_line(spec, {arg}); });
    EXPECT_NE(msg.find("not UTF-8"), std::string::npos) << msg;
  }
}

// Found with inputs run through the sweep_spec fuzz target: a spec nested half a million levels
// deep overflowed the stack (nlohmann copies and dumps recursively) ...
TEST(SweepSpec, DeeplyNestedJsonIsRefused) {
  const std::string deep = std::string(500000, '[') + std::string(500000, ']');
  std::string msg = error_of([&] {
    spec_of(R"({"base": {"preset": "gpt2", "overrides": {"optim.decay_rules": )" + deep + "}}}");
  });
  EXPECT_NE(msg.find("nested deeper than"), std::string::npos) << msg;
  SweepSpec spec = spec_of(kGrid);
  msg = error_of([&] { apply_command_line(spec, {"optim.decay_rules=" + deep}); });
  EXPECT_NE(msg.find("nested deeper than"), std::string::npos) << msg;
}

// ... and a grid of 8 keys x 10 values (700 bytes) built its 10^8 points in memory.
TEST(SweepSpec, MoreThanTheMostPointsIsRefusedBeforeExpanding) {
  std::string grid;
  for (const char* key : {"optim.lr", "optim.min_lr", "optim.weight_decay", "optim.beta1",
                          "optim.beta2", "optim.eps", "optim.grad_clip", "optim.momentum"}) {
    grid += fmt::format(R"({}"{}": [0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17, 0.18, 0.19])",
                        grid.empty() ? "" : ", ", key);
  }
  std::string msg =
      error_of([&] { spec_of(R"({"base": {"preset": "gpt2"}, "grid": {)" + grid + "}}"); });
  EXPECT_NE(msg.find("more than 10000 points"), std::string::npos) << msg;
  // The product of grid, zip, seeds and command-line axes counts too.
  std::string seeds;
  for (int s = 0; s < 1000; ++s) seeds += (s ? "," : "") + std::to_string(s);
  msg = error_of([&] {
    spec_of(R"({"base": {"preset": "gpt2"}, "grid": {"optim.lr": )"
            R"([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 2]},)"
            R"("seeds": [)" +
            seeds + "]}");
  });
  EXPECT_NE(msg.find("more than 10000 runs"), std::string::npos) << msg;
  SweepSpec spec = spec_of(kGrid);
  EXPECT_NO_THROW(apply_command_line(spec, {"seeds=" + seeds}));  // 2 x 3 x 1000: within
  spec = spec_of(kGrid);
  msg = error_of([&] { apply_command_line(spec, {"optim.lr=0.1,0.2", "seeds=" + seeds}); });
  EXPECT_NE(msg.find("more than 10000 runs"), std::string::npos) << msg;
}

TEST(SweepPlan, IdsAreTheConfigIdOfWhatTheRunTrains) {
  const SweepPlan a = plan_of(kGrid), b = plan_of(kGrid);
  std::set<std::string> ids;
  for (size_t i = 0; i < a.runs.size(); ++i) {
    EXPECT_EQ(a.runs[i].id, b.runs[i].id);  // stable
    EXPECT_EQ(a.runs[i].id,
              config_id(resolve_config(load_preset("gpt2"), "tiny", a.runs[i].overrides)));
    ids.insert(a.runs[i].id);
  }
  EXPECT_EQ(ids.size(), a.runs.size());
  // Changing a fixed value changes every id.
  const SweepPlan c = plan_of(kGrid, {"train.steps=8"});
  EXPECT_NE(c.runs[0].id, a.runs[0].id);
}

TEST(SweepPlan, PointsWithTheSameConfigRunOnce) {
  const SweepPlan plan = plan_of(R"({
    "base": {"preset": "gpt2", "scale": "tiny", "overrides": {"optim.weight_decay": 0.1}},
    "grid": {"seed": [1337, 1337, 2]}
  })");
  EXPECT_EQ(plan.runs.size(), 2u);
  EXPECT_EQ(plan.duplicates, 1);
}

TEST(SweepPlan, DirectoryNamesShowWhatVaries) {
  const SweepPlan plan = plan_of(R"({
    "base": {"preset": "gpt2", "scale": "tiny"},
    "grid": {"optim.decay_mode": "coupled", "optim.weight_decay": [1e-5, 0.1],
             "optim.lr": [0.001]}
  })");
  ASSERT_EQ(plan.runs.size(), 2u);
  EXPECT_EQ(plan.runs[0].name, "000_weight_decay=1e-5");
  EXPECT_EQ(plan.runs[1].name, "001_weight_decay=0.1");

  EXPECT_EQ(short_value(json(3e-4)), "0.0003");
  EXPECT_EQ(short_value(json(2.5e-7)), "2.5e-7");
  EXPECT_EQ(short_value(json(1e20)), "1e20");
  EXPECT_EQ(short_value(json("a b/c")), "a_b_c");
  EXPECT_EQ(short_value(json(7)), "7");
  EXPECT_EQ(short_value(json::array({1, 2})).rfind("json-", 0), 0u);

  // Two keys with the same last component keep their full names.
  std::vector<PlannedRun> runs(2);
  runs[0].axes = {{"a.lr", 1, ""}, {"b.lr", 2, ""}};
  runs[1].axes = {{"a.lr", 3, ""}, {"b.lr", 4, ""}};
  for (int i = 0; i < 2; ++i) runs[i].index = i;
  name_runs(runs);
  EXPECT_EQ(runs[1].name, "001_a.lr=3,b.lr=4");
}

TEST(SweepReferences, PublishedAndBudgetMatchedLambda) {
  const SweepPlan plan = plan_of(R"({
    "base": {"preset": "gpt2", "scale": "tiny", "overrides": {"train.steps": 50}},
    "grid": {"optim.weight_decay": ["@published", "@budget_matched"]},
    "decay_budget": 2.0
  })");
  ASSERT_EQ(plan.runs.size(), 2u);
  const json preset = load_preset("gpt2");
  EXPECT_EQ(plan.runs[0].axes[1].ref, "@published");
  EXPECT_DOUBLE_EQ(plan.runs[0].axes[1].value.get<double>(),
                   preset["published"]["weight_decay_table"]["seed_value"].get<double>());
  // sum_t lr_t * λ reaches the budget (up to the 3-digit rounding of λ).
  const double lambda = plan.runs[1].axes[1].value.get<double>();
  const RunConfig run = parse_run_config(resolve_config(preset, "tiny", plan.runs[1].overrides));
  const double budget = published_decay_budget(preset).value_or(2.0);
  EXPECT_NEAR(decay_per_unit_lambda(run) * lambda, budget, budget * 5e-3);
  EXPECT_DOUBLE_EQ(run.optim.options.weight_decay, lambda);
}

TEST(SweepReferences, BudgetMatchedIsForDecoupledDecayOnly) {
  // Coupled L2 adds λw to the gradient: it has no per-step shrink and so no decay budget; a
  // budget-matched "λ" for it would swamp the gradient.
  const std::string coupled = error_of([] {
    plan_of(R"({
      "base": {"preset": "gpt2", "scale": "tiny", "overrides": {"train.steps": 50}},
      "grid": [{"optim.decay_mode": "decoupled", "optim.weight_decay": "@budget_matched"},
               {"optim.decay_mode": "coupled", "optim.weight_decay": ["@budget_matched"]}]
    })");
  });
  EXPECT_NE(coupled.find("test.json: grid group /grid/1: @budget_matched with "
                         "optim.decay_mode=coupled"),
            std::string::npos)
      << coupled;
  EXPECT_NE(coupled.find("a decay budget is defined only for decoupled decay; give coupled L2 "
                         "its own λ grid"),
            std::string::npos)
      << coupled;
  // Without decay λ does nothing: a budget for it is as meaningless.
  const std::string none = error_of([] {
    plan_of(R"({
      "base": {"preset": "gpt2", "scale": "tiny",
               "overrides": {"optim.decay_mode": "none", "optim.weight_decay": "@budget_matched"}}
    })");
  });
  EXPECT_NE(none.find("test.json: /base/overrides: @budget_matched with optim.decay_mode=none"),
            std::string::npos)
      << none;
  // A command-line axis that brings coupled in is named too.
  const std::string cli = error_of([] {
    plan_of(R"({"base": {"preset": "gpt2", "scale": "tiny"},
                "grid": {"optim.weight_decay": "@budget_matched"}})",
            {"optim.decay_mode=decoupled,coupled"});
  });
  EXPECT_NE(cli.find("optim.decay_mode=coupled"), std::string::npos) << cli;
  // The library call refuses it as well, and the decay per unit λ of coupled L2 is none.
  const json preset = load_preset("gpt2");
  const json config = resolve_config(preset, "tiny", {"optim.decay_mode=coupled"});
  EXPECT_NE(error_of([&] {
              resolve_reference("@budget_matched", preset, config, 4.0);
            }).find("only for decoupled decay"),
            std::string::npos);
  EXPECT_EQ(decay_per_unit_lambda(parse_run_config(config)), 0.0);
  EXPECT_TRUE(budget_reference_misuse("@published", config).empty());
}

TEST(SweepReferences, ShippedSpecsExpand) {
  // The specs under configs/sweeps/ give coupled L2 its own λ grid, so they expand.
  for (const auto& entry : fs::directory_iterator(fs::path(WDLAB_SOURCE_DIR) / "configs/sweeps")) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().string());
    const SweepPlan plan = expand_sweep(load_sweep_spec(entry.path()));
    EXPECT_FALSE(plan.runs.empty());
    for (const PlannedRun& r : plan.runs) {
      for (const Assignment& a : r.axes) {
        if (a.ref != "@budget_matched" || !r.axis("optim.decay_mode")) continue;
        EXPECT_EQ(r.axis("optim.decay_mode")->get<std::string>(), "decoupled") << r.name;
      }
    }
  }
}

TEST(SweepReferences, PresetWithoutTheTableIsLeftOutWithTheReason) {
  const json bare = {{"name", "bare"}, {"scales", {{"tiny", json::object()}}}};
  const ResolvedReference r =
      resolve_reference("@published", bare, resolve_config(bare, "tiny", {}), 4.0);
  EXPECT_FALSE(r.value.has_value());
  EXPECT_NE(r.why_not.find("weight_decay_table"), std::string::npos);
}

class ResumeTest : public ::testing::Test {
 protected:
  fs::path root = fs::temp_directory_path() /
                  ("wdlab_resume_" +
                   std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  SweepPlan plan = plan_of(kGrid);
  void SetUp() override { fs::remove_all(root); }
  void TearDown() override { fs::remove_all(root); }

  void write_run(const std::string& name, const std::string& status, const std::string& id) {
    fs::create_directories(root / name);
    write_file_atomic(root / name / "summary.json",
                      json{{"status", status}, {"config_id", id}}.dump());
  }
};

TEST_F(ResumeTest, DecidesFromSummaryStatusAndId) {
  write_run(plan.runs[0].name, "finished", plan.runs[0].id);     // done
  write_run(plan.runs[1].name, "diverged", plan.runs[1].id);     // done: a result
  write_run(plan.runs[2].name, "interrupted", plan.runs[2].id);  // redo
  fs::create_directories(root / plan.runs[3].name);              // killed before its summary
  fs::create_directories(root / plan.runs[4].name);
  std::ofstream(root / plan.runs[4].name / "summary.json") << "{\"status\": \"fin";  // torn
  const SweepDecisions d = decide_runs(plan, root, false);
  EXPECT_TRUE(d.conflicts.empty());
  EXPECT_EQ(d.runs[0].action, RunAction::skip);
  EXPECT_EQ(d.runs[1].action, RunAction::skip);
  EXPECT_EQ(d.runs[2].action, RunAction::run);
  EXPECT_EQ(d.runs[3].action, RunAction::run);
  EXPECT_EQ(d.runs[4].action, RunAction::run);
  EXPECT_EQ(d.runs[4].state.state, RunState::unfinished);
  EXPECT_EQ(d.runs[5].state.state, RunState::missing);
  // --force redoes everything.
  for (const RunDecision& r : decide_runs(plan, root, true).runs)
    EXPECT_EQ(r.action, RunAction::run);
}

// An interrupted run with a checkpoint of its own config is resumed, not redone; a checkpoint
// of another config (or without config.json beside it) is not.
TEST_F(ResumeTest, InterruptedRunWithItsCheckpointIsResumed) {
  ParamTable table;
  table.add("w", {2}, ParamKind::matrix);
  std::vector<float> w = {1.0f, 2.0f};
  OptimizerOptions o;
  o.kind = OptimizerKind::adam, o.beta1 = 0.9, o.beta2 = 0.95, o.eps = 1e-8;
  Optimizer opt(table, build_decay_plan(table, DecayScope::selective, {}), o);
  RunProgress progress;
  progress.step = 7;
  for (int i : {0, 1, 2}) {
    write_run(plan.runs[i].name, "interrupted", plan.runs[i].id);
    std::ofstream(root / plan.runs[i].name / "config.json") << "{}";
  }
  save_checkpoint(root / plan.runs[0].name, plan.runs[0].id, table, w.data(), opt, progress);
  save_checkpoint(root / plan.runs[1].name, "0123456789abcdef", table, w.data(), opt, progress);
  save_checkpoint(root / plan.runs[2].name, plan.runs[2].id, table, w.data(), opt, progress);
  fs::remove(root / plan.runs[2].name / "config.json");
  const SweepDecisions d = decide_runs(plan, root, false);
  EXPECT_EQ(d.runs[0].action, RunAction::resume);
  EXPECT_EQ(d.runs[0].resume_step, 7);
  EXPECT_EQ(d.runs[1].action, RunAction::run);
  EXPECT_EQ(d.runs[2].action, RunAction::run);
  EXPECT_EQ(decide_runs(plan, root, true).runs[0].action, RunAction::run);  // --force
  const std::vector<std::string> argv =
      run_command(plan.runs[0], root / plan.runs[0].name, SweepOptions{}, true);
  EXPECT_EQ(argv[2], "--resume");
}

// A summary whose numbers are not numbers was not written by a run: redone, never averaged.
TEST_F(ResumeTest, SummaryWithANonNumberIsRedone) {
  write_run(plan.runs[0].name, "finished", plan.runs[0].id);
  json summary = {{"status", "finished"}, {"config_id", plan.runs[0].id}, {"final_val_loss", "x"}};
  write_file_atomic(root / plan.runs[0].name / "summary.json", summary.dump());
  const SweepDecisions d = decide_runs(plan, root, false);
  EXPECT_EQ(d.runs[0].action, RunAction::run);
  EXPECT_EQ(d.runs[0].state.damage, "\"final_val_loss\" is \"x\", not a number");
  summary["final_val_loss"] = nullptr;  // a value the run could not compute (NaN): fine
  summary["resumed_at"] = {120, 340};     // the steps a resumed run continued from: fine
  write_file_atomic(root / plan.runs[0].name / "summary.json", summary.dump());
  EXPECT_EQ(decide_runs(plan, root, false).runs[0].action, RunAction::skip);
  summary["resumed_at"] = {"x"};
  write_file_atomic(root / plan.runs[0].name / "summary.json", summary.dump());
  EXPECT_EQ(decide_runs(plan, root, false).runs[0].action, RunAction::run);
}

TEST_F(ResumeTest, CompletedRunOfAnotherConfigIsAConflict) {
  write_run(plan.runs[0].name, "finished", "0123456789abcdef");
  const SweepDecisions d = decide_runs(plan, root, false);
  ASSERT_EQ(d.conflicts.size(), 1u);
  EXPECT_NE(d.conflicts[0].find(plan.runs[0].name), std::string::npos);
  EXPECT_TRUE(decide_runs(plan, root, true).conflicts.empty());
}

TEST_F(ResumeTest, CompletedRunUnderAnOldNameIsMovedNotRedone) {
  // Runs 0 and 1 swapped directory names (e.g. an axis value was inserted).
  write_run(plan.runs[0].name, "finished", plan.runs[1].id);
  write_run(plan.runs[1].name, "finished", plan.runs[0].id);
  const SweepDecisions d = decide_runs(plan, root, false);
  EXPECT_TRUE(d.conflicts.empty());
  EXPECT_EQ(d.runs[0].action, RunAction::move);
  EXPECT_EQ(d.runs[0].moved_from, root / plan.runs[1].name);
  EXPECT_EQ(d.runs[1].action, RunAction::move);
}

// Two sweeps in one directory would clear each other's runs; a lock that cannot be created
// says why, before anything is written.
TEST_F(ResumeTest, LockFileThatCannotBeCreatedSaysWhy) {
  fs::create_directories(root / ".sweep.lock");  // a directory: open() fails with EISDIR
  SweepOptions options;
  options.root = root;
  const std::string msg = error_of([&] { run_sweep(plan, options, nullptr); });
  EXPECT_NE(msg.find((root / ".sweep.lock").string() +
                     ": cannot create the lock file: " + std::strerror(EISDIR)),
            std::string::npos)
      << msg;
  EXPECT_FALSE(fs::exists(root / "sweep.json"));
}

TEST(ProcessPool, RunsEveryJobWithAtMostNAtOnceAndLogsOutput) {
  const fs::path dir = fs::temp_directory_path() / "wdlab_pool";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<ProcessJob> jobs;
  for (int i = 0; i < 4; ++i) {
    jobs.push_back(
        {{"/bin/sh", "-c", "echo out $0; echo err >&2; sleep 0.3; exit $0", std::to_string(i)},
         dir / fmt::format("{}.log", i),
         {{"WDLAB_TEST_VAR", "x"}}});
  }
  std::vector<ProcessExit> exits(4);
  int running = 0, peak = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const size_t not_started = run_processes(
      jobs, 2, nullptr,
      [&](size_t) {
        ++running;
        peak = std::max(peak, running);
      },
      [&](size_t i, const ProcessExit& e) {
        --running;
        exits[i] = e;
      });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(not_started, 0u);
  EXPECT_EQ(peak, 2);
  EXPECT_GE(seconds, 0.55);  // two waves of 0.3 s
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(exits[i].exited);
    EXPECT_EQ(exits[i].code, i);
    std::ifstream in(dir / fmt::format("{}.log", i));
    const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(log, fmt::format("out {}\nerr\n", i));
  }
  fs::remove_all(dir);
}

// A child's output reaches the caller from memory even when its log cannot be written:
// /dev/full fails every write with ENOSPC, as a full disk does.
TEST(ProcessPool, ChildOutputSurvivesALogThatCannotBeWritten) {
  const std::vector<ProcessJob> jobs = {
      {{"/bin/sh", "-c", "echo starting; echo 'error: the real reason' >&2; exit 1"},
       "/dev/full",
       {}},
      {{"/bin/sh", "-c", "echo 'error: no log at all' >&2; exit 2"},
       "/nonexistent_wdlab_dir/log.txt",
       {}}};
  std::vector<ProcessExit> exits(2);
  run_processes(
      jobs, 2, nullptr, [](size_t) {}, [&](size_t i, const ProcessExit& e) { exits[i] = e; });
  EXPECT_EQ(exits[0].code, 1);
  EXPECT_EQ(exits[0].output_tail, "starting\nerror: the real reason\n");
  EXPECT_EQ(last_output_line(exits[0]), "error: the real reason");
  EXPECT_EQ(exits[0].log_error, std::strerror(ENOSPC));
  EXPECT_EQ(last_output_line(exits[1]), "error: no log at all");
  EXPECT_EQ(exits[1].log_error, std::strerror(ENOENT));
}

// More output than a pipe holds: all of it reaches the log, the last bytes stay in memory.
TEST(ProcessPool, LongOutputIsLoggedWholeAndItsTailKept) {
  const fs::path log = fs::temp_directory_path() / "wdlab_pool_long.log";
  ProcessExit exit;
  run_processes(
      {{{"/usr/bin/seq", "30000"}, log, {}}}, 1, nullptr, [](size_t) {},
      [&](size_t, const ProcessExit& e) { exit = e; });
  std::string expected;
  for (int i = 1; i <= 30000; ++i) expected += std::to_string(i) + "\n";
  std::ifstream in(log);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()),
            expected);
  EXPECT_EQ(exit.output_tail, expected.substr(expected.size() - kOutputTailBytes));
  EXPECT_EQ(last_output_line(exit), "30000");
  EXPECT_EQ(exit.log_error, "");
  fs::remove(log);
}

TEST(ProcessPool, StopRequestForwardsTheSignalAndStartsNothingNew) {
  const fs::path dir = fs::temp_directory_path() / "wdlab_pool_stop";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<ProcessJob> jobs;
  for (int i = 0; i < 5; ++i)
    jobs.push_back({{"/bin/sleep", "30"}, dir / fmt::format("{}.log", i), {}});
  StopRequest stop;
  std::vector<ProcessExit> exits;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.request(SIGTERM);
  });
  const size_t not_started = run_processes(
      jobs, 2, &stop, [](size_t) {}, [&](size_t, const ProcessExit& e) { exits.push_back(e); });
  stopper.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(not_started, 3u);
  ASSERT_EQ(exits.size(), 2u);
  for (const ProcessExit& e : exits) {
    EXPECT_FALSE(e.exited);
    EXPECT_EQ(e.signal, SIGTERM);
  }
  EXPECT_LT(seconds, 5.0);
  fs::remove_all(dir);
}

TEST(Parallelism, OneRunPerCoreSpareCoresBecomeThreads) {
  EXPECT_EQ(default_parallelism(8, 100).jobs, 8);
  EXPECT_EQ(default_parallelism(8, 100).threads, 1);
  EXPECT_EQ(default_parallelism(8, 3).jobs, 3);
  EXPECT_EQ(default_parallelism(8, 3).threads, 2);
  EXPECT_EQ(default_parallelism(2, 1).threads, 2);      // a single run gets both cores
  EXPECT_EQ(default_parallelism(2, 10, 1).threads, 2);  // so does --jobs 1
  EXPECT_EQ(default_parallelism(1, 10).jobs, 1);
  EXPECT_EQ(default_parallelism(1, 10).threads, 1);
  const Parallelism p = default_parallelism(8, 100, 0, 4);  // --threads 4
  EXPECT_EQ(p.threads, 4);
  EXPECT_EQ(p.jobs, 2);
  EXPECT_EQ(default_parallelism(8, 100, 3, 2).jobs, 3);  // both given: kept
  EXPECT_GE(usable_cores(), 1);
}

}  // namespace
}  // namespace wdlab
