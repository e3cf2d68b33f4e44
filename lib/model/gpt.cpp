#include "model/gpt.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/rng.h"
#include "layers/attention.h"
#include "layers/cross_entropy.h"
#include "layers/embedding.h"
#include "layers/gelu.h"
#include "layers/layernorm.h"
#include "layers/linear.h"
#include "layers/residual.h"

namespace wdlab {

void validate(const GptConfig& c) {
  WD_CHECK(c.vocab_size >= 2, "model vocabulary: must be at least 2, got {}", c.vocab_size);
  WD_CHECK(c.block_size >= 1, "model.block_size: must be at least 1, got {}", c.block_size);
  WD_CHECK(c.n_layer >= 1, "model.n_layer: must be at least 1, got {}", c.n_layer);
  WD_CHECK(c.n_head >= 1, "model.n_head: must be at least 1, got {}", c.n_head);
  WD_CHECK(c.d_model >= 1, "model.d_model: must be at least 1, got {}", c.d_model);
  WD_CHECK(c.d_model % c.n_head == 0,
           "model.n_head: {} does not divide model.d_model = {} (head size must be whole)",
           c.n_head, c.d_model);
  WD_CHECK(c.dropout >= 0.0 && c.dropout < 1.0, "model.dropout: must be in [0, 1), got {}",
           c.dropout);
  WD_CHECK(c.init_std > 0.0, "model.init_std: must be positive, got {}", c.init_std);
  WD_CHECK(c.norm_eps > 0.0, "model.norm_eps: must be positive, got {}", c.norm_eps);
}

template <typename F>
Gpt<F>::Gpt(const GptConfig& config, int max_batch) : config_(config), max_batch_(max_batch) {
  validate(config_);
  WD_CHECK(max_batch >= 1, "train.batch_size: must be at least 1, got {}", max_batch);
  const int64_t V = config_.vocab_size, C = config_.d_model, L = config_.n_layer;
  const int64_t maxT = config_.block_size;

  // The order of creation is the order in the arena and in checkpoints.
  wte_ = table_.add("transformer.wte.weight", {V, C}, ParamKind::embedding);
  wpe_ = table_.add("transformer.wpe.weight", {maxT, C}, ParamKind::embedding);
  for (int64_t l = 0; l < L; ++l) {
    const std::string h = "transformer.h." + std::to_string(l) + ".";
    LayerParams p;
    p.ln1_w = table_.add(h + "ln_1.weight", {C}, ParamKind::norm_gain);
    p.ln1_b = table_.add(h + "ln_1.bias", {C}, ParamKind::norm_bias);
    p.qkv_w = table_.add(h + "attn.c_attn.weight", {3 * C, C}, ParamKind::matrix);
    p.qkv_b = table_.add(h + "attn.c_attn.bias", {3 * C}, ParamKind::bias);
    p.attproj_w = table_.add(h + "attn.c_proj.weight", {C, C}, ParamKind::matrix);
    p.attproj_b = table_.add(h + "attn.c_proj.bias", {C}, ParamKind::bias);
    p.ln2_w = table_.add(h + "ln_2.weight", {C}, ParamKind::norm_gain);
    p.ln2_b = table_.add(h + "ln_2.bias", {C}, ParamKind::norm_bias);
    p.fc_w = table_.add(h + "mlp.c_fc.weight", {4 * C, C}, ParamKind::matrix);
    p.fc_b = table_.add(h + "mlp.c_fc.bias", {4 * C}, ParamKind::bias);
    p.fcproj_w = table_.add(h + "mlp.c_proj.weight", {C, 4 * C}, ParamKind::matrix);
    p.fcproj_b = table_.add(h + "mlp.c_proj.bias", {C}, ParamKind::bias);
    lp_.push_back(p);
  }
  lnf_w_ = table_.add("transformer.ln_f.weight", {C}, ParamKind::norm_gain);
  lnf_b_ = table_.add("transformer.ln_f.bias", {C}, ParamKind::norm_bias);
  params_.assign(table_.total(), F(0));
  grads_.assign(table_.total(), F(0));

  // Activations for the largest batch, allocated once.
  const size_t N = static_cast<size_t>(max_batch) * maxT;
  const size_t NC = N * C, NH = config_.n_head;
  const bool drop = config_.dropout > 0.0;
  acts_.resize(L);
  dacts_.resize(L);
  for (int64_t l = 0; l < L; ++l) {
    Buffers& a = acts_[l];
    a.ln1.resize(NC), a.ln1_mean.resize(N), a.ln1_rstd.resize(N), a.qkv.resize(3 * NC);
    a.att.resize(static_cast<size_t>(max_batch) * NH * maxT * maxT), a.atty.resize(NC);
    a.attproj.resize(NC), a.res2.resize(NC), a.ln2.resize(NC), a.ln2_mean.resize(N);
    a.ln2_rstd.resize(N), a.fch.resize(4 * NC), a.fch_gelu.resize(4 * NC), a.fcproj.resize(NC);
    a.res3.resize(NC);
    Buffers& d = dacts_[l];
    d.ln1.resize(NC), d.qkv.resize(3 * NC), d.atty.resize(NC), d.attproj.resize(NC);
    d.res2.resize(NC), d.ln2.resize(NC), d.fch.resize(4 * NC), d.fch_gelu.resize(4 * NC);
    d.fcproj.resize(NC), d.res3.resize(NC);
    if (drop) {
      a.attproj_mask.resize(NC), a.attproj_drop.resize(NC), a.fcproj_mask.resize(NC);
      a.fcproj_drop.resize(NC), d.attproj_drop.resize(NC), d.fcproj_drop.resize(NC);
    }
  }
  emb_.resize(NC), demb_.resize(NC);
  if (drop) emb_mask_.resize(NC), emb_drop_.resize(NC), demb_drop_.resize(NC);
  lnf_.resize(NC), lnf_mean_.resize(N), lnf_rstd_.resize(N), dlnf_.resize(NC);
  logits_.resize(N * V), probs_.resize(N * V), dlogits_.resize(N * V);
  scratch_.resize(maxT * maxT);
  tokens_.resize(N), targets_.resize(N);
}

template <typename F>
void Gpt<F>::init_weights(uint64_t seed) {
  // GPT-2: every weight matrix and embedding N(0, 0.02), biases 0, norm gains 1; the projections
  // that write into the residual stream get std / sqrt(2 n_layer) (GPT-2 paper, §2.3).
  Rng rng(seed, RngStream::init);
  const double residual_std = config_.init_std / std::sqrt(2.0 * config_.n_layer);
  for (const ParamInfo& p : table_) {
    F* w = params_.data() + p.offset;
    switch (p.kind) {
      case ParamKind::matrix:
      case ParamKind::embedding: {
        const bool residual_out =
            p.name.ends_with("attn.c_proj.weight") || p.name.ends_with("mlp.c_proj.weight");
        const double std = residual_out ? residual_std : config_.init_std;
        for (size_t i = 0; i < p.numel; ++i) w[i] = static_cast<F>(std * rng.normal());
        break;
      }
      case ParamKind::bias:
      case ParamKind::norm_bias:
        std::fill(w, w + p.numel, F(0));
        break;
      case ParamKind::norm_gain:
        std::fill(w, w + p.numel, F(1));
        break;
    }
  }
}

template <typename F>
double Gpt<F>::forward(const int* tokens, const int* targets, int B, int T, Rng* dropout_rng) {
  WD_CHECK(B >= 1 && B <= max_batch_, "batch of {} exceeds the model's max batch {}", B,
           max_batch_);
  WD_CHECK(T >= 1 && T <= config_.block_size, "window of {} tokens exceeds model.block_size {}", T,
           config_.block_size);
  const int C = config_.d_model, V = config_.vocab_size, NH = config_.n_head;
  const int N = B * T;
  const size_t NC = static_cast<size_t>(N) * C;
  for (int i = 0; i < N; ++i) {
    WD_CHECK(tokens[i] >= 0 && tokens[i] < V && targets[i] >= 0 && targets[i] < V,
             "token id out of range [0, {})", V);
  }
  std::copy(tokens, tokens + N, tokens_.begin());
  std::copy(targets, targets + N, targets_.begin());
  B_ = B, T_ = T;
  dropout_on_ = dropout_rng != nullptr && config_.dropout > 0.0;
  const double p_drop = config_.dropout;
  // Applies dropout when training with dropout > 0; otherwise the branch passes through.
  auto dropout = [&](std::vector<F>& out, std::vector<F>& mask, const std::vector<F>& in) {
    if (!dropout_on_) return in.data();
    dropout_forward(out.data(), mask.data(), in.data(), NC, p_drop, *dropout_rng);
    return static_cast<const F*>(out.data());
  };

  embedding_forward(emb_.data(), tokens, param(wte_), param(wpe_), B, T, C);
  const F* x = dropout(emb_drop_, emb_mask_, emb_);
  const F eps = static_cast<F>(config_.norm_eps);
  for (int l = 0; l < config_.n_layer; ++l) {
    const LayerParams& p = lp_[l];
    Buffers& a = acts_[l];
    layernorm_forward(a.ln1.data(), a.ln1_mean.data(), a.ln1_rstd.data(), x, param(p.ln1_w),
                      param(p.ln1_b), N, C, eps);
    linear_forward(a.qkv.data(), a.ln1.data(), param(p.qkv_w), param(p.qkv_b), N, C, 3 * C);
    attention_forward(a.atty.data(), a.att.data(), a.qkv.data(), B, T, C, NH);
    linear_forward(a.attproj.data(), a.atty.data(), param(p.attproj_w), param(p.attproj_b), N, C,
                   C);
    residual_forward(a.res2.data(), x, dropout(a.attproj_drop, a.attproj_mask, a.attproj), NC);
    layernorm_forward(a.ln2.data(), a.ln2_mean.data(), a.ln2_rstd.data(), a.res2.data(),
                      param(p.ln2_w), param(p.ln2_b), N, C, eps);
    linear_forward(a.fch.data(), a.ln2.data(), param(p.fc_w), param(p.fc_b), N, C, 4 * C);
    gelu_forward(a.fch_gelu.data(), a.fch.data(), 4 * NC);
    linear_forward(a.fcproj.data(), a.fch_gelu.data(), param(p.fcproj_w), param(p.fcproj_b), N,
                   4 * C, C);
    residual_forward(a.res3.data(), a.res2.data(), dropout(a.fcproj_drop, a.fcproj_mask, a.fcproj),
                     NC);
    x = a.res3.data();
  }
  layernorm_forward(lnf_.data(), lnf_mean_.data(), lnf_rstd_.data(), x, param(lnf_w_),
                    param(lnf_b_), N, C, eps);
  // LM head tied to the token embedding: logits = lnf @ wte^T.
  linear_forward(logits_.data(), lnf_.data(), param(wte_), static_cast<const F*>(nullptr), N, C, V);
  return cross_entropy_forward(probs_.data(), logits_.data(), targets, N, V);
}

template <typename F>
void Gpt<F>::zero_grad() {
  std::fill(grads_.begin(), grads_.end(), F(0));
}

template <typename F>
void Gpt<F>::backward() {
  WD_CHECK(B_ > 0, "backward() called before forward()");
  const int B = B_, T = T_, C = config_.d_model, V = config_.vocab_size, NH = config_.n_head;
  const int N = B * T, L = config_.n_layer;
  const size_t NC = static_cast<size_t>(N) * C;
  const bool drop = dropout_on_;

  // Activation gradients are accumulated into, so they start at zero every step.
  auto zero = [](std::vector<F>& v, size_t n) { std::fill_n(v.begin(), n, F(0)); };
  for (Buffers& d : dacts_) {
    for (auto* v : {&d.ln1, &d.atty, &d.attproj, &d.res2, &d.ln2, &d.fcproj, &d.res3}) zero(*v, NC);
    zero(d.qkv, 3 * NC), zero(d.fch, 4 * NC), zero(d.fch_gelu, 4 * NC);
    if (drop) zero(d.attproj_drop, NC), zero(d.fcproj_drop, NC);
  }
  zero(demb_, NC), zero(dlnf_, NC), zero(dlogits_, static_cast<size_t>(N) * V);
  if (drop) zero(demb_drop_, NC);

  cross_entropy_backward(dlogits_.data(), probs_.data(), targets_.data(), N, V, F(1) / F(N));
  linear_backward(dlnf_.data(), grad(wte_), static_cast<F*>(nullptr), dlogits_.data(), lnf_.data(),
                  param(wte_), N, C, V);
  // The residual stream entering block l (post-dropout embeddings for l = 0) and its gradient.
  auto stream = [&](int l) -> const F* {
    if (l > 0) return acts_[l - 1].res3.data();
    return drop ? emb_drop_.data() : emb_.data();
  };
  auto dstream = [&](int l) -> F* {
    if (l > 0) return dacts_[l - 1].res3.data();
    return drop ? demb_drop_.data() : demb_.data();
  };
  layernorm_backward(dstream(L), grad(lnf_w_), grad(lnf_b_), dlnf_.data(), stream(L), param(lnf_w_),
                     lnf_mean_.data(), lnf_rstd_.data(), N, C);
  for (int l = L - 1; l >= 0; --l) {
    const LayerParams& p = lp_[l];
    Buffers& a = acts_[l];
    Buffers& d = dacts_[l];
    // res3 = res2 + dropout(fcproj)
    residual_backward(d.res2.data(), drop ? d.fcproj_drop.data() : d.fcproj.data(), d.res3.data(),
                      NC);
    if (drop) dropout_backward(d.fcproj.data(), d.fcproj_drop.data(), a.fcproj_mask.data(), NC);
    linear_backward(d.fch_gelu.data(), grad(p.fcproj_w), grad(p.fcproj_b), d.fcproj.data(),
                    a.fch_gelu.data(), param(p.fcproj_w), N, 4 * C, C);
    gelu_backward(d.fch.data(), d.fch_gelu.data(), a.fch.data(), 4 * NC);
    linear_backward(d.ln2.data(), grad(p.fc_w), grad(p.fc_b), d.fch.data(), a.ln2.data(),
                    param(p.fc_w), N, C, 4 * C);
    layernorm_backward(d.res2.data(), grad(p.ln2_w), grad(p.ln2_b), d.ln2.data(), a.res2.data(),
                       param(p.ln2_w), a.ln2_mean.data(), a.ln2_rstd.data(), N, C);
    // res2 = stream + dropout(attproj)
    residual_backward(dstream(l), drop ? d.attproj_drop.data() : d.attproj.data(), d.res2.data(),
                      NC);
    if (drop) dropout_backward(d.attproj.data(), d.attproj_drop.data(), a.attproj_mask.data(), NC);
    linear_backward(d.atty.data(), grad(p.attproj_w), grad(p.attproj_b), d.attproj.data(),
                    a.atty.data(), param(p.attproj_w), N, C, C);
    attention_backward(d.qkv.data(), scratch_.data(), d.atty.data(), a.qkv.data(), a.att.data(), B,
                       T, C, NH);
    linear_backward(d.ln1.data(), grad(p.qkv_w), grad(p.qkv_b), d.qkv.data(), a.ln1.data(),
                    param(p.qkv_w), N, C, 3 * C);
    layernorm_backward(dstream(l), grad(p.ln1_w), grad(p.ln1_b), d.ln1.data(), stream(l),
                       param(p.ln1_w), a.ln1_mean.data(), a.ln1_rstd.data(), N, C);
  }
  if (drop) dropout_backward(demb_.data(), demb_drop_.data(), emb_mask_.data(), NC);
  embedding_backward(grad(wte_), grad(wpe_), demb_.data(), tokens_.data(), B, T, C);
}

template class Gpt<float>;
template class Gpt<double>;

}  // namespace wdlab
