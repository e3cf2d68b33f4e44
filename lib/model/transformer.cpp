#include "model/transformer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/rng.h"
#include "layers/attention.h"
#include "layers/cross_entropy.h"
#include "layers/embedding.h"
#include "layers/gelu.h"
#include "layers/glu.h"
#include "layers/layernorm.h"
#include "layers/linear.h"
#include "layers/moe.h"
#include "layers/residual.h"
#include "layers/rmsnorm.h"
#include "layers/rope.h"

namespace wdlab {
namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();

template <typename F>
void scale_inplace(F* x, size_t n, double s) {
  const F f = static_cast<F>(s);
  for (size_t i = 0; i < n; ++i) x[i] *= f;
}

template <typename F>
void add_into(F* dst, const F* src, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] += src[i];
}

}  // namespace

// One block: its parameter rows (kNone where the architecture has no such tensor), its forward
// activations and their gradients, sized for max_batch x block_size.
template <typename F>
struct Transformer<F>::Layer {
  size_t ln1_w = kNone, ln1_b = kNone, qkv_w = kNone, qkv_b = kNone, attproj_w = kNone,
         attproj_b = kNone, ln1p_w = kNone, ln1p_b = kNone, ln2_w = kNone, ln2_b = kNone,
         fc_w = kNone, fc_b = kNone, proj_w = kNone, proj_b = kNone, ln2p_w = kNone, ln2p_b = kNone,
         router = kNone, experts_fc = kNone, experts_proj = kNone;
  int window = 0;

  // Forward. "branch" tensors are a sublayer's output after the optional post-norm and dropout.
  std::vector<F> ln1, ln1_mean, ln1_rstd, qkv, att, atty, attproj, attpost, attpost_mean,
      attpost_rstd, att_mask, att_branch, res2, ln2, ln2_mean, ln2_rstd, fch, fch_act, mlp,
      mlppost, mlppost_mean, mlppost_rstd, mlp_mask, mlp_branch, res3;
  // Backward.
  std::vector<F> dln1, dqkv, datty, dattproj, dattpost, dres2, dln2, dfch, dfch_act, dmlp, dmlppost,
      dres3;
  std::unique_ptr<MoeCache<F>> moe;
};

template <typename F>
struct Transformer<F>::Buffers {
  size_t wte = kNone, wpe = kNone, lnf_w = kNone, lnf_b = kNone, lm_head = kNone;
  std::vector<F> emb, emb_mask, emb_drop, demb, demb_drop, lnf, lnf_mean, lnf_rstd, dlnf, logits,
      probs, lse, dlogits, scratch, rope_cos, rope_sin;
  double aux_total = 0.0;
};

template <typename F>
Transformer<F>::Transformer(const ModelConfig& config, int max_batch)
    : config_(config), max_batch_(max_batch), top_(std::make_unique<Buffers>()) {
  validate(config_);
  WD_CHECK(max_batch >= 1, "train.batch_size: must be at least 1, got {}", max_batch);
  const ModelConfig& c = config_;
  const int64_t V = c.vocab_size, C = c.d_model, L = c.n_layer, maxT = c.block_size;
  const int64_t NH = c.n_head, NKV = c.kv_heads(), HS = c.head_size(), H = c.ffn_hidden();
  const int64_t E = c.moe.n_expert;
  const bool ln = c.norm == NormKind::layernorm, nb = ln && c.norm_bias;
  Buffers& top = *top_;

  // Creation order is the order in the arena and in checkpoints.
  auto add_norm = [&](const std::string& name, size_t& w, size_t& b) {
    w = table_.add(name + ".weight", {C}, ParamKind::norm_gain);
    if (nb) b = table_.add(name + ".bias", {C}, ParamKind::norm_bias);
  };
  top.wte = table_.add("transformer.wte.weight", {V, C}, ParamKind::embedding);
  if (c.positions == PositionKind::learned) {
    top.wpe = table_.add("transformer.wpe.weight", {maxT, C}, ParamKind::embedding);
  }
  layers_.resize(L);
  for (int64_t l = 0; l < L; ++l) {
    Layer& y = layers_[l];
    const std::string h = "transformer.h." + std::to_string(l) + ".";
    y.window = c.window_of_layer(static_cast<int>(l));
    add_norm(h + "ln_1", y.ln1_w, y.ln1_b);
    y.qkv_w = table_.add(h + "attn.c_attn.weight", {(NH + 2 * NKV) * HS, C}, ParamKind::matrix);
    if (c.bias) y.qkv_b = table_.add(h + "attn.c_attn.bias", {(NH + 2 * NKV) * HS}, ParamKind::bias);
    y.attproj_w = table_.add(h + "attn.c_proj.weight", {C, NH * HS}, ParamKind::matrix);
    if (c.bias) y.attproj_b = table_.add(h + "attn.c_proj.bias", {C}, ParamKind::bias);
    if (c.norm_placement == NormPlacement::sandwich) add_norm(h + "ln_1_post", y.ln1p_w, y.ln1p_b);
    if (c.block == BlockKind::sequential) add_norm(h + "ln_2", y.ln2_w, y.ln2_b);
    const int64_t fc_rows = c.gated() ? 2 * H : H;
    if (c.is_moe()) {
      y.router = table_.add(h + "moe.router.weight", {E, C}, ParamKind::router);
      // Experts stacked contiguously: the MoE layer reads (E, 2H, C) and (E, C, H) arrays.
      for (int64_t e = 0; e < E; ++e) {
        const size_t r = table_.add(h + "moe.experts." + std::to_string(e) + ".c_fc.weight",
                                    {fc_rows, C}, ParamKind::expert);
        if (e == 0) y.experts_fc = r;
      }
      for (int64_t e = 0; e < E; ++e) {
        const size_t r = table_.add(h + "moe.experts." + std::to_string(e) + ".c_proj.weight",
                                    {C, H}, ParamKind::expert);
        if (e == 0) y.experts_proj = r;
      }
    } else {
      y.fc_w = table_.add(h + "mlp.c_fc.weight", {fc_rows, C}, ParamKind::matrix);
      if (c.bias) y.fc_b = table_.add(h + "mlp.c_fc.bias", {fc_rows}, ParamKind::bias);
      y.proj_w = table_.add(h + "mlp.c_proj.weight", {C, H}, ParamKind::matrix);
      if (c.bias) y.proj_b = table_.add(h + "mlp.c_proj.bias", {C}, ParamKind::bias);
    }
    if (c.norm_placement == NormPlacement::sandwich) add_norm(h + "ln_2_post", y.ln2p_w, y.ln2p_b);
  }
  add_norm("transformer.ln_f", top.lnf_w, top.lnf_b);
  if (!c.tie_embeddings) top.lm_head = table_.add("lm_head.weight", {V, C}, ParamKind::matrix);
  params_.assign(table_.total(), F(0));
  grads_.assign(table_.total(), F(0));

  // Activations for the largest batch, allocated once.
  const size_t N = static_cast<size_t>(max_batch) * maxT, NC = N * C;
  const size_t QKVW = (NH + 2 * NKV) * HS, OW = NH * HS, FCW = c.gated() ? 2 * H : H;
  const bool drop = c.dropout > 0.0, sandwich = c.norm_placement == NormPlacement::sandwich;
  const bool seq = c.block == BlockKind::sequential;
  for (Layer& y : layers_) {
    y.ln1.resize(NC), y.ln1_mean.resize(N), y.ln1_rstd.resize(N), y.qkv.resize(N * QKVW);
    y.att.resize(static_cast<size_t>(max_batch) * NH * maxT * maxT), y.atty.resize(N * OW);
    y.attproj.resize(NC), y.mlp.resize(NC), y.res3.resize(NC);
    y.dln1.resize(NC), y.dqkv.resize(N * QKVW), y.datty.resize(N * OW), y.dattproj.resize(NC);
    y.dmlp.resize(NC), y.dres3.resize(NC);
    if (seq) {
      y.res2.resize(NC), y.ln2.resize(NC), y.ln2_mean.resize(N), y.ln2_rstd.resize(N);
      y.dres2.resize(NC), y.dln2.resize(NC);
    }
    if (sandwich) {
      y.attpost.resize(NC), y.attpost_mean.resize(N), y.attpost_rstd.resize(N);
      y.mlppost.resize(NC), y.mlppost_mean.resize(N), y.mlppost_rstd.resize(N);
      y.dattpost.resize(NC), y.dmlppost.resize(NC);
    }
    if (drop) {
      y.att_mask.resize(NC), y.att_branch.resize(NC), y.mlp_mask.resize(NC);
      y.mlp_branch.resize(NC);
    }
    if (c.is_moe()) {
      y.moe = std::make_unique<MoeCache<F>>(static_cast<int>(N), static_cast<int>(C),
                                            static_cast<int>(H), static_cast<int>(E),
                                            c.moe.top_k);
    } else {
      y.fch.resize(N * FCW), y.fch_act.resize(N * H), y.dfch.resize(N * FCW);
      y.dfch_act.resize(N * H);
    }
  }
  top.emb.resize(NC), top.demb.resize(NC);
  if (drop) top.emb_mask.resize(NC), top.emb_drop.resize(NC), top.demb_drop.resize(NC);
  top.lnf.resize(NC), top.lnf_mean.resize(N), top.lnf_rstd.resize(N), top.dlnf.resize(NC);
  top.logits.resize(N * V), top.probs.resize(N * V), top.lse.resize(N), top.dlogits.resize(N * V);
  top.scratch.resize(2 * maxT * maxT);
  if (c.positions == PositionKind::rope) {
    top.rope_cos.resize(maxT * HS / 2), top.rope_sin.resize(maxT * HS / 2);
    rope_table(top.rope_cos.data(), top.rope_sin.data(), static_cast<int>(maxT),
               static_cast<int>(HS), c.rope_theta);
  }
  tokens_.resize(N), targets_.resize(N);
}

template <typename F>
Transformer<F>::~Transformer() = default;

template <typename F>
const F* Transformer<F>::param_or_null(size_t row) const {
  return row == kNone ? nullptr : params_.data() + table_[row].offset;
}

template <typename F>
F* Transformer<F>::grad_or_null(size_t row) {
  return row == kNone ? nullptr : grads_.data() + table_[row].offset;
}

template <typename F>
void Transformer<F>::init_weights(uint64_t seed) {
  Rng rng(seed, RngStream::init);
  const ModelConfig& c = config_;
  const double residual_std = c.init_std / std::sqrt(2.0 * c.n_layer);
  const double emb_std = c.embedding_init_std > 0.0 ? c.embedding_init_std : c.init_std;
  for (const ParamInfo& p : table_) {
    F* w = params_.data() + p.offset;
    switch (p.kind) {
      case ParamKind::matrix:
      case ParamKind::embedding:
      case ParamKind::router:
      case ParamKind::expert: {
        // The projections that write into the residual stream are scaled down (GPT-2 §2.3).
        const bool residual_out = p.name.ends_with("c_proj.weight");
        const double std = p.name == "transformer.wte.weight" ? emb_std
                           : residual_out                      ? residual_std
                                                               : c.init_std;
        for (size_t i = 0; i < p.numel; ++i) w[i] = static_cast<F>(std * rng.normal());
        break;
      }
      case ParamKind::bias:
      case ParamKind::norm_bias: std::fill(w, w + p.numel, F(0)); break;
      case ParamKind::norm_gain: std::fill(w, w + p.numel, F(1)); break;
    }
  }
}

template <typename F>
void Transformer<F>::norm_forward(F* out, F* mean, F* rstd, const F* in, size_t gain, size_t bias,
                                  int N) {
  const F eps = static_cast<F>(config_.norm_eps);
  if (config_.norm == NormKind::layernorm) {
    layernorm_forward(out, mean, rstd, in, param(gain), param_or_null(bias), N, config_.d_model,
                      eps);
  } else {
    rmsnorm_forward(out, rstd, in, param(gain), N, config_.d_model, eps);
  }
}

template <typename F>
void Transformer<F>::norm_backward(F* din, const F* dout, const F* in, const F* mean,
                                   const F* rstd, size_t gain, size_t bias, int N) {
  if (config_.norm == NormKind::layernorm) {
    layernorm_backward(din, grad(gain), grad_or_null(bias), dout, in, param(gain), mean, rstd, N,
                       config_.d_model);
  } else {
    rmsnorm_backward(din, grad(gain), dout, in, param(gain), rstd, N, config_.d_model);
  }
}

template <typename F>
ModelLoss Transformer<F>::forward(const int* tokens, const int* targets, int B, int T,
                                  Rng* dropout_rng) {
  const ModelConfig& c = config_;
  WD_CHECK(B >= 1 && B <= max_batch_, "batch of {} exceeds the model's max batch {}", B,
           max_batch_);
  WD_CHECK(T >= 1 && T <= c.block_size, "window of {} tokens exceeds model.block_size {}", T,
           c.block_size);
  const int C = c.d_model, V = c.vocab_size, H = c.ffn_hidden(), N = B * T;
  const size_t NC = static_cast<size_t>(N) * C;
  for (int i = 0; i < N; ++i) {
    WD_CHECK(tokens[i] >= 0 && tokens[i] < V && targets[i] >= 0 && targets[i] < V,
             "token id out of range [0, {})", V);
  }
  std::copy(tokens, tokens + N, tokens_.begin());
  std::copy(targets, targets + N, targets_.begin());
  B_ = B, T_ = T;
  dropout_on_ = dropout_rng != nullptr && c.dropout > 0.0;
  Buffers& top = *top_;
  const bool sandwich = c.norm_placement == NormPlacement::sandwich;
  const bool seq = c.block == BlockKind::sequential;

  // A sublayer's output on its way into the residual stream: optional post-norm, then dropout.
  auto branch = [&](F* out, F* post, F* post_mean, F* post_rstd, F* mask, F* dropped,
                    size_t gain, size_t bias) -> const F* {
    const F* x = out;
    if (sandwich) norm_forward(post, post_mean, post_rstd, x, gain, bias, N), x = post;
    if (dropout_on_) dropout_forward(dropped, mask, x, NC, c.dropout, *dropout_rng), x = dropped;
    return x;
  };

  // Embeddings; a multiplier only exists without learned positions (validated).
  embedding_forward(top.emb.data(), tokens, param(top.wte), param_or_null(top.wpe), B, T, C);
  if (c.embedding_multiplier() != 1.0) scale_inplace(top.emb.data(), NC, c.embedding_multiplier());
  const F* x = top.emb.data();
  if (dropout_on_) {
    dropout_forward(top.emb_drop.data(), top.emb_mask.data(), x, NC, c.dropout, *dropout_rng);
    x = top.emb_drop.data();
  }

  double aux = 0.0;
  for (Layer& y : layers_) {
    // Attention sublayer.
    norm_forward(y.ln1.data(), y.ln1_mean.data(), y.ln1_rstd.data(), x, y.ln1_w, y.ln1_b, N);
    const AttentionShape shape{B, T, c.n_head, c.kv_heads(), c.head_size(), y.window,
                               c.attn_softcap};
    linear_forward(y.qkv.data(), y.ln1.data(), param(y.qkv_w), param_or_null(y.qkv_b), N, C,
                   shape.qkv_width());
    if (c.positions == PositionKind::rope) {
      rope_forward(y.qkv.data(), top.rope_cos.data(), top.rope_sin.data(), B, T, shape.NH,
                   shape.NKV, shape.HS);
    }
    attention_forward(y.atty.data(), y.att.data(), y.qkv.data(), shape);
    linear_forward(y.attproj.data(), y.atty.data(), param(y.attproj_w), param_or_null(y.attproj_b),
                   N, shape.out_width(), C);
    const F* a = branch(y.attproj.data(), y.attpost.data(), y.attpost_mean.data(),
                        y.attpost_rstd.data(), y.att_mask.data(), y.att_branch.data(), y.ln1p_w,
                        y.ln1p_b);

    // Feed-forward sublayer: after the attention (sequential) or beside it (parallel, PaLM).
    const F* ffn_in = y.ln1.data();
    if (seq) {
      residual_forward(y.res2.data(), x, a, NC);
      norm_forward(y.ln2.data(), y.ln2_mean.data(), y.ln2_rstd.data(), y.res2.data(), y.ln2_w,
                   y.ln2_b, N);
      ffn_in = y.ln2.data();
    }
    if (c.is_moe()) {
      const MoeShape ms{N, C, H, c.moe.n_expert, c.moe.top_k, c.moe.router,
                        c.activation == Activation::geglu ? GluKind::geglu : GluKind::swiglu,
                        c.moe.aux_loss_coef};
      aux += moe_forward(y.mlp.data(), *y.moe, ffn_in, param(y.router), param(y.experts_fc),
                         param(y.experts_proj), ms);
    } else {
      const int fcw = c.gated() ? 2 * H : H;
      linear_forward(y.fch.data(), ffn_in, param(y.fc_w), param_or_null(y.fc_b), N, C, fcw);
      if (c.gated()) {
        glu_forward(y.fch_act.data(), y.fch.data(), N, H,
                    c.activation == Activation::geglu ? GluKind::geglu : GluKind::swiglu);
      } else {
        gelu_forward(y.fch_act.data(), y.fch.data(), static_cast<size_t>(N) * H);
      }
      linear_forward(y.mlp.data(), y.fch_act.data(), param(y.proj_w), param_or_null(y.proj_b), N,
                     H, C);
    }
    const F* m = branch(y.mlp.data(), y.mlppost.data(), y.mlppost_mean.data(),
                        y.mlppost_rstd.data(), y.mlp_mask.data(), y.mlp_branch.data(), y.ln2p_w,
                        y.ln2p_b);
    if (seq) {
      residual_forward(y.res3.data(), y.res2.data(), m, NC);
    } else {
      residual_forward(y.res3.data(), x, a, NC);
      residual_forward(y.res3.data(), y.res3.data(), m, NC);
    }
    x = y.res3.data();
  }

  norm_forward(top.lnf.data(), top.lnf_mean.data(), top.lnf_rstd.data(), x, top.lnf_w, top.lnf_b,
               N);
  const size_t head = c.tie_embeddings ? top.wte : top.lm_head;
  linear_forward(top.logits.data(), top.lnf.data(), param(head), static_cast<const F*>(nullptr), N,
                 C, V);
  if (c.logit_multiplier() != 1.0) {
    scale_inplace(top.logits.data(), static_cast<size_t>(N) * V, c.logit_multiplier());
  }
  const CrossEntropyLoss ce = cross_entropy_forward(top.probs.data(), top.lse.data(),
                                                    top.logits.data(), targets, N, V, c.z_loss);
  top.aux_total = aux;
  return ModelLoss{ce.ce, ce.z_loss, aux};
}

template <typename F>
void Transformer<F>::zero_grad() {
  std::fill(grads_.begin(), grads_.end(), F(0));
}

template <typename F>
void Transformer<F>::backward() {
  WD_CHECK(B_ > 0, "backward() called before forward()");
  const ModelConfig& c = config_;
  const int B = B_, T = T_, C = c.d_model, V = c.vocab_size, H = c.ffn_hidden(), N = B * T;
  const int L = c.n_layer;
  const size_t NC = static_cast<size_t>(N) * C;
  const bool drop = dropout_on_, sandwich = c.norm_placement == NormPlacement::sandwich;
  const bool seq = c.block == BlockKind::sequential;
  Buffers& top = *top_;

  // Activation gradients are accumulated into, so they start at zero every step.
  // Only the part this batch uses: each buffer holds max_batch x block_size rows of its width.
  const size_t rows = static_cast<size_t>(N), max_rows = static_cast<size_t>(max_batch_) * c.block_size;
  auto zero_rows = [&](std::vector<F>& v) {
    std::fill_n(v.begin(), v.size() / max_rows * rows, F(0));
  };
  for (Layer& y : layers_) {
    for (auto* v : {&y.dln1, &y.dqkv, &y.datty, &y.dattproj, &y.dattpost, &y.dres2, &y.dln2,
                    &y.dfch, &y.dfch_act, &y.dmlp, &y.dmlppost, &y.dres3}) {
      zero_rows(*v);
    }
  }
  auto zero = [](std::vector<F>& v, size_t n) { std::fill_n(v.begin(), std::min(n, v.size()), F(0)); };
  zero(top.demb, NC), zero(top.demb_drop, NC), zero(top.dlnf, NC);
  zero(top.dlogits, static_cast<size_t>(N) * V);

  // Loss -> logits -> final norm.
  cross_entropy_backward(top.dlogits.data(), top.probs.data(), top.lse.data(), targets_.data(), N,
                         V, c.z_loss, F(1) / F(N));
  if (c.logit_multiplier() != 1.0) {
    scale_inplace(top.dlogits.data(), static_cast<size_t>(N) * V, c.logit_multiplier());
  }
  const size_t head = c.tie_embeddings ? top.wte : top.lm_head;
  linear_backward(top.dlnf.data(), grad(head), static_cast<F*>(nullptr), top.dlogits.data(),
                  top.lnf.data(), param(head), N, C, V);
  // The residual stream entering block l (l == L: leaving the last block) and its gradient.
  auto stream = [&](int l) -> const F* {
    if (l > 0) return layers_[l - 1].res3.data();
    return drop ? top.emb_drop.data() : top.emb.data();
  };
  auto dstream = [&](int l) -> F* {
    if (l > 0) return layers_[l - 1].dres3.data();
    return drop ? top.demb_drop.data() : top.demb.data();
  };
  norm_backward(dstream(L), top.dlnf.data(), stream(L), top.lnf_mean.data(), top.lnf_rstd.data(),
                top.lnf_w, top.lnf_b, N);

  // Gradient of a branch (post-norm + dropout) back to the sublayer's raw output `dout_raw`.
  auto branch_backward = [&](F* dout_raw, F* dpost, const F* dbranch, const F* raw,
                             const F* post_mean, const F* post_rstd, const F* mask, size_t gain,
                             size_t bias) {
    const F* g = dbranch;
    if (drop) {
      F* target = sandwich ? dpost : dout_raw;
      dropout_backward(target, g, mask, NC);
      g = target;
    }
    if (sandwich) {
      norm_backward(dout_raw, g, raw, post_mean, post_rstd, gain, bias, N);
    } else if (!drop) {
      add_into(dout_raw, g, NC);
    }
  };

  for (int l = L - 1; l >= 0; --l) {
    Layer& y = layers_[l];
    const AttentionShape shape{B, T, c.n_head, c.kv_heads(), c.head_size(), y.window,
                               c.attn_softcap};
    // res3 = res2 + m (sequential) or x + a + m (parallel).
    F* dx = dstream(l);
    if (seq) {
      add_into(y.dres2.data(), y.dres3.data(), NC);
    } else {
      add_into(dx, y.dres3.data(), NC);
    }
    branch_backward(y.dmlp.data(), y.dmlppost.data(), y.dres3.data(), y.mlp.data(),
                    y.mlppost_mean.data(), y.mlppost_rstd.data(), y.mlp_mask.data(), y.ln2p_w,
                    y.ln2p_b);
    const F* ffn_in = seq ? y.ln2.data() : y.ln1.data();
    F* dffn_in = seq ? y.dln2.data() : y.dln1.data();
    if (c.is_moe()) {
      const MoeShape ms{N, C, H, c.moe.n_expert, c.moe.top_k, c.moe.router,
                        c.activation == Activation::geglu ? GluKind::geglu : GluKind::swiglu,
                        c.moe.aux_loss_coef};
      moe_backward(dffn_in, grad(y.router), grad(y.experts_fc), grad(y.experts_proj),
                   y.dmlp.data(), *y.moe, ffn_in, param(y.router), param(y.experts_fc),
                   param(y.experts_proj), ms, F(1));
    } else {
      linear_backward(y.dfch_act.data(), grad(y.proj_w), grad_or_null(y.proj_b), y.dmlp.data(),
                      y.fch_act.data(), param(y.proj_w), N, H, C);
      if (c.gated()) {
        glu_backward(y.dfch.data(), y.dfch_act.data(), y.fch.data(), N, H,
                     c.activation == Activation::geglu ? GluKind::geglu : GluKind::swiglu);
      } else {
        gelu_backward(y.dfch.data(), y.dfch_act.data(), y.fch.data(), static_cast<size_t>(N) * H);
      }
      linear_backward(dffn_in, grad(y.fc_w), grad_or_null(y.fc_b), y.dfch.data(), ffn_in,
                      param(y.fc_w), N, C, c.gated() ? 2 * H : H);
    }
    // The attention branch's gradient: res2's (sequential, after the second norm) or res3's.
    const F* da_branch = y.dres3.data();
    if (seq) {
      norm_backward(y.dres2.data(), y.dln2.data(), y.res2.data(), y.ln2_mean.data(),
                    y.ln2_rstd.data(), y.ln2_w, y.ln2_b, N);
      add_into(dx, y.dres2.data(), NC);
      da_branch = y.dres2.data();
    }
    branch_backward(y.dattproj.data(), y.dattpost.data(), da_branch, y.attproj.data(),
                    y.attpost_mean.data(), y.attpost_rstd.data(), y.att_mask.data(), y.ln1p_w,
                    y.ln1p_b);
    linear_backward(y.datty.data(), grad(y.attproj_w), grad_or_null(y.attproj_b),
                    y.dattproj.data(), y.atty.data(), param(y.attproj_w), N, shape.out_width(), C);
    attention_backward(y.dqkv.data(), top.scratch.data(), y.datty.data(), y.qkv.data(),
                       y.att.data(), shape);
    if (c.positions == PositionKind::rope) {
      rope_backward(y.dqkv.data(), top.rope_cos.data(), top.rope_sin.data(), B, T, shape.NH,
                    shape.NKV, shape.HS);
    }
    linear_backward(y.dln1.data(), grad(y.qkv_w), grad_or_null(y.qkv_b), y.dqkv.data(),
                    y.ln1.data(), param(y.qkv_w), N, C, shape.qkv_width());
    norm_backward(dx, y.dln1.data(), stream(l), y.ln1_mean.data(), y.ln1_rstd.data(), y.ln1_w,
                  y.ln1_b, N);
  }
  if (drop) dropout_backward(top.demb.data(), top.demb_drop.data(), top.emb_mask.data(), NC);
  if (c.embedding_multiplier() != 1.0) scale_inplace(top.demb.data(), NC, c.embedding_multiplier());
  embedding_backward(grad(top.wte), grad_or_null(top.wpe), top.demb.data(), tokens_.data(), B, T,
                     C);
}

template class Transformer<float>;
template class Transformer<double>;

}  // namespace wdlab
