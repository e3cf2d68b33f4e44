// Data parallelism: the batch is split into one shard of whole sequences per worker. Each shard
// has its own activations, backward buffers and (after the first) gradient arena; the workers run
// forward and backward of their shards with single-threaded BLAS, then the arenas are summed in a
// fixed order. The dropout masks are drawn in the order one pass over the whole batch would draw
// them, so a different thread count changes results only by fp32 rounding, and a fixed one gives
// the same bits every time.
#pragma once

#include <memory>
#include <vector>

#include "core/worker_pool.h"
#include "model/block.h"
#include "model/model_config.h"

namespace wdlab {

class Rng;

// One worker's part of the batch: sequences [b0, b0 + B) of the current forward, sized for max_B.
template <typename F>
struct Shard {
  // grads: the arena to accumulate into; nullptr gives the shard its own of n_params.
  Shard(const ModelConfig& config, int max_B, size_t n_params, F* grads);

  int b0 = 0, B = 0;  // B == 0: idle this step
  std::vector<int> tokens, targets;
  std::vector<BlockActivations<F>> blocks;
  BlockScratch<F> scratch;  // shared by all blocks
  std::vector<F> emb, emb_mask, emb_drop, lnf, lnf_mean, lnf_rstd, logits, lse;  // logits: probs
  // Backward: dstream[0/1] hold the residual stream's gradient above and below the block being
  // differentiated, swapped after each block.
  std::vector<F> dlogits, dstream[2];
  std::vector<F> own_grads;  // empty when accumulating into the model's grads (shard 0)
  F* grads = nullptr;
  double ce = 0.0, z_loss = 0.0;  // means over this shard's counted (unmasked) targets
  int counted = 0, correct = 0;   // this shard's unmasked targets, and those predicted right
};

template <typename F>
class DataParallel {
 public:
  // min(threads, max_batch) shards, each sized for its largest share of max_batch; shard 0
  // accumulates into `grads`. Starts the worker pool (which keeps BLAS to one thread).
  DataParallel(const ModelConfig& config, int max_batch, int threads, std::vector<F>& grads);

  int size() const { return static_cast<int>(shards_.size()); }
  int active() const { return active_; }  // shards that hold part of the last batch
  Shard<F>& operator[](int w) { return *shards_[w]; }
  const Shard<F>& operator[](int w) const { return *shards_[w]; }
  WorkerPool& pool() { return *pool_; }

  // Whole sequences of tokens/targets (B,T) to the shards, as even as possible, in batch order.
  void split(const int* tokens, const int* targets, int B, int T);
  // Every active shard's masks for rows of `row` elements (T x d_model), drawn per site (the
  // embedding, then each block's attention and FFN branch), the shards' rows one after the other.
  void draw_dropout_masks(double p, size_t row, Rng& rng);
  // task(shard) on each active shard, one worker each.
  template <typename Task>
  void run(Task&& task) {
    pool_->run([&](int w) {
      if (shards_[w]->B > 0) task(*shards_[w]);
    });
  }
  // A shard's share of the batch's tokens: the weight of its mean losses in the batch's.
  double share(const Shard<F>& shard) const;
  // The whole batch's MoE balance loss of one layer, from the shards' routing (moe_merge_shards).
  double moe_aux(int layer, double aux_coef);
  // grads (shard 0's arena) += the other shards' arenas.
  void sum_grads(std::vector<F>& grads);

 private:
  std::vector<std::unique_ptr<Shard<F>>> shards_;
  std::unique_ptr<WorkerPool> pool_;
  std::vector<MoeCache<F>*> moe_caches_;  // one layer's shard caches; reused, no allocation
  int B_ = 0, active_ = 0;
};

}  // namespace wdlab
