// The data-parallel shards (data_parallel.h): their buffers, the batch split, the dropout masks
// in batch order and the fixed-order gradient sum.
#include "model/data_parallel.h"

#include <algorithm>

#include "layers/dropout.h"

namespace wdlab {

template <typename F>
Shard<F>::Shard(const ModelConfig& c, int max_B, size_t n_params, F* model_grads)
    : scratch(c, max_B) {
  const size_t N = static_cast<size_t>(max_B) * c.block_size, NC = N * c.d_model;
  const size_t NV = N * c.vocab_size;
  tokens.resize(N), targets.resize(N);
  blocks.reserve(c.n_layer);
  for (int l = 0; l < c.n_layer; ++l) blocks.emplace_back(c, max_B);
  emb.resize(NC);
  if (c.dropout > 0.0) emb_mask.resize(NC), emb_drop.resize(NC);
  lnf.resize(NC), lnf_mean.resize(N), lnf_rstd.resize(N), logits.resize(NV), lse.resize(N);
  dlogits.resize(NV), dstream[0].resize(NC), dstream[1].resize(NC);
  if (model_grads == nullptr) own_grads.assign(n_params, F(0));
  grads = model_grads != nullptr ? model_grads : own_grads.data();
}

template <typename F>
DataParallel<F>::DataParallel(const ModelConfig& c, int max_batch, int threads,
                              std::vector<F>& grads) {
  const int workers = std::min(threads, max_batch);
  const int shard_batch = (max_batch + workers - 1) / workers;  // split() never gives more
  for (int w = 0; w < workers; ++w) {
    shards_.push_back(
        std::make_unique<Shard<F>>(c, shard_batch, grads.size(), w == 0 ? grads.data() : nullptr));
  }
  moe_caches_.reserve(static_cast<size_t>(workers));
  pool_ = std::make_unique<WorkerPool>(workers);
}

template <typename F>
void DataParallel<F>::split(const int* tokens, const int* targets, int B, int T) {
  const int K = size();
  B_ = B, active_ = std::min(K, B);
  for (int w = 0; w < K; ++w) {
    Shard<F>& sh = *shards_[w];
    sh.b0 = w < active_ ? w * B / active_ : B;
    sh.B = w < active_ ? (w + 1) * B / active_ - sh.b0 : 0;
    const size_t off = static_cast<size_t>(sh.b0) * T, n = static_cast<size_t>(sh.B) * T;
    std::copy_n(tokens + off, n, sh.tokens.begin());
    std::copy_n(targets + off, n, sh.targets.begin());
  }
}

template <typename F>
void DataParallel<F>::draw_dropout_masks(double p, size_t row, Rng& rng) {
  for (int w = 0; w < active_; ++w) {
    dropout_mask(shards_[w]->emb_mask.data(), shards_[w]->B * row, p, rng);
  }
  const size_t L = shards_[0]->blocks.size();
  for (size_t l = 0; l < L; ++l) {
    for (int w = 0; w < active_; ++w) {
      dropout_mask(shards_[w]->blocks[l].att_mask.data(), shards_[w]->B * row, p, rng);
    }
    for (int w = 0; w < active_; ++w) {
      dropout_mask(shards_[w]->blocks[l].mlp_mask.data(), shards_[w]->B * row, p, rng);
    }
  }
}

template <typename F>
double DataParallel<F>::share(const Shard<F>& shard) const {
  return active_ == 1 ? 1.0 : static_cast<double>(shard.B) / B_;
}

template <typename F>
double DataParallel<F>::moe_aux(int layer, double aux_coef) {
  moe_caches_.clear();
  for (int w = 0; w < active_; ++w) moe_caches_.push_back(shards_[w]->blocks[layer].moe.get());
  return moe_merge_shards(moe_caches_, aux_coef);
}

// Each worker over its own slice of the arena, shards added in order: the same sums for the same
// thread count.
template <typename F>
void DataParallel<F>::sum_grads(std::vector<F>& grads) {
  if (active_ <= 1) return;
  pool_->run([&](int worker) {
    const IndexRange r = part_of(grads.size(), static_cast<size_t>(worker), shards_.size());
    F* g = grads.data();
    for (int w = 1; w < active_; ++w) {
      const F* o = shards_[w]->own_grads.data();
      for (size_t i = r.begin; i < r.end; ++i) g[i] += o[i];
    }
  });
}

template struct Shard<float>;
template struct Shard<double>;
template class DataParallel<float>;
template class DataParallel<double>;

}  // namespace wdlab
