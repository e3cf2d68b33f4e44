#include "model/model_config.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/error.h"

namespace wdlab {
namespace {
int ceil_to(int x, int multiple) { return (x + multiple - 1) / multiple * multiple; }
}  // namespace

int ModelConfig::ffn_hidden() const {
  if (ffn_rule == FfnRule::ratio) {
    return ceil_to(static_cast<int>(std::lround(ffn_ratio * d_model)), ffn_multiple_of);
  }
  // LLaMA: hidden = 4d; hidden = int(2 * hidden / 3); round up to multiple_of. Grok-1 computes
  // int(8 d) * 2 // 3 and rounds up to a multiple of 8: the same rule with ratio 8.
  const int wide = static_cast<int>(std::floor(ffn_ratio * d_model));
  return ceil_to(2 * wide / 3, ffn_multiple_of);
}

int ModelConfig::window_of_layer(int l) const {
  switch (attention) {
    case AttentionPattern::dense: return 0;
    case AttentionPattern::sliding: return window;
    case AttentionPattern::alternating: return l % 2 == 1 ? window : 0;
  }
  return 0;
}

double ModelConfig::embedding_multiplier() const {
  return embedding_scale == EmbeddingScale::sqrt_d_model ? std::sqrt(double(d_model)) : 1.0;
}

double ModelConfig::logit_multiplier() const {
  switch (logit_scale) {
    case LogitScale::none: return 1.0;
    case LogitScale::inv_sqrt_d_model: return 1.0 / std::sqrt(double(d_model));
    case LogitScale::inv_sqrt_3: return 1.0 / std::sqrt(3.0);
  }
  return 1.0;
}

std::string describe(const ModelConfig& c) {
  std::string s = fmt::format("{}: {} layers, d_model {}, {} heads", c.family, c.n_layer, c.d_model,
                              c.n_head);
  if (c.kv_heads() != c.n_head) s += fmt::format(" ({} kv)", c.kv_heads());
  s += fmt::format(" of {}", c.head_size());
  static const char* acts[] = {"gelu", "swiglu", "geglu"};
  s += fmt::format(", {} {}", acts[static_cast<int>(c.activation)], c.ffn_hidden());
  if (c.is_moe()) {
    s += fmt::format(" x {} experts (top-{}, {})", c.moe.n_expert, c.moe.top_k,
                     c.moe.router == RouterKind::softmax_topk ? "softmax then top-k"
                                                              : "top-k then softmax");
  }
  s += c.norm == NormKind::layernorm ? (c.norm_bias ? ", layernorm" : ", layernorm (no bias)")
                                     : ", rmsnorm";
  if (c.norm_placement == NormPlacement::sandwich) s += " sandwich";
  if (c.block == BlockKind::parallel) s += ", parallel block";
  s += c.positions == PositionKind::rope ? fmt::format(", rope theta {:g}", c.rope_theta)
                                         : std::string(", learned positions");
  if (c.attention == AttentionPattern::sliding) s += fmt::format(", sliding window {}", c.window);
  if (c.attention == AttentionPattern::alternating)
    s += fmt::format(", dense/banded({}) alternating", c.window);
  if (c.attn_softcap > 0) s += fmt::format(", attention soft-cap {:g}", c.attn_softcap);
  s += c.bias ? ", biases" : ", no biases";
  s += c.tie_embeddings ? ", tied head" : ", untied head";
  if (c.embedding_multiplier() != 1.0) s += fmt::format(", embeddings x {:.4g}", c.embedding_multiplier());
  if (c.logit_multiplier() != 1.0) s += fmt::format(", logits x {:.4g}", c.logit_multiplier());
  if (c.z_loss > 0) s += fmt::format(", z-loss {:g}", c.z_loss);
  return s;
}

void validate(const ModelConfig& c) {
  WD_CHECK(c.vocab_size >= 2, "model vocabulary: must be at least 2, got {}", c.vocab_size);
  WD_CHECK(c.block_size >= 1, "model.block_size: must be at least 1, got {}", c.block_size);
  WD_CHECK(c.n_layer >= 1, "model.n_layer: must be at least 1, got {}", c.n_layer);
  WD_CHECK(c.n_head >= 1, "model.n_head: must be at least 1, got {}", c.n_head);
  WD_CHECK(c.d_model >= 1, "model.d_model: must be at least 1, got {}", c.d_model);
  WD_CHECK(c.head_dim > 0 || c.d_model % c.n_head == 0,
           "model.n_head: {} does not divide model.d_model = {} (set model.head_dim to choose the "
           "head size explicitly)",
           c.n_head, c.d_model);
  WD_CHECK(c.head_dim >= 0, "model.head_dim: must be >= 0 (0 = d_model / n_head), got {}",
           c.head_dim);
  WD_CHECK(c.n_kv_head >= 0 && c.n_head % c.kv_heads() == 0,
           "model.n_kv_head: {} must divide model.n_head = {} (0 = n_head)", c.n_kv_head, c.n_head);
  // Widths derived from several keys are ints as well: refuse what would wrap around.
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  const int64_t qkv_width = (int64_t{c.n_head} + 2 * int64_t{c.kv_heads()}) * c.head_size();
  WD_CHECK(qkv_width <= kIntMax,
           "model.head_dim, model.n_head, model.n_kv_head: the fused QKV width (n_head + 2 "
           "n_kv_head) x head size = {} exceeds {}",
           qkv_width, kIntMax);
  WD_CHECK(c.positions != PositionKind::rope || c.head_size() % 2 == 0,
           "model.head_dim: rotary positions need an even head size, got {}", c.head_size());
  WD_CHECK(c.ffn_ratio > 0.0, "model.ffn_ratio: must be positive, got {}", c.ffn_ratio);
  WD_CHECK(c.ffn_multiple_of >= 1, "model.ffn_multiple_of: must be at least 1, got {}",
           c.ffn_multiple_of);
  // ffn_hidden() computes ffn_ratio x d_model (two_thirds: twice that, before / 3) and rounds
  // up to ffn_multiple_of, in int.
  const double ffn_wide = c.ffn_ratio * c.d_model * (c.ffn_rule == FfnRule::two_thirds ? 2 : 1);
  WD_CHECK(ffn_wide + c.ffn_multiple_of <= static_cast<double>(kIntMax),
           "model.ffn_ratio: the MLP width from ffn_ratio x d_model = {:g} (and "
           "model.ffn_multiple_of = {}) exceeds {}",
           c.ffn_ratio * c.d_model, c.ffn_multiple_of, kIntMax);
  WD_CHECK(c.ffn_hidden() >= 1, "model.ffn_ratio: gives an empty MLP at d_model = {}", c.d_model);
  WD_CHECK(c.norm_eps > 0.0, "model.norm_eps: must be positive, got {}", c.norm_eps);
  WD_CHECK(c.norm == NormKind::layernorm || !c.norm_bias,
           "model.norm_bias: rmsnorm has no bias; set model.norm_bias=false");
  WD_CHECK(c.rope_theta > 0.0, "model.rope_theta: must be positive, got {}", c.rope_theta);
  WD_CHECK(c.attention == AttentionPattern::dense || c.window >= 1,
           "model.window: must be at least 1 for model.attention = sliding or alternating, got {}",
           c.window);
  WD_CHECK(c.window >= 0, "model.window: must be >= 0, got {}", c.window);
  WD_CHECK(c.attn_softcap >= 0.0, "model.attn_softcap: must be >= 0 (0 = off), got {}",
           c.attn_softcap);
  WD_CHECK(c.embedding_scale == EmbeddingScale::none || c.positions == PositionKind::rope,
           "model.embedding_scale: sqrt_d_model is supported with model.positions = rope only");
  WD_CHECK(c.z_loss >= 0.0, "model.z_loss: must be >= 0, got {}", c.z_loss);
  WD_CHECK(c.moe.n_expert >= 0, "model.moe.n_expert: must be >= 0 (0 = dense MLP), got {}",
           c.moe.n_expert);
  if (c.is_moe()) {
    WD_CHECK(c.moe.top_k >= 1 && c.moe.top_k <= c.moe.n_expert,
             "model.moe.top_k: must be in [1, model.moe.n_expert = {}], got {}", c.moe.n_expert,
             c.moe.top_k);
    WD_CHECK(c.gated(), "model.activation: mixture-of-experts layers need swiglu or geglu experts");
    WD_CHECK(!c.bias, "model.bias: mixture-of-experts layers are bias-free; set model.bias=false");
  }
  WD_CHECK(c.moe.aux_loss_coef >= 0.0, "model.moe.aux_loss_coef: must be >= 0, got {}",
           c.moe.aux_loss_coef);
  WD_CHECK(c.dropout >= 0.0 && c.dropout < 1.0, "model.dropout: must be in [0, 1), got {}",
           c.dropout);
  WD_CHECK(c.init_std > 0.0, "model.init_std: must be positive, got {}", c.init_std);
  WD_CHECK(c.embedding_init_std >= 0.0,
           "model.embedding_init_std: must be >= 0 (0 = model.init_std), got {}",
           c.embedding_init_std);
}

}  // namespace wdlab
