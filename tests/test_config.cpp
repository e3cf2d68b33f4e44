// Config resolution: the schema check, overrides, presets and range validation. Every error must
// name the key (or the file and JSON path) and say what is allowed.
#include <gtest/gtest.h>

#include "test_util.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "run/config.h"

namespace wdlab {
namespace {
using nlohmann::json;
using test::error_of;

json with(std::vector<std::string> overrides) {
  return resolve_config(load_preset("gpt2"), "tiny", overrides);
}

TEST(Config, PresetAndScaleAndOverridesCompose) {
  const json c = with({"optim.weight_decay=0.3", "model.n_layer=3"});
  EXPECT_EQ(c["preset"], "gpt2");
  EXPECT_EQ(c["scale"], "tiny");
  EXPECT_EQ(c["optim"]["weight_decay"], 0.3);
  EXPECT_EQ(c["model"]["n_layer"], 3);
  EXPECT_EQ(c["model"]["d_model"], 64);  // from the tiny scale
  const RunConfig r = parse_run_config(c);
  EXPECT_EQ(r.model.n_layer, 3);
  EXPECT_DOUBLE_EQ(r.optim.options.weight_decay, 0.3);
  EXPECT_EQ(r.optim.schedule.total, r.train.steps);
}

TEST(Config, EnumOverridesParse) {
  const RunConfig r = parse_run_config(
      with({"optim.decay_mode=decoupled", "optim.decay_scope=uniform", "optim.name=sgd",
            "optim.decay_scaling=lr_squared", "optim.schedule=constant"}));
  EXPECT_EQ(r.optim.options.decay_mode, DecayMode::decoupled);
  EXPECT_EQ(r.optim.decay_scope, DecayScope::uniform);
  EXPECT_EQ(r.optim.options.kind, OptimizerKind::sgd);
  EXPECT_EQ(r.optim.options.decay_scaling, DecayScaling::lr_squared);
  EXPECT_EQ(r.optim.schedule.kind, ScheduleKind::constant);
}

TEST(Config, IntegerAcceptedForNumberButNotTheReverse) {
  EXPECT_EQ(with({"optim.weight_decay=1"})["optim"]["weight_decay"], 1);
  const std::string msg = error_of([] { with({"model.n_layer=2.5"}); });
  EXPECT_NE(msg.find("model.n_layer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("integer"), std::string::npos) << msg;
}

TEST(Config, UnknownKeyNamesKeyAndAllowed) {
  const std::string msg = error_of([] { with({"optim.weight_decy=0.1"}); });
  EXPECT_NE(msg.find("optim.weight_decy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("optim.weight_decay"), std::string::npos) << msg;  // the allowed list
  EXPECT_NE(error_of([] { with({"nonsense=1"}); }).find("nonsense"), std::string::npos);
  EXPECT_NE(error_of([] { with({"optim=1"}); }).find("section"), std::string::npos);
  EXPECT_NE(error_of([] { with({"no_equals_sign"}); }).find("key=value"), std::string::npos);
}

TEST(Config, WrongTypeNamesKey) {
  const std::string msg = error_of([] { with({"optim.lr=fast"}); });
  EXPECT_NE(msg.find("optim.lr"), std::string::npos) << msg;
  EXPECT_NE(msg.find("number"), std::string::npos) << msg;
}

TEST(Config, BadEnumListsAllowedValues) {
  const std::string msg = error_of([] { parse_run_config(with({"optim.decay_mode=l2"})); });
  EXPECT_NE(msg.find("optim.decay_mode"), std::string::npos) << msg;
  EXPECT_NE(msg.find("none, coupled, decoupled"), std::string::npos) << msg;
}

TEST(Config, RangeErrorsNameTheKey) {
  struct Case {
    const char* override_;
    const char* key;
  };
  for (const Case& c :
       {Case{"model.n_head=5", "model.n_head"},
        Case{"optim.weight_decay=-0.1", "optim.weight_decay"}, Case{"optim.lr=0", "optim.lr"},
        Case{"optim.lr=-1e-3", "optim.lr"}, Case{"optim.beta2=1.0", "optim.beta2"},
        Case{"optim.eps=0", "optim.eps"}, Case{"optim.momentum=1", "optim.momentum"},
        Case{"train.steps=0", "train.steps"}, Case{"model.dropout=1.0", "model.dropout"},
        Case{"data.source=text", "data.path"}, Case{"optim.min_lr=1", "optim.min_lr"}}) {
    const std::string msg = error_of([&] { parse_run_config(with({c.override_})); });
    EXPECT_NE(msg.find(c.key), std::string::npos) << c.override_ << " -> " << msg;
  }
}

// An integer is checked in the type it is stored in: nlohmann's get<int> would wrap 2^32 + 64 to
// 64 (a d_model 64 run whose config.json says 4294967360).
TEST(Config, IntegerBeyondItsStorageTypeNamesTheKey) {
  const std::string d_model =
      error_of([] { parse_run_config(with({"model.d_model=4294967360"})); });
  EXPECT_NE(d_model.find("model.d_model: 4294967360 is out of range: at most 2147483647"),
            std::string::npos)
      << d_model;
  const std::string steps = error_of([] { parse_run_config(with({"train.steps=4294967297"})); });
  EXPECT_NE(steps.find("train.steps: 4294967297 is out of range"), std::string::npos) << steps;
  const std::string seed = error_of([] { parse_run_config(with({"seed=-1"})); });
  EXPECT_NE(seed.find("seed: -1 is out of range: at least 0"), std::string::npos) << seed;
  EXPECT_EQ(parse_run_config(with({"seed=18446744073709551615"})).seed, UINT64_MAX);
  // Widths computed from several int keys must fit an int too.
  const std::string ffn = error_of([] { parse_run_config(with({"model.ffn_ratio=1e9"})); });
  EXPECT_NE(ffn.find("model.ffn_ratio: the MLP width from ffn_ratio x d_model = 6.4e+10"),
            std::string::npos)
      << ffn;
  const std::string qkv = error_of([] { parse_run_config(with({"model.head_dim=1000000000"})); });
  EXPECT_NE(qkv.find("the fused QKV width (n_head + 2 n_kv_head) x head size = 12000000000 "
                     "exceeds 2147483647"),
            std::string::npos)
      << qkv;

  // Every integer key of the schema: 2^31 overflows an int; the 64-bit keys take it, and
  // overflow at 2^64 - 1 (signed) or refuse -1 (unsigned).
  const std::set<std::string> wide = {"seed", "data.language_seed", "data.train_tokens",
                                      "data.val_tokens"};
  const std::set<std::string> unsigned_keys = {"seed", "data.language_seed"};
  int checked = 0;
  for (const SectionSchema* s : config_sections()) {
    for (const SchemaKey& k : s->keys) {
      if (!k.value.is_number_integer()) continue;
      const std::string key = s->dotted(k.key);
      ++checked;
      if (!wide.contains(key)) {
        const std::string msg = error_of([&] { parse_run_config(with({key + "=2147483648"})); });
        EXPECT_NE(msg.find(key + ": 2147483648 is out of range"), std::string::npos) << msg;
        continue;
      }
      EXPECT_NO_THROW(parse_run_config(with({key + "=2147483648"}))) << key;
      const std::string bad = unsigned_keys.contains(key) ? "-1" : "18446744073709551615";
      const std::string msg = error_of([&] { parse_run_config(with({key + "=" + bad})); });
      EXPECT_NE(msg.find(key + ": " + bad + " is out of range"), std::string::npos) << msg;
    }
  }
  EXPECT_GE(checked, 20);
}

// nlohmann's own message for 1e400 names neither the key nor the file.
TEST(Config, NumberBeyondDoubleNamesTheKey) {
  const std::string msg = error_of([] { with({"optim.lr=1e400"}); });
  EXPECT_NE(msg.find("override 'optim.lr=1e400': optim.lr: the number 1e400 is out of range"),
            std::string::npos)
      << msg;
  EXPECT_NE(error_of([] { with({"optim.weight_decay=-1e400"}); }).find("optim.weight_decay"),
            std::string::npos);
}

TEST(Config, DecayRulesParseAndReject) {
  const RunConfig r = parse_run_config(with(
      {R"(optim.decay_rules=[{"kind": "embedding", "decay": false}, {"name": "*.wpe.*", "decay": true}])"}));
  ASSERT_EQ(r.optim.decay_rules.size(), 2u);
  EXPECT_EQ(r.optim.decay_rules[0].kind, ParamKind::embedding);
  EXPECT_FALSE(r.optim.decay_rules[0].decay);
  EXPECT_EQ(r.optim.decay_rules[1].name_glob, "*.wpe.*");
  const std::string msg = error_of([] {
    parse_run_config(with({R"(optim.decay_rules=[{"kind": "weights", "decay": false}])"}));
  });
  EXPECT_NE(msg.find("optim.decay_rules[0].kind"), std::string::npos) << msg;
  EXPECT_NE(msg.find("norm_gain"), std::string::npos) << msg;
  EXPECT_NE(error_of([] {
              parse_run_config(with({R"(optim.decay_rules=[{"kind": "bias"}])"}));
            }).find("decay"),
            std::string::npos);
}

TEST(Config, StringOverrideKeepsText) {
  EXPECT_EQ(with({"name=123"})["name"], "123");
  EXPECT_EQ(with({"data.path=/tmp/some file.txt"})["data"]["path"], "/tmp/some file.txt");
}

// Found by fuzzing: a value that is not UTF-8 made config_id's JSON dump throw nlohmann's
// type_error instead of a wdlab error.
TEST(Config, OverrideThatIsNotUtf8IsRefused) {
  const std::string msg = error_of([] { with({"name=run\xde\xde"}); });
  EXPECT_NE(msg.find("not UTF-8"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { with({"data.path=\xff.txt"}); }).find("data.path"), std::string::npos);
  EXPECT_EQ(with({"name=λ run"})["name"], "λ run");
}

// Found by fuzzing: a number too large for a double ("1e400") made nlohmann throw out_of_range,
// which the readers, catching only parse_error, let escape.
TEST(Config, NumberOutOfRangeIsAClearError) {
  std::string msg = error_of([] { with({"optim.lr=1e400"}); });
  EXPECT_NE(msg.find("optim.lr: the number 1e400 is out of range"), std::string::npos) << msg;
  EXPECT_EQ(with({"name=1e400"})["name"], "1e400");
  msg = error_of([] { parse_preset(R"({"config": {"optim": {"lr": 1e400}}})", "x.json", "x"); });
  EXPECT_NE(msg.find("x.json: /config/optim/lr: the number 1e400 is out of range"),
            std::string::npos)
      << msg;
}

// Half a million levels of nesting overflowed the stack (nlohmann copies and dumps a value
// recursively): in a preset file or in an override's value they are refused as they are read.
TEST(Config, DeeplyNestedJsonIsRefused) {
  const std::string deep = std::string(500000, '[') + std::string(500000, ']');
  std::string msg = error_of([&] {
    parse_preset(R"({"config": {"optim": {"decay_rules": )" + deep + "}}}", "x.json", "x");
  });
  EXPECT_NE(msg.find("x.json: JSON nested deeper than"), std::string::npos) << msg;
  msg = error_of([&] { with({"optim.decay_rules=" + deep}); });
  EXPECT_NE(msg.find("nested deeper than"), std::string::npos) << msg;
}

class PresetFile : public ::testing::Test {
 protected:
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "wdlab_test_presets";
  void SetUp() override { std::filesystem::create_directories(dir); }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }
};

TEST_F(PresetFile, MalformedJsonNamesFile) {
  const std::string path = write("broken.json", "{\"config\": {");
  const std::string msg = error_of([&] { load_preset(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("malformed JSON"), std::string::npos) << msg;
}

TEST_F(PresetFile, UnknownKeyNamesJsonPath) {
  const std::string path =
      write("bad.json", R"({"scales": {"tiny": {"optim": {"learning_rate": 0.1}}}})");
  const std::string msg = error_of([&] { load_preset(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("/scales/tiny/optim/learning_rate"), std::string::npos) << msg;
}

TEST_F(PresetFile, WrongTypeNamesJsonPath) {
  const std::string path = write("bad.json", R"({"config": {"model": {"n_layer": "two"}}})");
  const std::string msg = error_of([&] { load_preset(path); });
  EXPECT_NE(msg.find("/config/model/n_layer"), std::string::npos) << msg;
}

TEST_F(PresetFile, IntegerOrNumberOutOfRangeNamesFileAndKey) {
  const std::string big = write("big.json", R"({"config": {"model": {"d_model": 4294967360}}})");
  const std::string msg =
      error_of([&] { parse_run_config(resolve_config(load_preset(big), "", {})); });
  EXPECT_NE(msg.find("model.d_model: 4294967360 is out of range"), std::string::npos) << msg;

  const std::string huge =
      write("huge.json", R"({"scales": {"tiny": {"optim": {"lr": 1e400}}}, "config": {}})");
  const std::string overflow = error_of([&] { load_preset(huge); });
  EXPECT_NE(overflow.find(huge + ": /scales/tiny/optim/lr: the number 1e400 is out of range"),
            std::string::npos)
      << overflow;
  const std::string in_list = write("list.json", R"({"notes": "", "config": {"optim": {
      "decay_rules": [{"kind": "bias", "decay": false}, {"name": "x", "decay": 1e999}]}}})");
  const std::string list_msg = error_of([&] { load_preset(in_list); });
  EXPECT_NE(list_msg.find(in_list + ": /config/optim/decay_rules/1/decay: the number 1e999"),
            std::string::npos)
      << list_msg;
}

TEST_F(PresetFile, MissingFileAndUnknownPresetAndScale) {
  EXPECT_NE(error_of([&] { load_preset((dir / "nope.json").string()); }).find("does not exist"),
            std::string::npos);
  const std::string unknown = error_of([] { load_preset("no_such_family"); });
  EXPECT_NE(unknown.find("gpt2"), std::string::npos) << unknown;  // lists what exists
  const std::string scale = error_of([] { resolve_config(load_preset("gpt2"), "huge", {}); });
  EXPECT_NE(scale.find("tiny"), std::string::npos) << scale;
}

TEST_F(PresetFile, PathPresetWorks) {
  const std::string path =
      write("mine.json", R"({"description": "x", "scales": {"tiny": {"model": {"n_layer": 1}}}})");
  const json c = resolve_config(load_preset(path), "tiny", {});
  EXPECT_EQ(c["model"]["n_layer"], 1);
  EXPECT_EQ(c["preset"], "mine");
}

TEST(Config, ConfigIdIgnoresNameButNotSettings) {
  const json a = with({"name=a"}), b = with({"name=b"}), c = with({"seed=2"});
  EXPECT_EQ(config_id(a), config_id(b));
  EXPECT_NE(config_id(a), config_id(c));
  EXPECT_EQ(config_id(a).size(), 16u);
}

// decay_scaling only acts with decoupled decay: without it the resolved config records null, so
// the config id does not depend on it (a sweep over mode x scaling runs coupled once).
TEST(Config, DecayScalingNormalisedWithoutDecoupledDecay) {
  for (const char* mode : {"coupled", "none"}) {
    const std::string m = std::string("optim.decay_mode=") + mode;
    const json lr = with({m, "optim.decay_scaling=lr"});
    const json sched = with({m, "optim.decay_scaling=schedule"});
    EXPECT_TRUE(lr["optim"]["decay_scaling"].is_null()) << mode;
    EXPECT_EQ(config_id(lr), config_id(sched)) << mode;
    EXPECT_EQ(parse_run_config(sched).optim.options.decay_mode,
              std::string(mode) == "none" ? DecayMode::none : DecayMode::coupled);
  }
  const json lr = with({"optim.decay_mode=decoupled", "optim.decay_scaling=lr"});
  const json sched = with({"optim.decay_mode=decoupled", "optim.decay_scaling=schedule"});
  EXPECT_EQ(lr["optim"]["decay_scaling"], "lr");
  EXPECT_NE(config_id(lr), config_id(sched));
  // The id normalises too, so a config that was not resolved gets the same one.
  json raw = with({"optim.decay_mode=coupled"});
  raw["optim"]["decay_scaling"] = "lr_squared";
  EXPECT_EQ(config_id(raw), config_id(with({"optim.decay_mode=coupled"})));
  // Decoupled decay needs a scaling.
  json missing = lr;
  missing["optim"]["decay_scaling"] = nullptr;
  const std::string msg = error_of([&] { parse_run_config(missing); });
  EXPECT_NE(msg.find("optim.decay_scaling"), std::string::npos) << msg;
}

// The id of a decoupled run is what it was before decay_scaling was normalised (results of
// earlier sweeps are still found by id): gpt2 at tiny with the defaults.
TEST(Config, DecoupledConfigIdIsStable) {
  EXPECT_EQ(config_id(with({})), "828930bf196d6f7b");
}

// One schema: every key has exactly one default and one line of documentation, and the parsed
// defaults are the schema's (OptimizerOptions states none of its own).
TEST(Config, SchemaDocumentsEveryKeyOnce) {
  std::set<std::string> keys;
  for (const SectionSchema* s : config_sections()) {
    for (const SchemaKey& k : s->keys) {
      EXPECT_TRUE(keys.insert(s->dotted(k.key)).second) << s->dotted(k.key);
      EXPECT_FALSE(k.doc.empty()) << s->dotted(k.key);
      EXPECT_EQ(k.doc.find('\n'), std::string::npos) << s->dotted(k.key);
      std::string pointer = "/" + s->dotted(k.key);
      std::replace(pointer.begin(), pointer.end(), '.', '/');
      EXPECT_EQ(default_config().at(json::json_pointer(pointer)), k.value) << pointer;
    }
  }
  // ...and nothing in default_config() is undocumented (decay_rules, [], flattens to one leaf).
  EXPECT_EQ(default_config().flatten().size(), keys.size());
  const RunConfig d = parse_run_config(resolve_config(json::object(), "", {}));
  EXPECT_DOUBLE_EQ(d.optim.options.weight_decay, 0.1);
  EXPECT_DOUBLE_EQ(d.optim.options.beta2, 0.95);
  EXPECT_EQ(d.train.steps, 300);
  EXPECT_EQ(d.data.train_tokens, 200000u);
}

TEST(Config, EveryShippedPresetLoadsAtEveryScale) {
  const auto names = list_presets();
  ASSERT_FALSE(names.empty());
  for (const std::string& name : names) {
    const json preset = load_preset(name);
    ASSERT_TRUE(preset.contains("scales")) << name;
    for (auto it = preset["scales"].begin(); it != preset["scales"].end(); ++it) {
      EXPECT_NO_THROW(parse_run_config(resolve_config(preset, it.key(), {})))
          << name << "/" << it.key();
    }
  }
}

}  // namespace
}  // namespace wdlab
