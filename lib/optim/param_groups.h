// Which tensors are decayed. Resolved once, when the optimizer is built, from each tensor's kind
// (and optionally its name); logged and recorded with the run so the decision is never implicit.
//
//   DecayPlan plan = build_decay_plan(table, DecayScope::selective, {});
//   if (plan.decays[i]) ...                    // tensor i is in the decay group
//   plan.decay.tensors, plan.decay.numel       // counts, as nanoGPT prints them
//
// selective: matrices and embedding tables (ndim >= 2) decay; biases, norm gains and every other
//            1-D tensor do not (nanoGPT, llm.c CUDA, Megatron).
// uniform:   every tensor decays (torch.optim.AdamW over model.parameters(); llm.c CPU).
// rules:     applied in order on top of the scope; the last matching rule wins. A rule matches
//            when its kind (if given) equals the tensor's kind and its name glob (if given, with
//            '*' and '?') matches the tensor's name; e.g. {"kind": "embedding", "decay": false}
//            exempts embedding tables (OLMo's convention).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/param_table.h"

namespace wdlab {

enum class DecayScope { selective, uniform };

struct DecayRule {
  std::optional<ParamKind> kind;
  std::string name_glob;  // empty: any name
  bool decay = false;
};

struct ParamGroupSummary {
  std::vector<size_t> tensors;  // row indices into the table
  size_t numel = 0;
};

struct DecayPlan {
  std::vector<bool> decays;  // one per table row
  ParamGroupSummary decay;
  ParamGroupSummary no_decay;
};

DecayPlan build_decay_plan(const ParamTable& table, DecayScope scope,
                           const std::vector<DecayRule>& rules);

// Glob match with '*' (any run) and '?' (any one character).
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace wdlab
