// The architecture of a decoder-only transformer, general enough for the GPT-2, GPT-3, LLaMA, PaLM,
// Grok-1, Mistral and Mixtral families. Every field is one model.* config key; configs/README.md
// lists them with their values and which family uses what.
#pragma once

#include <string>

#include "layers/glu.h"
#include "layers/moe.h"

namespace wdlab {

enum class NormKind { layernorm, rmsnorm };
enum class NormPlacement { pre, sandwich };
enum class BlockKind { sequential, parallel };
enum class PositionKind { learned, rope };
enum class Activation { gelu, swiglu, geglu };
enum class AttentionPattern { dense, sliding, alternating };
enum class EmbeddingScale { none, sqrt_d_model };
enum class LogitScale { none, inv_sqrt_d_model, inv_sqrt_3 };
enum class FfnRule { ratio, two_thirds };

struct MoeConfig {
  int n_expert = 0;  // 0: dense MLP
  int top_k = 2;
  RouterKind router = RouterKind::softmax_topk;
  double aux_loss_coef = 0.0;
};

struct ModelConfig {
  std::string family = "gpt2";  // a label; the fields below define the architecture
  int vocab_size = 0;           // set from the data
  int block_size = 64;
  int n_layer = 2;
  int n_head = 4;
  int n_kv_head = 0;  // 0: n_head
  int d_model = 64;
  int head_dim = 0;  // 0: d_model / n_head
  FfnRule ffn_rule = FfnRule::ratio;
  double ffn_ratio = 4.0;
  int ffn_multiple_of = 1;
  Activation activation = Activation::gelu;
  NormKind norm = NormKind::layernorm;
  bool norm_bias = true;
  double norm_eps = 1e-5;
  NormPlacement norm_placement = NormPlacement::pre;
  BlockKind block = BlockKind::sequential;
  PositionKind positions = PositionKind::learned;
  double rope_theta = 1e4;
  bool bias = true;
  bool tie_embeddings = true;
  AttentionPattern attention = AttentionPattern::dense;
  int window = 0;
  double attn_softcap = 0.0;
  EmbeddingScale embedding_scale = EmbeddingScale::none;
  LogitScale logit_scale = LogitScale::none;
  double z_loss = 0.0;
  MoeConfig moe;
  double dropout = 0.0;
  double init_std = 0.02;
  double embedding_init_std = 0.0;  // 0: init_std

  int kv_heads() const { return n_kv_head > 0 ? n_kv_head : n_head; }
  int head_size() const { return head_dim > 0 ? head_dim : d_model / n_head; }
  // Hidden width of the MLP (of each expert), by ffn_rule.
  int ffn_hidden() const;
  // Attention window of layer l (0: dense causal).
  int window_of_layer(int l) const;
  double embedding_multiplier() const;
  double logit_multiplier() const;
  bool gated() const { return activation != Activation::gelu; }
  bool is_moe() const { return moe.n_expert > 0; }
};

// One line for logs: "llama: 2 layers, d_model 64, 4 heads (2 kv) of 16, swiglu 176, rmsnorm, ..."
std::string describe(const ModelConfig& config);

// Throws wdlab::Error naming the offending model.* key and what is allowed.
void validate(const ModelConfig& config);

}  // namespace wdlab
