#include "sweep/references.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace wdlab {
using nlohmann::json;

namespace {

constexpr const char* kPublished = "@published";
constexpr const char* kBudgetMatched = "@budget_matched";

const json* weight_decay_table(const json& preset) {
  const json* table = nullptr;
  if (auto p = preset.find("published"); p != preset.end() && p->is_object()) {
    if (auto t = p->find("weight_decay_table"); t != p->end() && t->is_object()) table = &*t;
  }
  return table;
}

// 3 significant digits: the value lands in directory names and tables, and the budget it
// matches is itself a rough figure.
double round_3_digits(double x) {
  if (x == 0.0 || !std::isfinite(x)) return x;
  const double scale = std::pow(10.0, 2 - std::floor(std::log10(std::fabs(x))));
  return std::round(x * scale) / scale;
}

}  // namespace

bool is_reference(const json& value) {
  return value.is_string() && value.get<std::string>().starts_with("@");
}

void check_reference(const std::string& key, const std::string& ref) {
  WD_CHECK(ref == kPublished || ref == kBudgetMatched, "unknown reference '{}'; allowed: {}, {}",
           ref, kPublished, kBudgetMatched);
  WD_CHECK(key == "optim.weight_decay", "'{}' is a value of optim.weight_decay only, not of {}",
           ref, key);
}

std::optional<double> published_decay_budget(const json& preset) {
  const json* table = weight_decay_table(preset);
  if (table && table->contains("decay_budget") && (*table)["decay_budget"].is_number())
    return (*table)["decay_budget"].get<double>();
  return std::nullopt;
}

double decay_per_unit_lambda(const RunConfig& run) {
  OptimizerOptions unit = run.optim.options;
  unit.weight_decay = 1.0;
  if (unit.decay_mode != DecayMode::decoupled) return 0.0;  // no per-step shrink: no budget
  double sum = 0.0;
  for (int step = 0; step < run.train.steps; ++step)
    sum += decoupled_decay_step(unit, run.optim.schedule.at(step), run.optim.schedule.peak);
  return sum;
}

std::string budget_reference_misuse(const std::string& ref, const json& config) {
  if (ref != kBudgetMatched) return "";
  std::string mode = "?";
  if (config.contains("optim") && config["optim"].contains("decay_mode") &&
      config["optim"]["decay_mode"].is_string())
    mode = config["optim"]["decay_mode"].get<std::string>();
  if (mode == "decoupled") return "";
  return fmt::format(
      "{} with optim.decay_mode={}: a decay budget is defined only for decoupled decay; give "
      "coupled L2 its own λ grid (e.g. [1e-4, 1e-3, 1e-2]){}",
      ref, mode, mode == "none" ? ", and leave λ out of runs without decay" : "");
}

ResolvedReference resolve_reference(const std::string& ref, const json& preset, const json& config,
                                    double default_budget) {
  const std::string name = preset.value("name", std::string("?"));
  const json* table = weight_decay_table(preset);
  if (ref == kPublished) {
    if (!table) return {std::nullopt, name + " has no published.weight_decay_table"};
    if (!table->contains("seed_value") || !(*table)["seed_value"].is_number())
      return {std::nullopt, name + "'s weight_decay_table states no numeric seed_value"};
    return {(*table)["seed_value"].get<double>(), ""};
  }
  WD_CHECK(ref == kBudgetMatched, "unknown reference '{}'", ref);
  const std::string misuse = budget_reference_misuse(ref, config);
  WD_CHECK(misuse.empty(), "{}", misuse);
  const double budget = published_decay_budget(preset).value_or(default_budget);
  const double per_unit = decay_per_unit_lambda(parse_run_config(config));
  if (!(per_unit > 0.0)) return {std::nullopt, "the run's schedule applies no decay"};
  return {round_3_digits(budget / per_unit), ""};
}

}  // namespace wdlab
