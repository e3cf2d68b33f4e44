// A decoder-only transformer with hand-written forward and backward passes, configurable into
// each family wdlab ships (model_config.h; configs/README.md):
//
//   x = wte[tokens] * embedding_multiplier (+ wpe)             learned or rotary positions
//   per block (pre-norm; "sandwich" also normalises each sublayer's output):
//     sequential:  x = x + drop(post1(Attn(N1(x))));  x = x + drop(post2(FFN(N2(x))))
//     parallel:    h = N1(x);  x = x + drop(Attn(h)) + drop(FFN(h))                 (PaLM)
//     Attn: fused QKV (MHA / GQA / MQA), RoPE, causal (dense, sliding or banded), soft-cap
//     FFN:  GELU MLP, gated MLP (SwiGLU / GeGLU), or a top-k mixture of gated experts
//   logits = N_f(x) @ W_out^T * logit_multiplier               W_out = wte when tied
//   loss = mean cross-entropy (+ z-loss + MoE load-balancing loss)
//
//   Transformer<float> model(config, /*max_batch=*/8);
//   model.init_weights(seed);
//   ModelLoss loss = model.forward(tokens, targets, B, T, &dropout_rng);
//   model.zero_grad();
//   model.backward();    // model.grads() now holds d(loss.total())/dparams
//
// Parameters live in one arena described by table() (names and kinds: configs/README.md);
// gradients are an arena of the same layout. Activations are allocated once, for max_batch x
// block_size, in the constructor. F is float for training and double for gradient checks.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/param_table.h"
#include "model/model_config.h"

namespace wdlab {

class Rng;

struct ModelLoss {
  double ce = 0.0;      // mean cross-entropy: what is reported and compared
  double z_loss = 0.0;  // PaLM's z-loss term, already weighted
  double aux = 0.0;     // MoE load-balancing term, already weighted
  double total() const { return ce + z_loss + aux; }  // what backward differentiates
};

template <typename F>
class Transformer {
 public:
  Transformer(const ModelConfig& config, int max_batch);
  ~Transformer();
  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;

  const ModelConfig& config() const { return config_; }
  const ParamTable& table() const { return table_; }
  std::vector<F>& params() { return params_; }
  const std::vector<F>& params() const { return params_; }
  std::vector<F>& grads() { return grads_; }
  const std::vector<F>& grads() const { return grads_; }

  // N(0, init_std) weights (residual output projections / sqrt(2 n_layer), GPT-2 §2.3), token
  // embedding N(0, embedding_init_std), norm gains 1, biases 0; from the seed's init stream.
  void init_weights(uint64_t seed);

  // tokens, targets (B,T), B <= max_batch, T <= block_size. dropout_rng == nullptr means
  // evaluation (no dropout).
  ModelLoss forward(const int* tokens, const int* targets, int B, int T, Rng* dropout_rng);
  void zero_grad();
  // Gradient of the last forward's loss.total(), accumulated into grads().
  void backward();

 private:
  struct Layer;
  struct Buffers;

  F* param(size_t row) { return params_.data() + table_[row].offset; }
  F* grad(size_t row) { return grads_.data() + table_[row].offset; }
  const F* param_or_null(size_t row) const;  // row == kNone -> nullptr
  F* grad_or_null(size_t row);
  void norm_forward(F* out, F* mean, F* rstd, const F* in, size_t gain, size_t bias, int N);
  void norm_backward(F* din, const F* dout, const F* in, const F* mean, const F* rstd, size_t gain,
                     size_t bias, int N);

  ModelConfig config_;
  int max_batch_;
  ParamTable table_;
  std::vector<F> params_, grads_;
  std::vector<Layer> layers_;  // parameter rows and activations of each block
  std::unique_ptr<Buffers> top_;
  std::vector<int> tokens_, targets_;
  int B_ = 0, T_ = 0;
  bool dropout_on_ = false;
};

}  // namespace wdlab
