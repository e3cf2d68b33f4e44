#include "optim/adamc_scope.h"

namespace wdlab {

bool is_normalized_layer(const ParamInfo& p) {
  switch (p.kind) {
    case ParamKind::matrix:
      return p.name != kOutputHeadName;
    case ParamKind::expert:
    case ParamKind::router:
    case ParamKind::bias:
      return true;
    case ParamKind::embedding:
    case ParamKind::norm_gain:
    case ParamKind::norm_bias:
      return false;
  }
  return false;
}

std::vector<bool> adamc_tensors(const ParamTable& table, bool all) {
  std::vector<bool> out(table.size());
  for (size_t i = 0; i < table.size(); ++i) out[i] = all || is_normalized_layer(table[i]);
  return out;
}

}  // namespace wdlab
