#include "run/config.h"

#include "core/error.h"

namespace wdlab {
using nlohmann::json;

namespace {

const SectionSchema& run_schema() {
  static const SectionSchema schema{
      "",
      {
          {"name", "", "run name: the default run directory; ignored by the config id"},
          {"preset", "", "set by --preset (the preset's name)"},
          {"scale", "", "set by --scale"},
          {"seed", 1337, "seed of the weight init and the batch order (>= 0)"},
      }};
  return schema;
}

}  // namespace

const std::vector<const SectionSchema*>& config_sections() {
  static const std::vector<const SectionSchema*> sections = {
      &run_schema(), &model_schema(), &data_schema(), &train_schema(), &optim_schema()};
  return sections;
}

const json& default_config() {
  static const json defaults = [] {
    json d = json::object();
    for (const SectionSchema* s : config_sections()) {
      if (s->name.empty()) {
        d.update(s->defaults());
      } else {
        d[s->name] = s->defaults();
      }
    }
    return d;
  }();
  return defaults;
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
  normalise_optim(config);
  return config;
}

RunConfig parse_run_config(const json& c) {
  RunConfig r;
  r.json = c;
  const SectionReader top(c, "");
  r.name = top.get<std::string>("name");
  r.preset = top.get<std::string>("preset");
  r.scale = top.get<std::string>("scale");
  r.seed = top.get<uint64_t>("seed");  // a negative seed is out of range
  r.model = parse_model_config(c);
  r.data = parse_data_config(c, r.model.block_size);
  r.train = parse_train_config(c);
  r.optim = parse_optim_config(c, r.train.steps);
  return r;
}

std::string config_id(const json& config, const std::string& init_sha256) {
  json c = config;
  c.erase("name");
  // When checkpoints are written does not change a run's results.
  if (c.contains("train") && c["train"].is_object()) {
    c["train"].erase("checkpoint_every");
    c["train"].erase("checkpoint_minutes");
  }
  if (c.contains("optim")) normalise_optim(c);
  // The modular task's keys act only with data.source=modular; elsewhere they leave the id what
  // it was before they existed, so runs of the other sources keep their ids.
  if (c.contains("data") && c["data"].is_object()) {
    json& d = c["data"];
    const auto source = d.find("source");
    if (source == d.end() || !source->is_string() || *source != "modular") {
      for (const char* key : {"modulus", "operation", "train_fraction"}) d.erase(key);
    }
  }
  // Not a config key (the schema has none of this name), so it cannot collide with one.
  if (!init_sha256.empty()) c["init_sha256"] = init_sha256;
  const std::string text = c.dump();  // keys sorted: canonical
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}

}  // namespace wdlab
