#include "model/inspect.h"

#include <fmt/format.h>

#include <algorithm>

namespace wdlab {
namespace {

std::string shape_text(const ParamInfo& p) {
  std::string s = "(";
  for (size_t i = 0; i < p.shape.size(); ++i) s += (i ? ", " : "") + std::to_string(p.shape[i]);
  return s + ")";
}

std::string group_line(const char* scope, const DecayPlan& plan, size_t total) {
  return fmt::format(
      "{:<10} decay: {:>3} tensors, {:>10} parameters ({:5.1f}%) | no decay: {:>3} "
      "tensors, {:>8} parameters\n",
      scope, plan.decay.tensors.size(), plan.decay.numel,
      100.0 * plan.decay.numel / std::max<size_t>(total, 1), plan.no_decay.tensors.size(),
      plan.no_decay.numel);
}

nlohmann::json groups_json(const DecayPlan& plan) {
  return {{"decay", {{"tensors", plan.decay.tensors.size()}, {"parameters", plan.decay.numel}}},
          {"no_decay",
           {{"tensors", plan.no_decay.tensors.size()}, {"parameters", plan.no_decay.numel}}}};
}

}  // namespace

nlohmann::json param_table_json(const ParamTable& table, const DecayPlan& selective,
                                const DecayPlan& uniform) {
  nlohmann::json tensors = nlohmann::json::array();
  for (size_t i = 0; i < table.size(); ++i) {
    const ParamInfo& p = table[i];
    tensors.push_back({{"name", p.name},
                       {"shape", p.shape},
                       {"numel", p.numel},
                       {"kind", std::string(to_string(p.kind))},
                       {"selective", selective.decays[i] ? "decay" : "no_decay"},
                       {"uniform", uniform.decays[i] ? "decay" : "no_decay"}});
  }
  return {{"tensors", tensors},
          {"parameters", table.total()},
          {"groups", {{"selective", groups_json(selective)}, {"uniform", groups_json(uniform)}}}};
}

std::string format_param_table(const ParamTable& table, const DecayPlan& selective,
                               const DecayPlan& uniform) {
  size_t name_width = 4;
  for (const ParamInfo& p : table) name_width = std::max(name_width, p.name.size());
  std::string out = fmt::format("{:<{}}  {:<14} {:>10}  {:<9}  {:<9}  {:<9}\n", "name", name_width,
                                "shape", "numel", "kind", "selective", "uniform");
  for (size_t i = 0; i < table.size(); ++i) {
    const ParamInfo& p = table[i];
    out += fmt::format("{:<{}}  {:<14} {:>10}  {:<9}  {:<9}  {:<9}\n", p.name, name_width,
                       shape_text(p), p.numel, to_string(p.kind),
                       selective.decays[i] ? "decay" : "-", uniform.decays[i] ? "decay" : "-");
  }
  out += fmt::format("\n{} tensors, {} parameters\n", table.size(), table.total());
  out += group_line("selective", selective, table.total());
  out += group_line("uniform", uniform, table.total());
  return out;
}

}  // namespace wdlab
