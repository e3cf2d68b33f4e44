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
//   loss = mean cross-entropy (+ z-loss + MoE load-balancing loss) over the targets that are not
//          kMaskedTarget (layers/cross_entropy.h: the loss mask; streams mask nothing)
//
//   Transformer<float> model(config, /*max_batch=*/8, /*threads=*/2);
//   model.init_weights(seed);
//   ModelLoss loss = model.forward(tokens, targets, B, T, &dropout_rng);
//   model.zero_grad();
//   model.backward();    // model.grads() now holds d(loss.total())/dparams
//
// Parameters live in one arena described by table() (names and kinds: configs/README.md);
// gradients are an arena of the same layout. Activations are allocated once, for max_batch x
// block_size, in the constructor; backward's working buffers are one set shared by all blocks.
// F is float for training and double for gradient checks.
//
// Threads: the batch is split into one shard of whole sequences per worker (data parallelism).
// Each worker runs forward and backward of its shard with single-threaded BLAS into its own
// gradient arena; the arenas are then summed in a fixed order. The loss, the MoE balance loss
// and the dropout masks are those of the whole batch, so a different thread count changes
// results only by fp32 rounding, and a fixed one gives the same bits every time.
//
// One training step, file by file:
//   transformer.cpp    the step: split the batch, embedding, blocks, head and loss; then backward
//   param_layout.h     which tensors exist, their kinds (what decay rules read), their init
//   data_parallel.h    the shards and workers, dropout masks in batch order, the gradient sum
//   block.h            one block's forward and backward
//   lib/layers/        each layer's math, forward and backward side by side
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/worker_pool.h"
#include "model/model_config.h"
#include "model/param_layout.h"

namespace wdlab {

class Rng;
template <typename F>
struct Shard;
template <typename F>
struct ShardView;
template <typename F>
class DataParallel;

struct ModelLoss {
  double ce = 0.0;  // mean cross-entropy over the counted targets: what is reported and compared
  double z_loss = 0.0;  // PaLM's z-loss term, already weighted
  double aux = 0.0;     // MoE load-balancing term, already weighted
  int counted = 0;      // targets in the loss (not kMaskedTarget)
  int correct = 0;      // counted targets that are the argmax of their logits
  double total() const { return ce + z_loss + aux; }  // what backward differentiates
  double accuracy() const { return counted > 0 ? static_cast<double>(correct) / counted : 0.0; }
};

template <typename F>
class Transformer {
 public:
  // threads > 1 starts that many workers (at most max_batch are used); the worker pool sets
  // OpenBLAS to one thread for the process: the workers are the parallelism.
  Transformer(const ModelConfig& config, int max_batch, int threads = 1);
  ~Transformer();
  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;

  const ModelConfig& config() const { return config_; }
  int threads() const;
  // The model's workers, for the rest of the step (gradient clipping, optimizer) to share.
  WorkerPool& workers();
  const ParamTable& table() const { return layout_.table; }
  const ParamLayout& layout() const { return layout_; }
  std::vector<F>& params() { return params_; }
  const std::vector<F>& params() const { return params_; }
  std::vector<F>& grads() { return grads_; }
  const std::vector<F>& grads() const { return grads_; }

  // init_params (param_layout.h): N(0, init_std) matrices, norm gains 1, biases 0.
  void init_weights(uint64_t seed);

  // tokens, targets (B,T), B <= max_batch, T <= block_size; a target may be kMaskedTarget (left
  // out of the loss). dropout_rng == nullptr means evaluation (no dropout).
  ModelLoss forward(const int* tokens, const int* targets, int B, int T, Rng* dropout_rng);
  void zero_grad();
  // Gradient of the last forward's loss.total(), accumulated into grads().
  void backward();

  // The discrete decisions of the last forward: the experts every token was routed to, per MoE
  // layer, in batch order (empty for dense models). The loss is not differentiable where one of
  // them changes, so gradient checks compare it before and after a perturbation.
  std::vector<int> routing() const;

 private:
  ShardView<F> view(Shard<F>& shard);
  void forward_shard(Shard<F>& shard);   // embedding, blocks, head and loss
  void backward_shard(Shard<F>& shard);  // the same in reverse, into the shard's gradient arena

  ModelConfig config_;
  int max_batch_;
  ParamLayout layout_;  // tensor names, kinds and offsets; each block's rows
  std::vector<F> params_, grads_;
  std::vector<F> rope_cos_, rope_sin_;
  std::unique_ptr<DataParallel<F>> shards_;  // one shard per worker, and the workers
  int B_ = 0, T_ = 0;                        // last forward's batch
  int counted_ = 0;                          // ... and its targets in the loss
  bool dropout_on_ = false;
};

}  // namespace wdlab
