// Per-preset values in a sweep spec, resolved for each run when the sweep is expanded, so one
// spec serves every preset (both are values of optim.weight_decay only):
//
//   "@published"       the preset's published.weight_decay_table.seed_value: the λ the
//                      commonly quoted table gives for that model
//                      (docs/weight_decay.md#the-commonly-quoted-table).
//   "@budget_matched"  the λ that gives this run the published recipe's decay budget
//                      D = sum_t s_t λ, s_t being the run's per-step decay factor
//                      (lr_t for decay_scaling=lr, lr_t / lr_peak for schedule,
//                      lr_t^2 for lr_squared). D is the preset's weight_decay_table.decay_budget
//                      when it states one, else the spec's decay_budget. Rounded to 3 digits.
//                      Decoupled decay only: coupled L2 adds λw to the gradient and shrinks
//                      nothing per step, so it has no decay budget to match (a budget-matched
//                      coupled λ swamps the gradient); without decay λ is unused. Both are an
//                      error (budget_reference_misuse).
//
//   ResolvedReference r = resolve_reference("@published", preset, config, 4.0);
//   if (!r.value) skip(r.why_not);
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "run/config.h"

namespace wdlab {

bool is_reference(const nlohmann::json& value);
// Throws unless `ref` is a known reference allowed for `key`.
void check_reference(const std::string& key, const std::string& ref);

struct ResolvedReference {
  std::optional<double> value;
  std::string why_not;  // when there is no value: what the preset lacks
};

// Why `ref` cannot set this run's λ, or "" when it can: a budget-derived reference under
// optim.decay_mode coupled or none. `config` is the run's resolved config.
std::string budget_reference_misuse(const std::string& ref, const nlohmann::json& config);

// `config` is the run's resolved config without the reference applied. Throws on a
// budget_reference_misuse.
ResolvedReference resolve_reference(const std::string& ref, const nlohmann::json& preset,
                                    const nlohmann::json& config, double default_budget);

// sum over the run's steps of s_t, the decay one unit of λ contributes per step.
double decay_per_unit_lambda(const RunConfig& run);

// The decay budget D the preset's recipe states, if any.
std::optional<double> published_decay_budget(const nlohmann::json& preset);

}  // namespace wdlab
