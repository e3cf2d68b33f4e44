#include "optim/param_groups.h"

namespace wdlab {

DecayPlan build_decay_plan(const ParamTable& table, DecayScope scope,
                           const std::vector<DecayRule>& rules) {
  DecayPlan plan;
  plan.decays.resize(table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    const ParamInfo& p = table[i];
    bool decay = scope == DecayScope::uniform || p.ndim() >= 2;
    for (const DecayRule& rule : rules) {  // in order: the last matching rule wins
      const bool kind_ok = !rule.kind || *rule.kind == p.kind;
      const bool name_ok = rule.name_glob.empty() || glob_match(rule.name_glob, p.name);
      if (kind_ok && name_ok) decay = rule.decay;
    }
    plan.decays[i] = decay;
    ParamGroupSummary& group = decay ? plan.decay : plan.no_decay;
    group.tensors.push_back(i);
    group.numel += p.numel;
  }
  return plan;
}

// Iterative matcher with single-star backtracking: on a mismatch, retry from the most recent '*'
// letting it swallow one more character. Linear in practice, O(|pattern| * |text|) worst case.
bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos;  // position of the last '*' seen in pattern
  size_t star_t = 0;                     // text position that '*' currently extends to
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace wdlab
