// A GPT-2-style decoder-only transformer with hand-written forward and backward passes.
//
//   token + learned position embeddings -> n_layer pre-norm blocks
//     x = x + Dropout(Attn(LN_1(x)))      causal multi-head, fused QKV, biases
//     x = x + Dropout(MLP(LN_2(x)))       c_fc (4C) -> GELU (tanh) -> c_proj
//   -> final LayerNorm -> logits = x @ wte^T (LM head tied to the token embedding)
//   -> softmax cross-entropy, mean over tokens
//
//   Gpt<float> model(config, /*max_batch=*/8);
//   model.init_weights(seed);
//   double loss = model.forward(tokens, targets, B, T, &dropout_rng);
//   model.zero_grad();
//   model.backward();          // model.grads() now holds dLoss/dparams, laid out as params()
//
// Parameters live in one arena described by table(), with PyTorch's names (nanoGPT's, e.g.
// "transformer.h.0.attn.c_attn.weight") and kinds; gradients are an arena of the same layout.
// Activations are allocated once, for max_batch x block_size, in the constructor.
#pragma once

#include <cstdint>
#include <vector>

#include "core/param_table.h"

namespace wdlab {

class Rng;

struct GptConfig {
  int vocab_size = 0;
  int block_size = 64;  // context length: the position table's size and the training window
  int n_layer = 2;
  int n_head = 4;
  int d_model = 64;
  double dropout = 0.0;    // on the embeddings and on both residual branches
  double init_std = 0.02;  // N(0, init_std); residual output projections / sqrt(2 n_layer)
  double norm_eps = 1e-5;
};

// Throws wdlab::Error naming the offending model.* key.
void validate(const GptConfig& config);

template <typename F>
class Gpt {
 public:
  Gpt(const GptConfig& config, int max_batch);

  const GptConfig& config() const { return config_; }
  const ParamTable& table() const { return table_; }
  std::vector<F>& params() { return params_; }
  const std::vector<F>& params() const { return params_; }
  std::vector<F>& grads() { return grads_; }
  F* param(size_t row) { return params_.data() + table_[row].offset; }
  F* grad(size_t row) { return grads_.data() + table_[row].offset; }

  // GPT-2 initialisation from one seed (its RngStream::init stream).
  void init_weights(uint64_t seed);

  // tokens, targets (B,T), B <= max_batch, T <= block_size. Returns the mean cross-entropy.
  // dropout_rng == nullptr means evaluation (no dropout) even if config.dropout > 0.
  double forward(const int* tokens, const int* targets, int B, int T, Rng* dropout_rng);
  void zero_grad();
  // Gradient of the last forward's loss, accumulated into grads().
  void backward();

  // Softmax probabilities of the last forward, (B,T,V).
  const F* probs() const { return probs_.data(); }

 private:
  GptConfig config_;
  int max_batch_;
  ParamTable table_;
  std::vector<F> params_, grads_;

  // Table rows of the parameters.
  size_t wte_, wpe_, lnf_w_, lnf_b_;
  struct LayerParams {
    size_t ln1_w, ln1_b, qkv_w, qkv_b, attproj_w, attproj_b, ln2_w, ln2_b, fc_w, fc_b, fcproj_w,
        fcproj_b;
  };
  std::vector<LayerParams> lp_;

  // Activations (forward) and their gradients (backward).
  struct Buffers {
    std::vector<F> ln1, ln1_mean, ln1_rstd, qkv, att, atty, attproj, attproj_mask, attproj_drop,
        res2, ln2, ln2_mean, ln2_rstd, fch, fch_gelu, fcproj, fcproj_mask, fcproj_drop, res3;
  };
  std::vector<Buffers> acts_, dacts_;
  std::vector<F> emb_, emb_mask_, emb_drop_, demb_, demb_drop_, lnf_, lnf_mean_, lnf_rstd_, dlnf_,
      logits_, probs_, dlogits_, scratch_;
  std::vector<int> tokens_, targets_;
  int B_ = 0, T_ = 0;
  bool dropout_on_ = false;
};

}  // namespace wdlab
