#include "core/param_table.h"

#include <cmath>

#include "core/error.h"

namespace wdlab {

std::string_view to_string(ParamKind kind) {
  switch (kind) {
    case ParamKind::matrix:
      return "matrix";
    case ParamKind::embedding:
      return "embedding";
    case ParamKind::bias:
      return "bias";
    case ParamKind::norm_gain:
      return "norm_gain";
    case ParamKind::norm_bias:
      return "norm_bias";
    case ParamKind::router:
      return "router";
    case ParamKind::expert:
      return "expert";
  }
  return "?";
}

std::optional<ParamKind> param_kind_from_string(std::string_view name) {
  for (ParamKind k : {ParamKind::matrix, ParamKind::embedding, ParamKind::bias,
                      ParamKind::norm_gain, ParamKind::norm_bias, ParamKind::router,
                      ParamKind::expert}) {
    if (to_string(k) == name) return k;
  }
  return std::nullopt;
}

std::string param_kind_names() {
  return "matrix, embedding, bias, norm_gain, norm_bias, router, expert";
}

size_t ParamTable::add(std::string name, std::vector<int64_t> shape, ParamKind kind) {
  WD_CHECK(!find(name), "parameter table: duplicate tensor name '{}'", name);
  size_t numel = 1;
  for (int64_t d : shape) {
    WD_CHECK(d > 0, "parameter table: tensor '{}' has a non-positive dimension", name);
    numel *= static_cast<size_t>(d);
  }
  rows_.push_back(ParamInfo{std::move(name), std::move(shape), total_, numel, kind});
  total_ += numel;
  return rows_.size() - 1;
}

std::optional<size_t> ParamTable::find(std::string_view name) const {
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (rows_[i].name == name) return i;
  }
  return std::nullopt;
}

void require_finite(const ParamTable& table, const float* params, const std::string& source) {
  for (const ParamInfo& p : table) {
    const float* w = params + p.offset;
    size_t count = 0, first = 0;
    for (size_t i = 0; i < p.numel; ++i) {
      if (!std::isfinite(w[i]) && count++ == 0) first = i;
    }
    WD_CHECK(count == 0,
             "{}: tensor '{}' holds {} non-finite value{} (the first, {}, at index {} of {}); "
             "weights must be finite numbers",
             source, p.name, count, count == 1 ? "" : "s", w[first], first, p.numel);
  }
}

}  // namespace wdlab
