#include "run/config_optim.h"

#include <string>

namespace wdlab {
using nlohmann::json;

const SectionSchema& optim_schema() {
  static const SectionSchema schema{
      "optim",
      {
          {"name", "adam", "optimizer: adam | sgd (with momentum)"},
          {"lr", 1e-3, "peak learning rate (> 0)"},
          {"min_lr", 1e-4, "cosine: the learning rate at the last step, in [0, lr]"},
          {"schedule", "cosine",
           "cosine (warmup, then down to min_lr) | constant (warmup, then lr)"},
          {"warmup_steps", 20, "linear warmup steps (>= 0)"},
          {"beta1", 0.9, "Adam: first-moment decay, in [0, 1)"},
          {"beta2", 0.95, "Adam: second-moment decay, in [0, 1)"},
          {"eps", 1e-8, "Adam: added to sqrt(v) (> 0)"},
          {"momentum", 0.9, "SGD: momentum, in [0, 1)"},
          {"weight_decay", 0.1, "λ (>= 0)"},
          {"decay_mode", "decoupled",
           "none | coupled (L2 on the gradient, Adam) | decoupled (on the weights, AdamW)"},
          {"decay_scaling", "lr",
           "decoupled only (null otherwise): s_t = lr (lr_t) | schedule (lr_t / lr) | lr_squared "
           "| adamc (lr_t^2 / lr on normalized layers, lr_t elsewhere) | adamc_all"},
          {"decay_scope", "selective",
           "selective (tensors with ndim >= 2: matrices, embeddings, routers, experts) | uniform"},
          {"decay_rules", json::array(),
           "[{\"kind\" and/or \"name\" (a glob), \"decay\": bool}] on top of the scope; last "
           "match wins"},
          {"grad_clip", 1.0, "global gradient-norm clip (>= 0; 0 disables)"},
      }};
  return schema;
}

void normalise_optim(json& config) {
  json& o = config.at("optim");
  if (o.at("decay_mode") != "decoupled") o["decay_scaling"] = nullptr;
}

namespace {

std::vector<DecayRule> parse_decay_rules(const json& rules) {
  std::vector<DecayRule> out;
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
    out.push_back(dr);
  }
  return out;
}

// [0, 1): the range of beta1, beta2 and momentum.
double unit_interval(const SectionReader& o, const char* key) {
  const double v = o.get<double>(key);
  WD_CHECK(v >= 0.0 && v < 1.0, "{}: must be in [0, 1), got {}", o.dotted(key), v);
  return v;
}

}  // namespace

OptimConfig parse_optim_config(const json& config, int total_steps) {
  const SectionReader o(config, "optim");
  OptimConfig r;
  OptimizerOptions& opt = r.options;
  opt.kind =
      o.choice<OptimizerKind>("name", {{"adam", OptimizerKind::adam}, {"sgd", OptimizerKind::sgd}});
  opt.decay_mode = o.choice<DecayMode>("decay_mode", {{"none", DecayMode::none},
                                                      {"coupled", DecayMode::coupled},
                                                      {"decoupled", DecayMode::decoupled}});
  const bool scaling_null = o.at("decay_scaling").is_null();
  WD_CHECK(!scaling_null || opt.decay_mode != DecayMode::decoupled,
           "optim.decay_scaling: required with optim.decay_mode=decoupled");
  opt.decay_scaling = scaling_null ? DecayScaling::lr
                                   : o.choice<DecayScaling>(
                                         "decay_scaling", {{"lr", DecayScaling::lr},
                                                           {"schedule", DecayScaling::schedule},
                                                           {"lr_squared", DecayScaling::lr_squared},
                                                           {"adamc", DecayScaling::adamc},
                                                           {"adamc_all", DecayScaling::adamc_all}});
  opt.beta1 = unit_interval(o, "beta1");
  opt.beta2 = unit_interval(o, "beta2");
  opt.eps = o.get<double>("eps");
  WD_CHECK(opt.eps > 0.0, "optim.eps: must be positive, got {}", opt.eps);
  opt.momentum = unit_interval(o, "momentum");
  opt.weight_decay = o.get<double>("weight_decay");
  WD_CHECK(opt.weight_decay >= 0.0, "optim.weight_decay: must be non-negative, got {}",
           opt.weight_decay);
  r.decay_scope = o.choice<DecayScope>(
      "decay_scope", {{"selective", DecayScope::selective}, {"uniform", DecayScope::uniform}});
  r.decay_rules = parse_decay_rules(o.at("decay_rules"));

  LrSchedule& sch = r.schedule;
  sch.kind = o.choice<ScheduleKind>(
      "schedule", {{"cosine", ScheduleKind::cosine}, {"constant", ScheduleKind::constant}});
  sch.peak = o.get<double>("lr");
  sch.min_lr = o.get<double>("min_lr");
  sch.warmup = o.get<int>("warmup_steps");
  sch.total = total_steps;
  WD_CHECK(sch.peak > 0.0, "optim.lr: must be positive, got {}", sch.peak);
  WD_CHECK(sch.min_lr >= 0.0 && sch.min_lr <= sch.peak,
           "optim.min_lr: must be in [0, optim.lr = {}], got {}", sch.peak, sch.min_lr);
  WD_CHECK(sch.warmup >= 0, "optim.warmup_steps: must be non-negative, got {}", sch.warmup);
  r.grad_clip = o.get<double>("grad_clip");
  WD_CHECK(r.grad_clip >= 0.0, "optim.grad_clip: must be non-negative (0 disables), got {}",
           r.grad_clip);
  return r;
}

}  // namespace wdlab
