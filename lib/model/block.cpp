// One block's forward and backward (block.h): the layers wired in order, then in reverse.
#include "model/block.h"

#include <algorithm>

#include "layers/dropout.h"
#include "layers/gelu.h"
#include "layers/glu.h"
#include "layers/layernorm.h"
#include "layers/linear.h"
#include "layers/residual.h"
#include "layers/rmsnorm.h"
#include "layers/rope.h"

namespace wdlab {
namespace {

template <typename F>
void add_into(F* dst, const F* src, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] += src[i];
}

bool sandwich(const ModelConfig& c) {
  return c.norm_placement == NormPlacement::sandwich;
}
bool sequential(const ModelConfig& c) {
  return c.block == BlockKind::sequential;
}

}  // namespace

BlockShapes block_shapes(const ModelConfig& c, int layer, int B, int T) {
  const int H = c.ffn_hidden();
  const GluKind glu = c.activation == Activation::geglu ? GluKind::geglu : GluKind::swiglu;
  return {
      .attn = {B, T, c.n_head, c.kv_heads(), c.head_size(), c.window_of_layer(layer),
               c.attn_softcap},
      .moe = {B * T, c.d_model, H, c.moe.n_expert, c.moe.top_k, c.moe.router, glu,
              c.moe.aux_loss_coef},
      .glu = glu,
      .fc_width = c.gated() ? 2 * H : H,
  };
}

template <typename F>
BlockActivations<F>::BlockActivations(const ModelConfig& c, int max_B) {
  const BlockShapes s = block_shapes(c, 0, max_B, c.block_size);
  const size_t N = static_cast<size_t>(max_B) * c.block_size, NC = N * c.d_model;
  const size_t H = c.ffn_hidden();
  ln1.resize(NC), ln1_mean.resize(N), ln1_rstd.resize(N), qkv.resize(N * s.attn.qkv_width());
  att.resize(static_cast<size_t>(max_B) * s.attn.NH * c.block_size * c.block_size);
  if (s.attn.softcap > 0.0) att_softcap_grad.resize(att.size());
  atty.resize(N * s.attn.out_width());
  res3.resize(NC);
  if (sequential(c)) res2.resize(NC), ln2.resize(NC), ln2_mean.resize(N), ln2_rstd.resize(N);
  if (sandwich(c)) {
    attproj.resize(NC), attpost.resize(NC), attpost_mean.resize(N), attpost_rstd.resize(N);
    mlp.resize(NC), mlppost.resize(NC), mlppost_mean.resize(N), mlppost_rstd.resize(N);
  }
  if (c.dropout > 0.0) {
    att_mask.resize(NC), att_branch.resize(NC), mlp_mask.resize(NC), mlp_branch.resize(NC);
  }
  if (c.is_moe()) {
    moe = std::make_unique<MoeCache<F>>(s.moe.N, s.moe.C, s.moe.H, s.moe.E, s.moe.K);
  } else {
    fch.resize(N * s.fc_width), fch_act.resize(N * H);
  }
}

template <typename F>
BlockScratch<F>::BlockScratch(const ModelConfig& c, int max_B)
    : rows(static_cast<size_t>(max_B) * c.block_size) {
  const BlockShapes s = block_shapes(c, 0, max_B, c.block_size);
  const size_t N = rows, NC = N * c.d_model, H = c.ffn_hidden();
  if (!sandwich(c)) attn_out.resize(NC), ffn_out.resize(NC);
  dln1.resize(NC), dqkv.resize(N * s.attn.qkv_width()), datty.resize(N * s.attn.out_width());
  dattproj.resize(NC), dmlp.resize(NC);
  if (sequential(c)) dres2.resize(NC), dln2.resize(NC);
  if (sandwich(c)) dattpost.resize(NC), dmlppost.resize(NC);
  if (c.is_moe()) {
    moe = std::make_unique<MoeScratch<F>>(s.moe.N, s.moe.C, s.moe.H, s.moe.E, s.moe.K);
  } else {
    dfch.resize(N * s.fc_width), dfch_act.resize(N * H);
  }
  att_scratch.resize(static_cast<size_t>(c.block_size) * c.block_size);
}

template <typename F>
void norm_forward(const ShardView<F>& m, F* out, F* mean, F* rstd, const F* in, size_t gain,
                  size_t bias) {
  const ModelConfig& c = m.config;
  const F eps = static_cast<F>(c.norm_eps);
  if (c.norm == NormKind::layernorm) {
    layernorm_forward(out, mean, rstd, in, m.params[gain], m.params[bias], m.N(), c.d_model, eps);
  } else {
    rmsnorm_forward(out, rstd, in, m.params[gain], m.N(), c.d_model, eps);
  }
}

template <typename F>
void norm_backward(const ShardView<F>& m, F* din, const F* dout, const F* in, const F* mean,
                   const F* rstd, size_t gain, size_t bias) {
  const ModelConfig& c = m.config;
  if (c.norm == NormKind::layernorm) {
    layernorm_backward(din, m.grads[gain], m.grads[bias], dout, in, m.params[gain], mean, rstd,
                       m.N(), c.d_model);
  } else {
    rmsnorm_backward(din, m.grads[gain], dout, in, m.params[gain], rstd, m.N(), c.d_model);
  }
}

template <typename F>
void block_forward(const ShardView<F>& m, BlockActivations<F>& y, BlockScratch<F>& s, const F* x,
                   const BlockParams& r, int layer) {
  const ModelConfig& c = m.config;
  const BlockShapes shape = block_shapes(c, layer, m.B, m.T);
  const AttentionShape& as = shape.attn;
  const int N = m.N(), C = c.d_model, H = c.ffn_hidden();
  const size_t NC = static_cast<size_t>(N) * C;
  const bool seq = sequential(c), post = sandwich(c);
  const ArenaView<const F>& w = m.params;
  F* attproj = post ? y.attproj.data() : s.attn_out.data();
  F* mlp = post ? y.mlp.data() : s.ffn_out.data();

  // A sublayer's output on its way into the residual stream: optional post-norm, then dropout.
  auto branch = [&](F* out, F* post_out, F* post_mean, F* post_rstd, const F* mask, F* dropped,
                    size_t gain, size_t bias) -> const F* {
    const F* b = out;
    if (post) norm_forward(m, post_out, post_mean, post_rstd, b, gain, bias), b = post_out;
    if (m.dropout) dropout_apply(dropped, mask, b, NC), b = dropped;
    return b;
  };

  // Attention sublayer.
  norm_forward(m, y.ln1.data(), y.ln1_mean.data(), y.ln1_rstd.data(), x, r.ln1_w, r.ln1_b);
  linear_forward(y.qkv.data(), y.ln1.data(), w[r.qkv_w], w[r.qkv_b], N, C, as.qkv_width());
  if (c.positions == PositionKind::rope) {
    rope_forward(y.qkv.data(), m.rope_cos, m.rope_sin, m.B, m.T, as.NH, as.NKV, as.HS);
  }
  attention_forward(y.atty.data(), y.att.data(), y.qkv.data(), as, y.att_softcap_grad.data());
  linear_forward(attproj, y.atty.data(), w[r.attproj_w], w[r.attproj_b], N, as.out_width(), C);
  const F* a = branch(attproj, y.attpost.data(), y.attpost_mean.data(), y.attpost_rstd.data(),
                      y.att_mask.data(), y.att_branch.data(), r.ln1p_w, r.ln1p_b);

  // Feed-forward sublayer: after the attention (sequential) or beside it (parallel, PaLM).
  const F* ffn_in = y.ln1.data();
  if (seq) {
    residual_forward(y.res2.data(), x, a, NC);
    norm_forward(m, y.ln2.data(), y.ln2_mean.data(), y.ln2_rstd.data(), y.res2.data(), r.ln2_w,
                 r.ln2_b);
    ffn_in = y.ln2.data();
  }
  if (c.is_moe()) {
    moe_forward(mlp, *y.moe, ffn_in, w[r.router], w[r.experts_fc], w[r.experts_proj], shape.moe);
  } else {
    linear_forward(y.fch.data(), ffn_in, w[r.fc_w], w[r.fc_b], N, C, shape.fc_width);
    if (c.gated()) {
      glu_forward(y.fch_act.data(), y.fch.data(), N, H, shape.glu);
    } else {
      gelu_forward(y.fch_act.data(), y.fch.data(), static_cast<size_t>(N) * H);
    }
    linear_forward(mlp, y.fch_act.data(), w[r.proj_w], w[r.proj_b], N, H, C);
  }
  const F* f = branch(mlp, y.mlppost.data(), y.mlppost_mean.data(), y.mlppost_rstd.data(),
                      y.mlp_mask.data(), y.mlp_branch.data(), r.ln2p_w, r.ln2p_b);
  if (seq) {
    residual_forward(y.res3.data(), y.res2.data(), f, NC);
  } else {
    residual_forward(y.res3.data(), x, a, NC);
    residual_forward(y.res3.data(), y.res3.data(), f, NC);
  }
}

template <typename F>
void block_backward(const ShardView<F>& m, F* dx, const F* dout, BlockActivations<F>& y,
                    BlockScratch<F>& s, const F* x, const BlockParams& r, int layer) {
  const ModelConfig& c = m.config;
  const BlockShapes shape = block_shapes(c, layer, m.B, m.T);
  const AttentionShape& as = shape.attn;
  const int N = m.N(), C = c.d_model, H = c.ffn_hidden();
  const size_t NC = static_cast<size_t>(N) * C;
  const bool seq = sequential(c), post = sandwich(c), drop = m.dropout;
  const ArenaView<const F>& w = m.params;
  const ArenaView<F>& g = m.grads;

  // Backward buffers are accumulated into, so each starts at zero; only the rows of this batch.
  // (dfch has one writer, the activation's backward, which overwrites it: grad_write.h.)
  for (auto* v : {&s.dln1, &s.dqkv, &s.datty, &s.dattproj, &s.dattpost, &s.dln2, &s.dfch_act,
                  &s.dmlp, &s.dmlppost}) {
    std::fill_n(v->begin(), v->size() / s.rows * N, F(0));  // width x this batch's rows
  }

  // Gradient of a branch (post-norm + dropout) back to the sublayer's raw output `draw`.
  auto branch_backward = [&](F* draw, F* dpost, const F* dbranch, const F* raw, const F* post_mean,
                             const F* post_rstd, const F* mask, size_t gain, size_t bias) {
    const F* d = dbranch;
    if (drop) {
      F* target = post ? dpost : draw;
      dropout_backward(target, d, mask, NC);
      d = target;
    }
    if (post) {
      norm_backward(m, draw, d, raw, post_mean, post_rstd, gain, bias);
    } else if (!drop) {
      add_into(draw, d, NC);
    }
  };

  // res3 = res2 + f (sequential) or x + a + f (parallel): the copies start dres2 and dx, which
  // later terms add into.
  std::copy_n(dout, NC, seq ? s.dres2.data() : dx);
  branch_backward(s.dmlp.data(), s.dmlppost.data(), dout, y.mlp.data(), y.mlppost_mean.data(),
                  y.mlppost_rstd.data(), y.mlp_mask.data(), r.ln2p_w, r.ln2p_b);
  const F* ffn_in = seq ? y.ln2.data() : y.ln1.data();
  F* dffn_in = seq ? s.dln2.data() : s.dln1.data();
  if (c.is_moe()) {
    moe_backward(dffn_in, g[r.router], g[r.experts_fc], g[r.experts_proj], s.dmlp.data(), *y.moe,
                 *s.moe, ffn_in, w[r.router], w[r.experts_fc], w[r.experts_proj], shape.moe,
                 m.moe_aux_share);
  } else {
    linear_backward(s.dfch_act.data(), g[r.proj_w], g[r.proj_b], s.dmlp.data(), y.fch_act.data(),
                    w[r.proj_w], N, H, C);
    if (c.gated()) {
      glu_backward(s.dfch.data(), s.dfch_act.data(), y.fch.data(), N, H, shape.glu,
                   GradWrite::overwrite);
    } else {
      gelu_backward(s.dfch.data(), s.dfch_act.data(), y.fch.data(), static_cast<size_t>(N) * H,
                    GradWrite::overwrite);
    }
    linear_backward(dffn_in, g[r.fc_w], g[r.fc_b], s.dfch.data(), ffn_in, w[r.fc_w], N, C,
                    shape.fc_width);
  }
  // The attention branch's gradient: res2's (sequential, after the second norm) or res3's.
  const F* da_branch = dout;
  if (seq) {
    norm_backward(m, s.dres2.data(), s.dln2.data(), y.res2.data(), y.ln2_mean.data(),
                  y.ln2_rstd.data(), r.ln2_w, r.ln2_b);
    std::copy_n(s.dres2.data(), NC, dx);
    da_branch = s.dres2.data();
  }
  branch_backward(s.dattproj.data(), s.dattpost.data(), da_branch, y.attproj.data(),
                  y.attpost_mean.data(), y.attpost_rstd.data(), y.att_mask.data(), r.ln1p_w,
                  r.ln1p_b);
  linear_backward(s.datty.data(), g[r.attproj_w], g[r.attproj_b], s.dattproj.data(), y.atty.data(),
                  w[r.attproj_w], N, as.out_width(), C);
  attention_backward(s.dqkv.data(), s.att_scratch.data(), s.datty.data(), y.qkv.data(),
                     y.att.data(), as, y.att_softcap_grad.data());
  if (c.positions == PositionKind::rope) {
    rope_backward(s.dqkv.data(), m.rope_cos, m.rope_sin, m.B, m.T, as.NH, as.NKV, as.HS);
  }
  linear_backward(s.dln1.data(), g[r.qkv_w], g[r.qkv_b], s.dqkv.data(), y.ln1.data(), w[r.qkv_w], N,
                  C, as.qkv_width());
  norm_backward(m, dx, s.dln1.data(), x, y.ln1_mean.data(), y.ln1_rstd.data(), r.ln1_w, r.ln1_b);
}

#define WD_INSTANTIATE(F)                                                                      \
  template struct BlockActivations<F>;                                                         \
  template struct BlockScratch<F>;                                                             \
  template void norm_forward(const ShardView<F>&, F*, F*, F*, const F*, size_t, size_t);       \
  template void norm_backward(const ShardView<F>&, F*, const F*, const F*, const F*, const F*, \
                              size_t, size_t);                                                 \
  template void block_forward(const ShardView<F>&, BlockActivations<F>&, BlockScratch<F>&,     \
                              const F*, const BlockParams&, int);                              \
  template void block_backward(const ShardView<F>&, F*, const F*, BlockActivations<F>&,        \
                               BlockScratch<F>&, const F*, const BlockParams&, int);
WD_INSTANTIATE(float)
WD_INSTANTIATE(double)
#undef WD_INSTANTIATE

}  // namespace wdlab
