// The parameter table: every trainable tensor of a model as {name, shape, offset, kind} inside one
// contiguous arena. Gradients and optimizer moments are arenas of the same size and layout, so an
// optimizer is a loop over the table's rows and a checkpoint is "dump the table".
//
//   ParamTable table;
//   size_t wte = table.add("transformer.wte.weight", {V, C}, ParamKind::embedding);
//   std::vector<float> params(table.total());
//   float* w = params.data() + table[wte].offset;
//
// `kind` is decided where the tensor is created and is what weight-decay rules read; nothing
// downstream decides by a tensor's position in the table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wdlab {

enum class ParamKind {
  matrix,     // weight of a linear map, [out, in]
  embedding,  // lookup table (token or position), [rows, C]; a tied LM head is this tensor
  bias,       // additive bias of a linear map
  norm_gain,  // multiplicative gain of a LayerNorm / RMSNorm
  norm_bias,  // additive bias of a LayerNorm
  router,     // mixture-of-experts router (gate) matrix, [experts, in]
  expert,     // weight of one mixture-of-experts expert, [out, in]
};
inline constexpr size_t kParamKinds = 7;  // the number of ParamKind values

std::string_view to_string(ParamKind kind);
std::optional<ParamKind> param_kind_from_string(std::string_view name);
// "matrix, embedding, bias, norm_gain, norm_bias", for error messages.
std::string param_kind_names();

struct ParamInfo {
  std::string name;            // PyTorch-style, e.g. "transformer.h.0.attn.c_attn.weight"
  std::vector<int64_t> shape;  // row-major; linear weights are [out, in] as in PyTorch
  size_t offset = 0;           // in elements from the start of the arena
  size_t numel = 0;
  ParamKind kind = ParamKind::matrix;

  int ndim() const { return static_cast<int>(shape.size()); }
};

class ParamTable {
 public:
  // Appends a tensor and returns its row index. Names must be unique.
  size_t add(std::string name, std::vector<int64_t> shape, ParamKind kind);

  const ParamInfo& operator[](size_t i) const { return rows_[i]; }
  size_t size() const { return rows_.size(); }
  size_t total() const { return total_; }  // elements in the arena
  auto begin() const { return rows_.begin(); }
  auto end() const { return rows_.end(); }

  // Row index of a tensor by name, or nullopt.
  std::optional<size_t> find(std::string_view name) const;

 private:
  std::vector<ParamInfo> rows_;
  size_t total_ = 0;
};

// Throws wdlab::Error unless every value of every tensor is finite, naming the first tensor that
// holds a NaN or Inf, how many it holds and where the first is; `source` (a checkpoint's path)
// prefixes the message.
void require_finite(const ParamTable& table, const float* params, const std::string& source);

}  // namespace wdlab
