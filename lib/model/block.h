// One transformer block, forward and backward side by side (as llm.c does), on one shard's rows:
//
//   sequential:  x = x + drop(post1(Attn(N1(x))));  x = x + drop(post2(FFN(N2(x))))
//   parallel:    h = N1(x);  x = x + drop(Attn(h)) + drop(FFN(h))                 (PaLM)
//
// post1/post2 exist only with sandwich norms (Grok-1). The layers' math is in lib/layers; this
// file wires them, keeps what backward needs (BlockActivations) and shares one set of working
// buffers between all blocks of a shard (BlockScratch).
#pragma once

#include <memory>
#include <vector>

#include "layers/attention.h"
#include "layers/moe.h"
#include "model/model_config.h"
#include "model/param_layout.h"

namespace wdlab {

// The shapes a block's layers take for B sequences of T tokens, built once from the config for
// forward, backward and buffer sizing alike.
struct BlockShapes {
  AttentionShape attn;
  MoeShape moe;  // used only when config.is_moe()
  GluKind glu;   // gated MLPs and experts: SwiGLU or GeGLU
  int fc_width;  // dense MLP's first projection: 2H when gated ([gate | up]), else H
};
BlockShapes block_shapes(const ModelConfig& config, int layer, int B, int T);

// The model as one shard's forward or backward sees it.
template <typename F>
struct ShardView {
  const ModelConfig& config;
  ArenaView<const F> params;
  ArenaView<F> grads;  // this shard's gradient arena
  const F* rope_cos;   // rotary tables (config.positions == rope)
  const F* rope_sin;
  int B, T;         // this shard's sequences and their length
  bool dropout;     // dropout on for this step (training with config.dropout > 0)
  F moe_aux_share;  // this shard's share of the batch's MoE balance-loss gradient
  int N() const { return B * T; }
};

// What one block's forward keeps for backward, for one shard, sized for max_B sequences of
// block_size tokens. "branch" tensors are a sublayer's output after the optional post-norm and
// dropout. A sublayer's raw output (attproj, mlp) is only kept when a post-norm needs it;
// otherwise it lives in BlockScratch. The dropout masks are drawn by the caller (shards.h).
template <typename F>
struct BlockActivations {
  BlockActivations(const ModelConfig& config, int max_B);
  std::vector<F> ln1, ln1_mean, ln1_rstd, qkv, att, atty, attproj, attpost, attpost_mean,
      attpost_rstd, att_mask, att_branch, res2, ln2, ln2_mean, ln2_rstd, fch, fch_act, mlp, mlppost,
      mlppost_mean, mlppost_rstd, mlp_mask, mlp_branch, res3;  // res3: the block's output
  std::vector<double> att_softcap_grad;  // with an attention soft-cap only (attention.h)
  std::unique_ptr<MoeCache<F>> moe;
};

// One shard's buffers that no block keeps between forward and backward: shared by all blocks.
template <typename F>
struct BlockScratch {
  BlockScratch(const ModelConfig& config, int max_B);
  size_t rows;                       // max_B * block_size: the rows each buffer was sized for
  std::vector<F> attn_out, ffn_out;  // forward: sublayer outputs nothing else keeps
  std::vector<F> dln1, dqkv, datty, dattproj, dattpost, dres2, dln2, dfch, dfch_act, dmlp, dmlppost,
      att_scratch;
  std::unique_ptr<MoeScratch<F>> moe;
};

// The model's norm (LayerNorm or RMSNorm, by config) over the shard's N rows; also the final norm.
template <typename F>
void norm_forward(const ShardView<F>& m, F* out, F* mean, F* rstd, const F* in, size_t gain,
                  size_t bias);
template <typename F>
void norm_backward(const ShardView<F>& m, F* din, const F* dout, const F* in, const F* mean,
                   const F* rstd, size_t gain, size_t bias);

// x (N, C) -> y.res3 (N, C). An MoE block leaves its balance loss in y.moe: the caller merges the
// shards' (moe_merge_shards), so the loss is the whole batch's.
template <typename F>
void block_forward(const ShardView<F>& m, BlockActivations<F>& y, BlockScratch<F>& s, const F* x,
                   const BlockParams& r, int layer);

// dout: gradient of the block's output; dx (N, C) is overwritten with the gradient of its input x.
// Parameter gradients accumulate into m.grads.
template <typename F>
void block_backward(const ShardView<F>& m, F* dx, const F* dout, BlockActivations<F>& y,
                    BlockScratch<F>& s, const F* x, const BlockParams& r, int layer);

}  // namespace wdlab
