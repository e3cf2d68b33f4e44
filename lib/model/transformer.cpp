#include "model/transformer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/gemm.h"
#include "core/rng.h"
#include "layers/attention.h"
#include "layers/cross_entropy.h"
#include "layers/dropout.h"
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

const ModelConfig& validated(const ModelConfig& config) {
  validate(config);
  return config;
}

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

// What one block's forward keeps for backward, for one shard. "branch" tensors are a sublayer's
// output after the optional post-norm and dropout. A sublayer's raw output (attproj, mlp) is
// only kept when a post-norm needs it; otherwise it lives in the shard's shared scratch.
template <typename F>
struct Transformer<F>::BlockActivations {
  std::vector<F> ln1, ln1_mean, ln1_rstd, qkv, att, atty, attproj, attpost, attpost_mean,
      attpost_rstd, att_mask, att_branch, res2, ln2, ln2_mean, ln2_rstd, fch, fch_act, mlp, mlppost,
      mlppost_mean, mlppost_rstd, mlp_mask, mlp_branch, res3;
  std::unique_ptr<MoeCache<F>> moe;
};

// One worker's part of the batch: sequences [b0, b0 + B), their activations, one set of
// backward buffers shared by every block, and (after the first shard) a gradient arena.
template <typename F>
struct Transformer<F>::Shard {
  int b0 = 0, B = 0;  // of the current forward; B == 0: idle
  std::vector<int> tokens, targets;
  std::vector<BlockActivations> blocks;
  std::vector<F> emb, emb_mask, emb_drop, lnf, lnf_mean, lnf_rstd, logits, lse;  // logits: probs
  std::vector<F> attn_out, ffn_out;  // sublayer outputs nothing else keeps
  // Backward working set. dstream[0/1]: the residual stream's gradient above and below the block
  // being differentiated, swapped after each block.
  std::vector<F> dlogits, dstream[2], dln1, dqkv, datty, dattproj, dattpost, dres2, dln2, dfch,
      dfch_act, dmlp, dmlppost, scratch;
  std::unique_ptr<MoeScratch<F>> moe_scratch;
  std::vector<F> own_grads;  // empty for shard 0, which accumulates into the model's grads
  F* grads = nullptr;
  double ce = 0.0, z_loss = 0.0;  // means over this shard's tokens
};

template <typename F>
Transformer<F>::Transformer(const ModelConfig& config, int max_batch, int threads)
    : config_(validated(config)), max_batch_(max_batch), layout_(make_param_layout(config_)) {
  WD_CHECK(max_batch >= 1, "train.batch_size: must be at least 1, got {}", max_batch);
  WD_CHECK(threads >= 1, "threads: must be at least 1, got {}", threads);
  const ModelConfig& c = config_;
  const int64_t V = c.vocab_size, C = c.d_model, L = c.n_layer, maxT = c.block_size;
  const int64_t NH = c.n_head, NKV = c.kv_heads(), HS = c.head_size(), H = c.ffn_hidden();
  const int64_t E = c.moe.n_expert;
  params_.assign(layout_.table.total(), F(0));
  grads_.assign(layout_.table.total(), F(0));
  if (c.positions == PositionKind::rope) {
    rope_cos_.resize(maxT * HS / 2), rope_sin_.resize(maxT * HS / 2);
    rope_table(rope_cos_.data(), rope_sin_.data(), static_cast<int>(maxT), static_cast<int>(HS),
               c.rope_theta);
  }

  // Shards: each sized for its largest share of max_batch (forward splits B the same way).
  const int workers = std::min(threads, max_batch);
  const int64_t shard_batch = (max_batch + workers - 1) / workers;
  const size_t N = static_cast<size_t>(shard_batch) * maxT, NC = N * C;
  const size_t QKVW = (NH + 2 * NKV) * HS, OW = NH * HS, FCW = c.gated() ? 2 * H : H;
  const bool drop = c.dropout > 0.0, sandwich = c.norm_placement == NormPlacement::sandwich;
  const bool seq = c.block == BlockKind::sequential;
  for (int w = 0; w < workers; ++w) {
    auto sh = std::make_unique<Shard>();
    sh->tokens.resize(N), sh->targets.resize(N);
    sh->blocks.resize(L);
    for (BlockActivations& y : sh->blocks) {
      y.ln1.resize(NC), y.ln1_mean.resize(N), y.ln1_rstd.resize(N), y.qkv.resize(N * QKVW);
      y.att.resize(static_cast<size_t>(shard_batch) * NH * maxT * maxT), y.atty.resize(N * OW);
      y.res3.resize(NC);
      if (seq) y.res2.resize(NC), y.ln2.resize(NC), y.ln2_mean.resize(N), y.ln2_rstd.resize(N);
      if (sandwich) {
        y.attproj.resize(NC), y.attpost.resize(NC), y.attpost_mean.resize(N);
        y.attpost_rstd.resize(N), y.mlp.resize(NC), y.mlppost.resize(NC);
        y.mlppost_mean.resize(N), y.mlppost_rstd.resize(N);
      }
      if (drop) {
        y.att_mask.resize(NC), y.att_branch.resize(NC), y.mlp_mask.resize(NC);
        y.mlp_branch.resize(NC);
      }
      if (c.is_moe()) {
        y.moe =
            std::make_unique<MoeCache<F>>(static_cast<int>(N), static_cast<int>(C),
                                          static_cast<int>(H), static_cast<int>(E), c.moe.top_k);
      } else {
        y.fch.resize(N * FCW), y.fch_act.resize(N * H);
      }
    }
    sh->emb.resize(NC);
    if (drop) sh->emb_mask.resize(NC), sh->emb_drop.resize(NC);
    sh->lnf.resize(NC), sh->lnf_mean.resize(N), sh->lnf_rstd.resize(N);
    sh->logits.resize(N * V), sh->lse.resize(N);
    if (!sandwich) sh->attn_out.resize(NC), sh->ffn_out.resize(NC);
    sh->dlogits.resize(N * V), sh->dstream[0].resize(NC), sh->dstream[1].resize(NC);
    sh->dln1.resize(NC), sh->dqkv.resize(N * QKVW), sh->datty.resize(N * OW);
    sh->dattproj.resize(NC), sh->dmlp.resize(NC);
    if (seq) sh->dres2.resize(NC), sh->dln2.resize(NC);
    if (sandwich) sh->dattpost.resize(NC), sh->dmlppost.resize(NC);
    if (c.is_moe()) {
      sh->moe_scratch =
          std::make_unique<MoeScratch<F>>(static_cast<int>(N), static_cast<int>(C),
                                          static_cast<int>(H), static_cast<int>(E), c.moe.top_k);
    } else {
      sh->dfch.resize(N * FCW), sh->dfch_act.resize(N * H);
    }
    sh->scratch.resize(2 * maxT * maxT);
    if (w > 0) sh->own_grads.assign(layout_.table.total(), F(0));
    sh->grads = w == 0 ? grads_.data() : sh->own_grads.data();
    shards_.push_back(std::move(sh));
  }
  // One pool of threads: BLAS calls inside the workers stay on their thread.
  if (workers > 1) blas_set_threads(1);
  moe_caches_.reserve(static_cast<size_t>(workers));
  pool_ = std::make_unique<WorkerPool>(workers);
}

template <typename F>
Transformer<F>::~Transformer() = default;

template <typename F>
const F* Transformer<F>::param_or_null(size_t row) const {
  return row == kNone ? nullptr : params_.data() + layout_.table[row].offset;
}

template <typename F>
F* Transformer<F>::grad(Shard& sh, size_t row) const {
  return sh.grads + layout_.table[row].offset;
}

template <typename F>
F* Transformer<F>::grad_or_null(Shard& sh, size_t row) const {
  return row == kNone ? nullptr : sh.grads + layout_.table[row].offset;
}

template <typename F>
void Transformer<F>::init_weights(uint64_t seed) {
  init_params(params_.data(), layout_.table, config_, seed);
}

template <typename F>
void Transformer<F>::norm_forward(F* out, F* mean, F* rstd, const F* in, size_t gain, size_t bias,
                                  int N) const {
  const F eps = static_cast<F>(config_.norm_eps);
  if (config_.norm == NormKind::layernorm) {
    layernorm_forward(out, mean, rstd, in, param(gain), param_or_null(bias), N, config_.d_model,
                      eps);
  } else {
    rmsnorm_forward(out, rstd, in, param(gain), N, config_.d_model, eps);
  }
}

template <typename F>
void Transformer<F>::norm_backward(Shard& sh, F* din, const F* dout, const F* in, const F* mean,
                                   const F* rstd, size_t gain, size_t bias, int N) const {
  if (config_.norm == NormKind::layernorm) {
    layernorm_backward(din, grad(sh, gain), grad_or_null(sh, bias), dout, in, param(gain), mean,
                       rstd, N, config_.d_model);
  } else {
    rmsnorm_backward(din, grad(sh, gain), dout, in, param(gain), rstd, N, config_.d_model);
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
  const int V = c.vocab_size, N = B * T;
  for (int i = 0; i < N; ++i) {
    WD_CHECK(tokens[i] >= 0 && tokens[i] < V && targets[i] >= 0 && targets[i] < V,
             "token id out of range [0, {})", V);
  }
  B_ = B, T_ = T;
  dropout_on_ = dropout_rng != nullptr && c.dropout > 0.0;
  // Whole sequences per shard, as even as possible, in batch order.
  const int K = static_cast<int>(shards_.size());
  active_ = std::min(K, B);
  for (int w = 0; w < K; ++w) {
    Shard& sh = *shards_[w];
    sh.b0 = w < active_ ? w * B / active_ : B;
    sh.B = w < active_ ? (w + 1) * B / active_ - sh.b0 : 0;
    const size_t off = static_cast<size_t>(sh.b0) * T, n = static_cast<size_t>(sh.B) * T;
    std::copy_n(tokens + off, n, sh.tokens.begin());
    std::copy_n(targets + off, n, sh.targets.begin());
  }
  if (dropout_on_) draw_dropout_masks(*dropout_rng);

  pool_->run([&](int w) {
    if (shards_[w]->B > 0) forward_shard(*shards_[w]);
  });

  // The whole batch's loss: token-weighted means of the shards'.
  ModelLoss loss;
  for (int w = 0; w < active_; ++w) {
    const Shard& sh = *shards_[w];
    const double share = active_ == 1 ? 1.0 : static_cast<double>(sh.B) / B;
    loss.ce += share * sh.ce, loss.z_loss += share * sh.z_loss;
  }
  if (c.is_moe()) {
    // The balance loss sees the routing of the whole batch, not of each shard.
    std::vector<MoeCache<F>*>& caches = moe_caches_;  // reused: no allocation in the step
    for (size_t l = 0; l < layout_.blocks.size(); ++l) {
      caches.clear();
      for (int w = 0; w < active_; ++w) caches.push_back(shards_[w]->blocks[l].moe.get());
      loss.aux += moe_merge_shards(caches, c.moe.aux_loss_coef);
    }
  }
  return loss;
}

// The masks in the order a single pass over the whole batch draws them: per site (embedding, then
// each block's attention and FFN branch), the shards' rows one after the other.
template <typename F>
void Transformer<F>::draw_dropout_masks(Rng& rng) {
  const double p = config_.dropout;
  const size_t row = static_cast<size_t>(T_) * config_.d_model;
  for (int w = 0; w < active_; ++w) {
    dropout_mask(shards_[w]->emb_mask.data(), shards_[w]->B * row, p, rng);
  }
  for (size_t l = 0; l < layout_.blocks.size(); ++l) {
    for (int w = 0; w < active_; ++w) {
      dropout_mask(shards_[w]->blocks[l].att_mask.data(), shards_[w]->B * row, p, rng);
    }
    for (int w = 0; w < active_; ++w) {
      dropout_mask(shards_[w]->blocks[l].mlp_mask.data(), shards_[w]->B * row, p, rng);
    }
  }
}

template <typename F>
void Transformer<F>::forward_shard(Shard& sh) {
  const ModelConfig& c = config_;
  const int B = sh.B, T = T_, C = c.d_model, V = c.vocab_size, H = c.ffn_hidden(), N = B * T;
  const size_t NC = static_cast<size_t>(N) * C;
  const TopParams& top = layout_.top;
  const bool sandwich = c.norm_placement == NormPlacement::sandwich;
  const bool seq = c.block == BlockKind::sequential;
  const int* tokens = sh.tokens.data();

  // A sublayer's output on its way into the residual stream: optional post-norm, then dropout.
  auto branch = [&](F* out, F* post, F* post_mean, F* post_rstd, const F* mask, F* dropped,
                    size_t gain, size_t bias) -> const F* {
    const F* x = out;
    if (sandwich) norm_forward(post, post_mean, post_rstd, x, gain, bias, N), x = post;
    if (dropout_on_) dropout_apply(dropped, mask, x, NC), x = dropped;
    return x;
  };

  // Embeddings; a multiplier only exists without learned positions (validated).
  embedding_forward(sh.emb.data(), tokens, param(top.wte), param_or_null(top.wpe), B, T, C);
  if (c.embedding_multiplier() != 1.0) scale_inplace(sh.emb.data(), NC, c.embedding_multiplier());
  const F* x = sh.emb.data();
  if (dropout_on_) {
    dropout_apply(sh.emb_drop.data(), sh.emb_mask.data(), x, NC);
    x = sh.emb_drop.data();
  }

  for (size_t l = 0; l < layout_.blocks.size(); ++l) {
    const BlockParams& r = layout_.blocks[l];
    BlockActivations& y = sh.blocks[l];
    F* attproj = sandwich ? y.attproj.data() : sh.attn_out.data();
    F* mlp = sandwich ? y.mlp.data() : sh.ffn_out.data();
    // Attention sublayer.
    norm_forward(y.ln1.data(), y.ln1_mean.data(), y.ln1_rstd.data(), x, r.ln1_w, r.ln1_b, N);
    const AttentionShape shape{B,
                               T,
                               c.n_head,
                               c.kv_heads(),
                               c.head_size(),
                               c.window_of_layer(static_cast<int>(l)),
                               c.attn_softcap};
    linear_forward(y.qkv.data(), y.ln1.data(), param(r.qkv_w), param_or_null(r.qkv_b), N, C,
                   shape.qkv_width());
    if (c.positions == PositionKind::rope) {
      rope_forward(y.qkv.data(), rope_cos_.data(), rope_sin_.data(), B, T, shape.NH, shape.NKV,
                   shape.HS);
    }
    attention_forward(y.atty.data(), y.att.data(), y.qkv.data(), shape);
    linear_forward(attproj, y.atty.data(), param(r.attproj_w), param_or_null(r.attproj_b), N,
                   shape.out_width(), C);
    const F* a = branch(attproj, y.attpost.data(), y.attpost_mean.data(), y.attpost_rstd.data(),
                        y.att_mask.data(), y.att_branch.data(), r.ln1p_w, r.ln1p_b);

    // Feed-forward sublayer: after the attention (sequential) or beside it (parallel, PaLM).
    const F* ffn_in = y.ln1.data();
    if (seq) {
      residual_forward(y.res2.data(), x, a, NC);
      norm_forward(y.ln2.data(), y.ln2_mean.data(), y.ln2_rstd.data(), y.res2.data(), r.ln2_w,
                   r.ln2_b, N);
      ffn_in = y.ln2.data();
    }
    if (c.is_moe()) {
      const MoeShape ms{N,
                        C,
                        H,
                        c.moe.n_expert,
                        c.moe.top_k,
                        c.moe.router,
                        c.activation == Activation::geglu ? GluKind::geglu : GluKind::swiglu,
                        c.moe.aux_loss_coef};
      // The returned balance loss is this shard's alone; forward() merges the shards'.
      moe_forward(mlp, *y.moe, ffn_in, param(r.router), param(r.experts_fc), param(r.experts_proj),
                  ms);
    } else {
      const int fcw = c.gated() ? 2 * H : H;
      linear_forward(y.fch.data(), ffn_in, param(r.fc_w), param_or_null(r.fc_b), N, C, fcw);
      if (c.gated()) {
        glu_forward(y.fch_act.data(), y.fch.data(), N, H,
                    c.activation == Activation::geglu ? GluKind::geglu : GluKind::swiglu);
      } else {
        gelu_forward(y.fch_act.data(), y.fch.data(), static_cast<size_t>(N) * H);
      }
      linear_forward(mlp, y.fch_act.data(), param(r.proj_w), param_or_null(r.proj_b), N, H, C);
    }
    const F* m = branch(mlp, y.mlppost.data(), y.mlppost_mean.data(), y.mlppost_rstd.data(),
                        y.mlp_mask.data(), y.mlp_branch.data(), r.ln2p_w, r.ln2p_b);
    if (seq) {
      residual_forward(y.res3.data(), y.res2.data(), m, NC);
    } else {
      residual_forward(y.res3.data(), x, a, NC);
      residual_forward(y.res3.data(), y.res3.data(), m, NC);
    }
    x = y.res3.data();
  }

  norm_forward(sh.lnf.data(), sh.lnf_mean.data(), sh.lnf_rstd.data(), x, top.lnf_w, top.lnf_b, N);
  const size_t head = c.tie_embeddings ? top.wte : top.lm_head;
  linear_forward(sh.logits.data(), sh.lnf.data(), param(head), static_cast<const F*>(nullptr), N, C,
                 V);
  if (c.logit_multiplier() != 1.0) {
    scale_inplace(sh.logits.data(), static_cast<size_t>(N) * V, c.logit_multiplier());
  }
  // Softmax in place: backward needs the probabilities, not the logits.
  const CrossEntropyLoss ce = cross_entropy_forward(
      sh.logits.data(), sh.lse.data(), sh.logits.data(), sh.targets.data(), N, V, c.z_loss);
  sh.ce = ce.ce, sh.z_loss = ce.z_loss;
}

template <typename F>
void Transformer<F>::zero_grad() {
  pool_->run([&](int w) {
    const IndexRange r = part_of(grads_.size(), static_cast<size_t>(w), shards_.size());
    std::fill_n(grads_.begin() + r.begin, r.size(), F(0));
  });
}

template <typename F>
void Transformer<F>::backward() {
  WD_CHECK(B_ > 0, "backward() called before forward()");
  pool_->run([&](int w) {
    if (shards_[w]->B > 0) backward_shard(*shards_[w]);
  });
  if (active_ > 1) pool_->run([&](int w) { sum_shard_grads(w); });
}

// grads += the other shards' arenas, each worker over its own slice of the arena, shards added in
// order: the same sums for the same thread count.
template <typename F>
void Transformer<F>::sum_shard_grads(int worker) {
  const IndexRange r = part_of(grads_.size(), static_cast<size_t>(worker), shards_.size());
  F* g = grads_.data();
  for (int w = 1; w < active_; ++w) {
    const F* o = shards_[w]->own_grads.data();
    for (size_t i = r.begin; i < r.end; ++i) g[i] += o[i];
  }
}

template <typename F>
void Transformer<F>::backward_shard(Shard& sh) {
  const ModelConfig& c = config_;
  const int B = sh.B, T = T_, C = c.d_model, V = c.vocab_size, H = c.ffn_hidden(), N = B * T;
  const int L = c.n_layer;
  const size_t NC = static_cast<size_t>(N) * C;
  const bool drop = dropout_on_, sandwich = c.norm_placement == NormPlacement::sandwich;
  const bool seq = c.block == BlockKind::sequential;
  const TopParams& top = layout_.top;
  if (!sh.own_grads.empty()) std::fill(sh.own_grads.begin(), sh.own_grads.end(), F(0));

  // Backward buffers are accumulated into, so each starts at zero; only the rows of this batch.
  auto zero = [](std::vector<F>& v, size_t n) {
    std::fill_n(v.begin(), std::min(n, v.size()), F(0));
  };
  const size_t capacity = sh.tokens.size();  // rows each buffer was sized for

  // Loss -> logits -> final norm. The loss is the whole batch's mean: scale 1/(B_ T).
  zero(sh.dlogits, static_cast<size_t>(N) * V);
  cross_entropy_backward(sh.dlogits.data(), sh.logits.data(), sh.lse.data(), sh.targets.data(), N,
                         V, c.z_loss, F(1) / F(static_cast<double>(B_) * T));
  if (c.logit_multiplier() != 1.0) {
    scale_inplace(sh.dlogits.data(), static_cast<size_t>(N) * V, c.logit_multiplier());
  }
  const size_t head = c.tie_embeddings ? top.wte : top.lm_head;
  zero(sh.dln1, NC);
  linear_backward(sh.dln1.data(), grad(sh, head), static_cast<F*>(nullptr), sh.dlogits.data(),
                  sh.lnf.data(), param(head), N, C, V);
  // The residual stream entering block l (l == L: leaving the last block).
  auto stream = [&](int l) -> const F* {
    if (l > 0) return sh.blocks[l - 1].res3.data();
    return drop ? sh.emb_drop.data() : sh.emb.data();
  };
  F* dout = sh.dstream[0].data();  // gradient of the stream leaving the block being processed
  F* dx = sh.dstream[1].data();    // ... and entering it
  zero(sh.dstream[0], NC);
  norm_backward(sh, dout, sh.dln1.data(), stream(L), sh.lnf_mean.data(), sh.lnf_rstd.data(),
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
      norm_backward(sh, dout_raw, g, raw, post_mean, post_rstd, gain, bias, N);
    } else if (!drop) {
      add_into(dout_raw, g, NC);
    }
  };

  for (int l = L - 1; l >= 0; --l) {
    const BlockParams& r = layout_.blocks[l];
    BlockActivations& y = sh.blocks[l];
    const AttentionShape shape{B,
                               T,
                               c.n_head,
                               c.kv_heads(),
                               c.head_size(),
                               c.window_of_layer(static_cast<int>(l)),
                               c.attn_softcap};
    for (auto* v : {&sh.dln1, &sh.dqkv, &sh.datty, &sh.dattproj, &sh.dattpost, &sh.dln2, &sh.dfch,
                    &sh.dfch_act, &sh.dmlp, &sh.dmlppost}) {
      zero(*v, v->size() / capacity * N);  // width x this batch's rows
    }
    // res3 = res2 + m (sequential) or x + a + m (parallel): the copies start dres2 and dx (this
    // block's input gradient), which later terms add into.
    std::copy_n(dout, NC, seq ? sh.dres2.data() : dx);
    branch_backward(sh.dmlp.data(), sh.dmlppost.data(), dout, y.mlp.data(), y.mlppost_mean.data(),
                    y.mlppost_rstd.data(), y.mlp_mask.data(), r.ln2p_w, r.ln2p_b);
    const F* ffn_in = seq ? y.ln2.data() : y.ln1.data();
    F* dffn_in = seq ? sh.dln2.data() : sh.dln1.data();
    if (c.is_moe()) {
      const MoeShape ms{N,
                        C,
                        H,
                        c.moe.n_expert,
                        c.moe.top_k,
                        c.moe.router,
                        c.activation == Activation::geglu ? GluKind::geglu : GluKind::swiglu,
                        c.moe.aux_loss_coef};
      // The balance loss is the batch's: this shard's tokens carry N / (B_ T) of its gradient.
      const F aux_share = active_ == 1 ? F(1) : static_cast<F>(static_cast<double>(B) / B_);
      moe_backward(dffn_in, grad(sh, r.router), grad(sh, r.experts_fc), grad(sh, r.experts_proj),
                   sh.dmlp.data(), *y.moe, *sh.moe_scratch, ffn_in, param(r.router),
                   param(r.experts_fc), param(r.experts_proj), ms, aux_share);
    } else {
      linear_backward(sh.dfch_act.data(), grad(sh, r.proj_w), grad_or_null(sh, r.proj_b),
                      sh.dmlp.data(), y.fch_act.data(), param(r.proj_w), N, H, C);
      if (c.gated()) {
        glu_backward(sh.dfch.data(), sh.dfch_act.data(), y.fch.data(), N, H,
                     c.activation == Activation::geglu ? GluKind::geglu : GluKind::swiglu);
      } else {
        gelu_backward(sh.dfch.data(), sh.dfch_act.data(), y.fch.data(), static_cast<size_t>(N) * H);
      }
      linear_backward(dffn_in, grad(sh, r.fc_w), grad_or_null(sh, r.fc_b), sh.dfch.data(), ffn_in,
                      param(r.fc_w), N, C, c.gated() ? 2 * H : H);
    }
    // The attention branch's gradient: res2's (sequential, after the second norm) or res3's.
    const F* da_branch = dout;
    if (seq) {
      norm_backward(sh, sh.dres2.data(), sh.dln2.data(), y.res2.data(), y.ln2_mean.data(),
                    y.ln2_rstd.data(), r.ln2_w, r.ln2_b, N);
      std::copy_n(sh.dres2.data(), NC, dx);
      da_branch = sh.dres2.data();
    }
    branch_backward(sh.dattproj.data(), sh.dattpost.data(), da_branch, y.attproj.data(),
                    y.attpost_mean.data(), y.attpost_rstd.data(), y.att_mask.data(), r.ln1p_w,
                    r.ln1p_b);
    linear_backward(sh.datty.data(), grad(sh, r.attproj_w), grad_or_null(sh, r.attproj_b),
                    sh.dattproj.data(), y.atty.data(), param(r.attproj_w), N, shape.out_width(), C);
    attention_backward(sh.dqkv.data(), sh.scratch.data(), sh.datty.data(), y.qkv.data(),
                       y.att.data(), shape);
    if (c.positions == PositionKind::rope) {
      rope_backward(sh.dqkv.data(), rope_cos_.data(), rope_sin_.data(), B, T, shape.NH, shape.NKV,
                    shape.HS);
    }
    linear_backward(sh.dln1.data(), grad(sh, r.qkv_w), grad_or_null(sh, r.qkv_b), sh.dqkv.data(),
                    y.ln1.data(), param(r.qkv_w), N, C, shape.qkv_width());
    norm_backward(sh, dx, sh.dln1.data(), stream(l), y.ln1_mean.data(), y.ln1_rstd.data(), r.ln1_w,
                  r.ln1_b, N);
    std::swap(dout, dx);  // this block's input gradient is the next one's output gradient
  }
  // dout: the gradient of the embedding stage's output (after dropout).
  F* demb = dout;
  if (drop) {
    std::fill_n(dx, NC, F(0));
    dropout_backward(dx, dout, sh.emb_mask.data(), NC);
    demb = dx;
  }
  if (c.embedding_multiplier() != 1.0) scale_inplace(demb, NC, c.embedding_multiplier());
  embedding_backward(grad(sh, top.wte), grad_or_null(sh, top.wpe), demb, sh.tokens.data(), B, T, C);
}

template class Transformer<float>;
template class Transformer<double>;

}  // namespace wdlab
