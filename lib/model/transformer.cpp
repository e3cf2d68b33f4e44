// The training step of transformer.h: forward() splits the batch between the shards
// (data_parallel.h), each worker runs embedding -> blocks (block.h) -> final norm -> head -> loss
// on its shard, and the shards' losses are merged into the whole batch's; backward() runs the same
// in reverse and sums the shards' gradients.
#include "model/transformer.h"

#include <algorithm>

#include "core/error.h"
#include "core/rng.h"
#include "layers/cross_entropy.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/linear.h"
#include "layers/rope.h"
#include "model/block.h"
#include "model/data_parallel.h"

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

}  // namespace

template <typename F>
Transformer<F>::Transformer(const ModelConfig& config, int max_batch, int threads)
    : config_(validated(config)), max_batch_(max_batch), layout_(make_param_layout(config_)) {
  WD_CHECK(max_batch >= 1, "train.batch_size: must be at least 1, got {}", max_batch);
  WD_CHECK(threads >= 1, "threads: must be at least 1, got {}", threads);
  const ModelConfig& c = config_;
  params_.assign(layout_.table.total(), F(0));
  grads_.assign(layout_.table.total(), F(0));
  if (c.positions == PositionKind::rope) {
    const int maxT = c.block_size, HS = c.head_size();
    rope_cos_.resize(static_cast<size_t>(maxT) * HS / 2);
    rope_sin_.resize(static_cast<size_t>(maxT) * HS / 2);
    rope_table(rope_cos_.data(), rope_sin_.data(), maxT, HS, c.rope_theta);
  }
  shards_ = std::make_unique<DataParallel<F>>(c, max_batch, threads, grads_);
}

template <typename F>
Transformer<F>::~Transformer() = default;

template <typename F>
int Transformer<F>::threads() const {
  return shards_->size();
}

template <typename F>
WorkerPool& Transformer<F>::workers() {
  return shards_->pool();
}

template <typename F>
void Transformer<F>::init_weights(uint64_t seed) {
  init_params(params_.data(), layout_.table, config_, seed);
}

template <typename F>
ShardView<F> Transformer<F>::view(Shard<F>& sh) {
  // The batch's MoE balance loss: this shard's tokens carry B / B_ of its gradient.
  const F aux_share = static_cast<F>(shards_->share(sh));
  return {config_,
          ArenaView<const F>(params_.data(), layout_.table),
          ArenaView<F>(sh.grads, layout_.table),
          rope_cos_.data(),
          rope_sin_.data(),
          sh.B,
          T_,
          dropout_on_,
          aux_share};
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
    WD_CHECK(tokens[i] >= 0 && tokens[i] < V &&
                 ((targets[i] >= 0 && targets[i] < V) || targets[i] == kMaskedTarget),
             "token id out of range [0, {})", V);
  }
  B_ = B, T_ = T;
  dropout_on_ = dropout_rng != nullptr && c.dropout > 0.0;
  DataParallel<F>& shards = *shards_;
  shards.split(tokens, targets, B, T);
  if (dropout_on_) {
    shards.draw_dropout_masks(c.dropout, static_cast<size_t>(T) * c.d_model, *dropout_rng);
  }

  shards.run([&](Shard<F>& sh) { forward_shard(sh); });

  // The whole batch's loss: means of the shards' weighted by their counted targets (by their
  // sequences when nothing is masked: the same weights, computed as before masks existed).
  ModelLoss loss;
  for (int w = 0; w < shards.active(); ++w) {
    loss.counted += shards[w].counted, loss.correct += shards[w].correct;
  }
  counted_ = loss.counted;
  for (int w = 0; w < shards.active(); ++w) {
    const double share = loss.counted == N  ? shards.share(shards[w])
                         : loss.counted > 0 ? static_cast<double>(shards[w].counted) / loss.counted
                                            : 0.0;
    loss.ce += share * shards[w].ce, loss.z_loss += share * shards[w].z_loss;
  }
  if (c.is_moe()) {
    // The balance loss sees the routing of the whole batch, not of each shard.
    for (int l = 0; l < c.n_layer; ++l) loss.aux += shards.moe_aux(l, c.moe.aux_loss_coef);
  }
  return loss;
}

template <typename F>
std::vector<int> Transformer<F>::routing() const {
  std::vector<int> out;
  if (!config_.is_moe()) return out;
  const DataParallel<F>& shards = *shards_;
  for (int l = 0; l < config_.n_layer; ++l) {
    for (int w = 0; w < shards.active(); ++w) {
      const MoeCache<F>& m = *shards[w].blocks[static_cast<size_t>(l)].moe;
      out.insert(out.end(), m.expert.begin(), m.expert.begin() + m.N * m.K);
    }
  }
  return out;
}

template <typename F>
void Transformer<F>::forward_shard(Shard<F>& sh) {
  const ModelConfig& c = config_;
  const ShardView<F> m = view(sh);
  const int B = sh.B, T = T_, C = c.d_model, V = c.vocab_size, N = B * T;
  const size_t NC = static_cast<size_t>(N) * C;
  const TopParams& top = layout_.top;

  // Embeddings; a multiplier only exists without learned positions (validated).
  embedding_forward(sh.emb.data(), sh.tokens.data(), m.params[top.wte], m.params[top.wpe], B, T, C);
  if (c.embedding_multiplier() != 1.0) scale_inplace(sh.emb.data(), NC, c.embedding_multiplier());
  const F* x = sh.emb.data();
  if (dropout_on_) {
    dropout_apply(sh.emb_drop.data(), sh.emb_mask.data(), x, NC);
    x = sh.emb_drop.data();
  }

  for (int l = 0; l < c.n_layer; ++l) {
    block_forward(m, sh.blocks[l], sh.scratch, x, layout_.blocks[l], l);
    x = sh.blocks[l].res3.data();
  }

  norm_forward(m, sh.lnf.data(), sh.lnf_mean.data(), sh.lnf_rstd.data(), x, top.lnf_w, top.lnf_b);
  linear_forward(sh.logits.data(), sh.lnf.data(), m.params[top.head()],
                 static_cast<const F*>(nullptr), N, C, V);
  if (c.logit_multiplier() != 1.0) {
    scale_inplace(sh.logits.data(), static_cast<size_t>(N) * V, c.logit_multiplier());
  }
  // Softmax in place: backward needs the probabilities, not the logits.
  const CrossEntropyLoss ce = cross_entropy_forward(
      sh.logits.data(), sh.lse.data(), sh.logits.data(), sh.targets.data(), N, V, c.z_loss);
  sh.ce = ce.ce, sh.z_loss = ce.z_loss;
  sh.counted = ce.counted, sh.correct = ce.correct;
}

template <typename F>
void Transformer<F>::zero_grad() {
  workers().run([&](int w) {
    const IndexRange r = part_of(grads_.size(), static_cast<size_t>(w), shards_->size());
    std::fill_n(grads_.begin() + r.begin, r.size(), F(0));
  });
}

template <typename F>
void Transformer<F>::backward() {
  WD_CHECK(B_ > 0, "backward() called before forward()");
  shards_->run([&](Shard<F>& sh) { backward_shard(sh); });
  shards_->sum_grads(grads_);
}

template <typename F>
void Transformer<F>::backward_shard(Shard<F>& sh) {
  const ModelConfig& c = config_;
  const ShardView<F> m = view(sh);
  const int B = sh.B, T = T_, C = c.d_model, V = c.vocab_size, N = B * T, L = c.n_layer;
  const size_t NC = static_cast<size_t>(N) * C, NV = static_cast<size_t>(N) * V;
  const TopParams& top = layout_.top;
  if (!sh.own_grads.empty()) std::fill(sh.own_grads.begin(), sh.own_grads.end(), F(0));

  // Loss -> logits -> final norm. The loss is the whole batch's mean over its counted targets:
  // scale 1/counted (1/(B_ T) when nothing is masked).
  std::fill_n(sh.dlogits.begin(), NV, F(0));
  const F scale = counted_ > 0 ? F(1) / F(static_cast<double>(counted_)) : F(0);
  cross_entropy_backward(sh.dlogits.data(), sh.logits.data(), sh.lse.data(), sh.targets.data(), N,
                         V, c.z_loss, scale);
  if (c.logit_multiplier() != 1.0) scale_inplace(sh.dlogits.data(), NV, c.logit_multiplier());
  F* dlnf = sh.scratch.dln1.data();  // the blocks' dln1 is free until the last block's backward
  std::fill_n(dlnf, NC, F(0));
  linear_backward(dlnf, m.grads[top.head()], static_cast<F*>(nullptr), sh.dlogits.data(),
                  sh.lnf.data(), m.params[top.head()], N, C, V);
  // The residual stream entering block l (l == L: leaving the last block).
  auto stream = [&](int l) -> const F* {
    if (l > 0) return sh.blocks[l - 1].res3.data();
    return dropout_on_ ? sh.emb_drop.data() : sh.emb.data();
  };
  F* dout = sh.dstream[0].data();  // gradient of the stream leaving the block being processed
  F* dx = sh.dstream[1].data();    // ... and entering it
  std::fill_n(dout, NC, F(0));
  norm_backward(m, dout, dlnf, stream(L), sh.lnf_mean.data(), sh.lnf_rstd.data(), top.lnf_w,
                top.lnf_b);

  for (int l = L - 1; l >= 0; --l) {
    block_backward(m, dx, dout, sh.blocks[l], sh.scratch, stream(l), layout_.blocks[l], l);
    std::swap(dout, dx);  // this block's input gradient is the next one's output gradient
  }
  // dout: the gradient of the embedding stage's output (after dropout).
  F* demb = dout;
  if (dropout_on_) {
    std::fill_n(dx, NC, F(0));
    dropout_backward(dx, dout, sh.emb_mask.data(), NC);
    demb = dx;
  }
  if (c.embedding_multiplier() != 1.0) scale_inplace(demb, NC, c.embedding_multiplier());
  embedding_backward(m.grads[top.wte], m.grads[top.wpe], demb, sh.tokens.data(), B, T, C);
}

template class Transformer<float>;
template class Transformer<double>;

}  // namespace wdlab
