// The model's parameters: which tensors a config creates, their names, shapes and kinds (the kind
// is what weight-decay rules read), their order in the arena, and how they are initialised. Read
// this file to know what "decay the matrices" touches.
//
//   ParamLayout layout = make_param_layout(config);
//   std::vector<float> params(layout.table.total());
//   init_params(params.data(), layout.table, config, seed);
//   const float* qkv = ArenaView(params.data(), layout.table)[layout.blocks[0].qkv_w];
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/param_table.h"
#include "model/model_config.h"

namespace wdlab {

// The row of a tensor the architecture does not have (a bias of a bias-free model).
inline constexpr size_t kNone = std::numeric_limits<size_t>::max();

// The table rows of one block's tensors (kNone where the architecture has no such tensor).
struct BlockParams {
  size_t ln1_w = kNone, ln1_b = kNone;          // pre-attention norm
  size_t qkv_w = kNone, qkv_b = kNone;          // fused QKV projection
  size_t attproj_w = kNone, attproj_b = kNone;  // attention output projection
  size_t ln1p_w = kNone, ln1p_b = kNone;        // post-attention norm (sandwich)
  size_t ln2_w = kNone, ln2_b = kNone;          // pre-FFN norm (sequential blocks)
  size_t fc_w = kNone, fc_b = kNone;            // dense MLP: [gate | up] or up
  size_t proj_w = kNone, proj_b = kNone;        // dense MLP: down
  size_t router = kNone, experts_fc = kNone, experts_proj = kNone;  // MoE: expert 0's rows
  size_t ln2p_w = kNone, ln2p_b = kNone;                            // post-FFN norm (sandwich)
};

// The table rows of the tensors outside the blocks.
struct TopParams {
  size_t wte = kNone, wpe = kNone;      // token and (learned) position embeddings
  size_t lnf_w = kNone, lnf_b = kNone;  // final norm
  size_t lm_head = kNone;               // untied output projection; the head is wte when tied
  size_t head() const { return lm_head == kNone ? wte : lm_head; }
};

struct ParamLayout {
  ParamTable table;  // names, shapes, kinds and offsets, in creation order
  std::vector<BlockParams> blocks;
  TopParams top;
};

// The tensors of `config`, named as in PyTorch (configs/README.md). Creation order is the order in
// the arena and in checkpoints.
ParamLayout make_param_layout(const ModelConfig& config);

// N(0, init_std) weights (residual output projections / sqrt(2 n_layer), GPT-2 §2.3), token
// embedding N(0, embedding_init_std), norm gains 1, biases 0; from the seed's init stream.
template <typename F>
void init_params(F* params, const ParamTable& table, const ModelConfig& config, uint64_t seed);

// The tensors of an arena laid out by a table (parameters, or one shard's gradients), by row. A
// kNone row gives nullptr, which the layers take as "no such tensor" (an absent bias).
template <typename F>
class ArenaView {
 public:
  ArenaView(F* data, const ParamTable& table) : data_(data), table_(&table) {}
  F* operator[](size_t row) const { return row == kNone ? nullptr : data_ + (*table_)[row].offset; }

 private:
  F* data_;
  const ParamTable* table_;
};

}  // namespace wdlab
