#include "run/config.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"

namespace wdlab {
namespace fs = std::filesystem;
using nlohmann::json;

const json& default_config() {
  // Every key a run understands, with its default. A float default (1.0, not 1) makes the key a
  // number; an integer default makes it an integer. Presets and overrides are checked against this.
  static const json defaults = json::parse(R"({
    "name": "",
    "preset": "",
    "scale": "",
    "seed": 1337,
    "model": {
      "family": "gpt2",
      "block_size": 64,
      "n_layer": 2,
      "n_head": 4,
      "n_kv_head": 0,
      "d_model": 64,
      "head_dim": 0,
      "ffn_rule": "ratio",
      "ffn_ratio": 4.0,
      "ffn_multiple_of": 1,
      "activation": "gelu",
      "norm": "layernorm",
      "norm_bias": true,
      "norm_eps": 1e-5,
      "norm_placement": "pre",
      "block": "sequential",
      "positions": "learned",
      "rope_theta": 10000.0,
      "bias": true,
      "tie_embeddings": true,
      "attention": "dense",
      "window": 0,
      "attn_softcap": 0.0,
      "embedding_scale": "none",
      "logit_scale": "none",
      "z_loss": 0.0,
      "moe": {
        "n_expert": 0,
        "top_k": 2,
        "router": "softmax_topk",
        "aux_loss_coef": 0.0
      },
      "dropout": 0.0,
      "init_std": 0.02,
      "embedding_init_std": 0.0
    },
    "data": {
      "source": "synthetic",
      "path": "",
      "val_fraction": 0.1,
      "language_seed": 1234,
      "train_tokens": 200000,
      "val_tokens": 32768,
      "synthetic": {
        "vocab_size": 64,
        "order": 3,
        "rank": 16,
        "temperature": 0.5
      }
    },
    "train": {
      "batch_size": 8,
      "steps": 300,
      "log_every": 10,
      "eval_every": 50,
      "eval_batches": 8
    },
    "optim": {
      "name": "adam",
      "lr": 1e-3,
      "min_lr": 1e-4,
      "schedule": "cosine",
      "warmup_steps": 20,
      "beta1": 0.9,
      "beta2": 0.95,
      "eps": 1e-8,
      "momentum": 0.9,
      "weight_decay": 0.1,
      "decay_mode": "decoupled",
      "decay_scaling": "lr",
      "decay_scope": "selective",
      "decay_rules": [],
      "grad_clip": 1.0
    }
  })");
  return defaults;
}

namespace {

std::string type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "true or false";
    case json::value_t::array:
      return "a list";
    case json::value_t::object:
      return "an object";
    default:
      return "null";
  }
}

bool is_integer(const json& v) {
  return v.is_number_integer() || v.is_number_unsigned();
}

// Does `value` fit where the schema has `def`? Integers are accepted where numbers are.
bool type_fits(const json& def, const json& value) {
  if (def.is_number_float()) return value.is_number();
  if (is_integer(def)) return is_integer(value);
  return def.type() == value.type();
}

std::string keys_of(const json& obj) {
  std::string out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!out.empty()) out += ", ";
    out += it.key();
  }
  return out;
}

// Merges `patch` into `target` (same shape as `schema`), checking every key and type. `where`
// prefixes error messages ("configs/gpt2.json: /scales/tiny" or "override").
void merge_checked(json& target, const json& patch, const json& schema, const std::string& where,
                   const std::string& path) {
  WD_CHECK(patch.is_object(), "{}: {}: expected an object, got {}", where,
           path.empty() ? "/" : path, type_name(patch));
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string key_path = path + "/" + it.key();
    auto def = schema.find(it.key());
    WD_CHECK(def != schema.end(), "{}: {}: unknown key; allowed here: {}", where, key_path,
             keys_of(schema));
    if (def->is_object()) {
      merge_checked(target[it.key()], it.value(), *def, where, key_path);
    } else {
      WD_CHECK(type_fits(*def, it.value()), "{}: {}: expected {}, got {}", where, key_path,
               type_name(*def), type_name(it.value()));
      target[it.key()] = it.value();
    }
  }
}

std::string dotted(const std::string& json_path) {
  std::string s = json_path.substr(json_path.starts_with('/') ? 1 : 0);
  std::replace(s.begin(), s.end(), '/', '.');
  return s;
}

fs::path executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

bool looks_like_path(const std::string& s) {
  return s.find('/') != std::string::npos || s.ends_with(".json");
}

}  // namespace

std::vector<fs::path> preset_search_path() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("WDLAB_CONFIGS"); env && *env) dirs.emplace_back(env);
  const fs::path exe = executable_dir();
  if (!exe.empty()) {
    // build/app/wdlab -> configs/ two or three levels up; installed: ../share/wdlab/configs.
    for (const fs::path& rel : {fs::path("configs"), fs::path("../configs"),
                                fs::path("../../configs"), fs::path("../share/wdlab/configs")}) {
      dirs.push_back((exe / rel).lexically_normal());
    }
  }
  dirs.emplace_back(fs::path(WDLAB_SOURCE_DIR) / "configs");
  return dirs;
}

std::vector<std::string> list_presets() {
  std::set<std::string> names;
  for (const fs::path& dir : preset_search_path()) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") {
        names.insert(entry.path().stem().string());
      }
    }
  }
  return {names.begin(), names.end()};
}

json load_preset(const std::string& name_or_path) {
  fs::path file;
  if (looks_like_path(name_or_path)) {
    file = name_or_path;
    WD_CHECK(fs::exists(file), "--preset: file '{}' does not exist", name_or_path);
  } else {
    for (const fs::path& dir : preset_search_path()) {
      if (fs::exists(dir / (name_or_path + ".json"))) {
        file = dir / (name_or_path + ".json");
        break;
      }
    }
    if (file.empty()) {
      std::string known;
      for (const auto& n : list_presets()) known += (known.empty() ? "" : ", ") + n;
      fail("--preset: unknown preset '{}'; available: {}", name_or_path,
           known.empty() ? "(none found)" : known);
    }
  }
  std::ifstream in(file);
  WD_CHECK(in.good(), "{}: cannot read the file", file.string());
  json preset;
  try {
    preset = json::parse(in);
  } catch (const json::parse_error& e) {
    fail("{}: malformed JSON: {}", file.string(), e.what());
  }
  const std::string where = file.string();
  WD_CHECK(preset.is_object(), "{}: expected a JSON object at the top level", where);
  static const json allowed = {
      {"name", ""},  {"description", ""},        {"published", json::object()},
      {"notes", ""}, {"config", json::object()}, {"scales", json::object()}};
  for (auto it = preset.begin(); it != preset.end(); ++it) {
    WD_CHECK(allowed.contains(it.key()), "{}: /{}: unknown key; allowed here: {}", where, it.key(),
             keys_of(allowed));
  }
  // Check the overrides against the schema now, so a bad preset fails before any run starts.
  json scratch = default_config();
  if (preset.contains("config"))
    merge_checked(scratch, preset["config"], default_config(), where, "/config");
  if (preset.contains("scales")) {
    WD_CHECK(preset["scales"].is_object(), "{}: /scales: expected an object", where);
    for (auto it = preset["scales"].begin(); it != preset["scales"].end(); ++it) {
      json s = default_config();
      merge_checked(s, it.value(), default_config(), where, "/scales/" + it.key());
    }
  }
  if (!preset.contains("name")) preset["name"] = file.stem().string();
  preset["__file__"] = where;
  return preset;
}

void apply_override(json& config, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  WD_CHECK(eq != std::string::npos && eq > 0,
           "override '{}': expected key=value, e.g. optim.weight_decay=0.1", assignment);
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  const json& schema = default_config();

  // Walk the dotted key through the schema.
  const json* def = &schema;
  json* target = &config;
  std::string walked;
  std::istringstream parts(key);
  std::string part;
  while (std::getline(parts, part, '.')) {
    WD_CHECK(def->is_object(), "override '{}': '{}' is a value, not a section", key, walked);
    auto it = def->find(part);
    const std::string here = walked.empty() ? part : walked + "." + part;
    if (it == def->end()) {
      std::string allowed;
      for (auto k = def->begin(); k != def->end(); ++k) {
        if (!allowed.empty()) allowed += ", ";
        allowed += (walked.empty() ? "" : walked + ".") + k.key();
      }
      fail("override '{}': unknown key '{}'; allowed: {}", key, here, allowed);
    }
    def = &*it;
    target = &(*target)[part];
    walked = here;
  }
  WD_CHECK(!def->is_object(), "override '{}': '{}' is a section; set one of its keys: {}", key, key,
           keys_of(*def));

  json value;
  try {
    value = json::parse(text);
  } catch (const json::parse_error&) {
    value = text;  // a bare word: a string
  }
  // Strings keep the text as typed (name=123 is the string "123").
  if (def->is_string() && !value.is_string()) value = text;
  WD_CHECK(type_fits(*def, value), "override '{}': {} expects {}, got '{}'", assignment, key,
           type_name(*def), text);
  *target = value;
}

json resolve_config(const json& preset, const std::string& scale,
                    const std::vector<std::string>& overrides) {
  json config = default_config();
  const std::string where = preset.value("__file__", std::string("preset"));
  if (preset.contains("config"))
    merge_checked(config, preset["config"], default_config(), where, "/config");
  if (!scale.empty()) {
    const json scales = preset.value("scales", json::object());
    if (!scales.contains(scale)) {
      fail("--scale: preset '{}' has no scale '{}'; available: {}",
           preset.value("name", std::string("?")), scale, keys_of(scales));
    }
    merge_checked(config, scales[scale], default_config(), where, "/scales/" + scale);
  }
  config["preset"] = preset.value("name", std::string());
  config["scale"] = scale;
  for (const std::string& o : overrides) apply_override(config, o);
  return config;
}

namespace {

template <typename E>
E parse_enum(const json& config, const char* key,
             std::initializer_list<std::pair<const char*, E>> options) {
  const std::string value =
      config.at(json::json_pointer(std::string("/") + key)).get<std::string>();
  std::string allowed;
  for (const auto& [name, e] : options) {
    if (value == name) return e;
    allowed += (allowed.empty() ? "" : ", ") + std::string(name);
  }
  std::string k = dotted(key);
  fail("{}: '{}' is not one of {}", k, value, allowed);
}

}  // namespace

RunConfig parse_run_config(const json& c) {
  RunConfig r;
  r.json = c;
  r.name = c["name"].get<std::string>();
  r.preset = c["preset"].get<std::string>();
  r.scale = c["scale"].get<std::string>();
  WD_CHECK(c["seed"].get<int64_t>() >= 0, "seed: must be non-negative");
  r.seed = c["seed"].get<uint64_t>();

  const json& m = c["model"];
  ModelConfig& mc = r.model;
  mc.family = m["family"].get<std::string>();
  mc.block_size = m["block_size"].get<int>();
  mc.n_layer = m["n_layer"].get<int>();
  mc.n_head = m["n_head"].get<int>();
  mc.n_kv_head = m["n_kv_head"].get<int>();
  mc.d_model = m["d_model"].get<int>();
  mc.head_dim = m["head_dim"].get<int>();
  mc.ffn_rule = parse_enum<FfnRule>(c, "model/ffn_rule",
                                    {{"ratio", FfnRule::ratio}, {"two_thirds", FfnRule::two_thirds}});
  mc.ffn_ratio = m["ffn_ratio"].get<double>();
  mc.ffn_multiple_of = m["ffn_multiple_of"].get<int>();
  mc.activation = parse_enum<Activation>(c, "model/activation",
                                         {{"gelu", Activation::gelu},
                                          {"swiglu", Activation::swiglu},
                                          {"geglu", Activation::geglu}});
  mc.norm = parse_enum<NormKind>(c, "model/norm",
                                 {{"layernorm", NormKind::layernorm}, {"rmsnorm", NormKind::rmsnorm}});
  mc.norm_bias = m["norm_bias"].get<bool>();
  mc.norm_eps = m["norm_eps"].get<double>();
  mc.norm_placement = parse_enum<NormPlacement>(
      c, "model/norm_placement", {{"pre", NormPlacement::pre}, {"sandwich", NormPlacement::sandwich}});
  mc.block = parse_enum<BlockKind>(c, "model/block",
                                   {{"sequential", BlockKind::sequential}, {"parallel", BlockKind::parallel}});
  mc.positions = parse_enum<PositionKind>(c, "model/positions",
                                          {{"learned", PositionKind::learned}, {"rope", PositionKind::rope}});
  mc.rope_theta = m["rope_theta"].get<double>();
  mc.bias = m["bias"].get<bool>();
  mc.tie_embeddings = m["tie_embeddings"].get<bool>();
  mc.attention = parse_enum<AttentionPattern>(c, "model/attention",
                                              {{"dense", AttentionPattern::dense},
                                               {"sliding", AttentionPattern::sliding},
                                               {"alternating", AttentionPattern::alternating}});
  mc.window = m["window"].get<int>();
  mc.attn_softcap = m["attn_softcap"].get<double>();
  mc.embedding_scale = parse_enum<EmbeddingScale>(
      c, "model/embedding_scale",
      {{"none", EmbeddingScale::none}, {"sqrt_d_model", EmbeddingScale::sqrt_d_model}});
  mc.logit_scale = parse_enum<LogitScale>(c, "model/logit_scale",
                                          {{"none", LogitScale::none},
                                           {"inv_sqrt_d_model", LogitScale::inv_sqrt_d_model},
                                           {"inv_sqrt_3", LogitScale::inv_sqrt_3}});
  mc.z_loss = m["z_loss"].get<double>();
  mc.moe.n_expert = m["moe"]["n_expert"].get<int>();
  mc.moe.top_k = m["moe"]["top_k"].get<int>();
  mc.moe.router = parse_enum<RouterKind>(c, "model/moe/router",
                                         {{"softmax_topk", RouterKind::softmax_topk},
                                          {"topk_softmax", RouterKind::topk_softmax}});
  mc.moe.aux_loss_coef = m["moe"]["aux_loss_coef"].get<double>();
  mc.dropout = m["dropout"].get<double>();
  mc.init_std = m["init_std"].get<double>();
  mc.embedding_init_std = m["embedding_init_std"].get<double>();
  mc.vocab_size = 2;  // placeholder for validation; set from the data by the trainer
  validate(mc);
  mc.vocab_size = 0;

  const json& d = c["data"];
  r.data.source = d["source"].get<std::string>();
  WD_CHECK(r.data.source == "synthetic" || r.data.source == "text",
           "data.source: '{}' is not one of synthetic, text", r.data.source);
  r.data.path = d["path"].get<std::string>();
  WD_CHECK(r.data.source != "text" || !r.data.path.empty(),
           "data.path: required when data.source=text (the file to train on)");
  r.data.val_fraction = d["val_fraction"].get<double>();
  WD_CHECK(r.data.val_fraction > 0.0 && r.data.val_fraction < 1.0,
           "data.val_fraction: must be in (0, 1), got {}", r.data.val_fraction);
  WD_CHECK(d["language_seed"].get<int64_t>() >= 0, "data.language_seed: must be non-negative");
  r.data.language_seed = d["language_seed"].get<uint64_t>();
  const int64_t train_tokens = d["train_tokens"].get<int64_t>();
  const int64_t val_tokens = d["val_tokens"].get<int64_t>();
  WD_CHECK(train_tokens > r.model.block_size,
           "data.train_tokens: must exceed model.block_size ({}), got {}", r.model.block_size,
           train_tokens);
  WD_CHECK(val_tokens > r.model.block_size,
           "data.val_tokens: must exceed model.block_size ({}), got {}", r.model.block_size,
           val_tokens);
  r.data.train_tokens = static_cast<size_t>(train_tokens);
  r.data.val_tokens = static_cast<size_t>(val_tokens);
  const json& s = d["synthetic"];
  r.data.synthetic.vocab_size = s["vocab_size"].get<int>();
  r.data.synthetic.order = s["order"].get<int>();
  r.data.synthetic.rank = s["rank"].get<int>();
  r.data.synthetic.temperature = s["temperature"].get<double>();

  const json& t = c["train"];
  r.train.batch_size = t["batch_size"].get<int>();
  r.train.steps = t["steps"].get<int>();
  r.train.log_every = t["log_every"].get<int>();
  r.train.eval_every = t["eval_every"].get<int>();
  r.train.eval_batches = t["eval_batches"].get<int>();
  WD_CHECK(r.train.batch_size >= 1, "train.batch_size: must be at least 1, got {}",
           r.train.batch_size);
  WD_CHECK(r.train.steps >= 1, "train.steps: must be at least 1, got {}", r.train.steps);
  WD_CHECK(r.train.log_every >= 1, "train.log_every: must be at least 1, got {}",
           r.train.log_every);
  WD_CHECK(r.train.eval_every >= 1, "train.eval_every: must be at least 1, got {}",
           r.train.eval_every);
  WD_CHECK(r.train.eval_batches >= 1, "train.eval_batches: must be at least 1, got {}",
           r.train.eval_batches);

  const json& o = c["optim"];
  OptimizerOptions& opt = r.optim.options;
  opt.kind = parse_enum<OptimizerKind>(
      c, "optim/name", {{"adam", OptimizerKind::adam}, {"sgd", OptimizerKind::sgd}});
  opt.beta1 = o["beta1"].get<double>();
  opt.beta2 = o["beta2"].get<double>();
  opt.eps = o["eps"].get<double>();
  opt.momentum = o["momentum"].get<double>();
  opt.weight_decay = o["weight_decay"].get<double>();
  opt.decay_mode = parse_enum<DecayMode>(c, "optim/decay_mode",
                                         {{"none", DecayMode::none},
                                          {"coupled", DecayMode::coupled},
                                          {"decoupled", DecayMode::decoupled}});
  opt.decay_scaling = parse_enum<DecayScaling>(c, "optim/decay_scaling",
                                               {{"lr", DecayScaling::lr},
                                                {"schedule", DecayScaling::schedule},
                                                {"lr_squared", DecayScaling::lr_squared}});
  WD_CHECK(opt.beta1 >= 0.0 && opt.beta1 < 1.0, "optim.beta1: must be in [0, 1), got {}",
           opt.beta1);
  WD_CHECK(opt.beta2 >= 0.0 && opt.beta2 < 1.0, "optim.beta2: must be in [0, 1), got {}",
           opt.beta2);
  WD_CHECK(opt.eps > 0.0, "optim.eps: must be positive, got {}", opt.eps);
  WD_CHECK(opt.momentum >= 0.0 && opt.momentum < 1.0, "optim.momentum: must be in [0, 1), got {}",
           opt.momentum);
  WD_CHECK(opt.weight_decay >= 0.0, "optim.weight_decay: must be non-negative, got {}",
           opt.weight_decay);
  r.optim.decay_scope = parse_enum<DecayScope>(
      c, "optim/decay_scope",
      {{"selective", DecayScope::selective}, {"uniform", DecayScope::uniform}});
  const json& rules = o["decay_rules"];
  for (size_t i = 0; i < rules.size(); ++i) {
    const json& rule = rules[i];
    const std::string at = fmt::format("optim.decay_rules[{}]", i);
    WD_CHECK(rule.is_object(),
             "{}: expected an object like {{\"kind\": \"embedding\", \"decay\": false}}", at);
    for (auto it = rule.begin(); it != rule.end(); ++it) {
      WD_CHECK(it.key() == "kind" || it.key() == "name" || it.key() == "decay",
               "{}.{}: unknown key; allowed: kind, name, decay", at, it.key());
    }
    WD_CHECK(rule.contains("decay") && rule["decay"].is_boolean(),
             "{}.decay: required, true or false", at);
    WD_CHECK(rule.contains("kind") || rule.contains("name"),
             "{}: needs \"kind\" or \"name\" (a glob) to say which tensors it covers", at);
    DecayRule dr;
    dr.decay = rule["decay"].get<bool>();
    if (rule.contains("kind")) {
      WD_CHECK(rule["kind"].is_string(), "{}.kind: expected a string, one of {}", at,
               param_kind_names());
      dr.kind = param_kind_from_string(rule["kind"].get<std::string>());
      WD_CHECK(dr.kind.has_value(), "{}.kind: '{}' is not one of {}", at,
               rule["kind"].get<std::string>(), param_kind_names());
    }
    if (rule.contains("name")) {
      WD_CHECK(rule["name"].is_string(), "{}.name: expected a string (a glob such as \"*.wpe.*\")",
               at);
      dr.name_glob = rule["name"].get<std::string>();
    }
    r.optim.decay_rules.push_back(dr);
  }

  LrSchedule& sch = r.optim.schedule;
  sch.kind = parse_enum<ScheduleKind>(
      c, "optim/schedule",
      {{"cosine", ScheduleKind::cosine}, {"constant", ScheduleKind::constant}});
  sch.peak = o["lr"].get<double>();
  sch.min_lr = o["min_lr"].get<double>();
  sch.warmup = o["warmup_steps"].get<int>();
  sch.total = r.train.steps;
  WD_CHECK(sch.peak > 0.0, "optim.lr: must be positive, got {}", sch.peak);
  WD_CHECK(sch.min_lr >= 0.0 && sch.min_lr <= sch.peak,
           "optim.min_lr: must be in [0, optim.lr = {}], got {}", sch.peak, sch.min_lr);
  WD_CHECK(sch.warmup >= 0, "optim.warmup_steps: must be non-negative, got {}", sch.warmup);
  r.optim.grad_clip = o["grad_clip"].get<double>();
  WD_CHECK(r.optim.grad_clip >= 0.0, "optim.grad_clip: must be non-negative (0 disables), got {}",
           r.optim.grad_clip);
  return r;
}

std::string config_id(const json& config) {
  json c = config;
  c.erase("name");
  const std::string text = c.dump();  // keys sorted: canonical
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}

}  // namespace wdlab
