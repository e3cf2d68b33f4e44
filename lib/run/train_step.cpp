#include "run/train_step.h"

#include <cmath>

#include "core/subnormals.h"
#include "optim/grad_clip.h"

namespace wdlab {
namespace {

// Σ x² per kind over the table's tensors, in double, into sq[kind].
void sum_squares_per_kind(const ParamTable& table, const float* x, double* sq) {
  for (const ParamInfo& p : table) {
    const float* v = x + p.offset;
    double s = 0.0;
    for (size_t i = 0; i < p.numel; ++i) s += static_cast<double>(v[i]) * v[i];
    sq[static_cast<size_t>(p.kind)] += s;
  }
}

}  // namespace

TrainStep::TrainStep(Transformer<float>& model, Optimizer& optimizer, const LrSchedule& schedule,
                     double grad_clip)
    : model_(model), optimizer_(optimizer), schedule_(schedule), grad_clip_(grad_clip) {}

KindStats TrainStep::norms() const {
  KindStats k;
  double sq[KindStats::kKinds] = {};
  sum_squares_per_kind(model_.table(), model_.params().data(), sq);
  for (const ParamInfo& p : model_.table()) k.present[static_cast<size_t>(p.kind)] = true;
  for (size_t i = 0; i < KindStats::kKinds; ++i) k.norm[i] = std::sqrt(sq[i]);
  return k;
}

std::vector<TensorUpdate> TrainStep::tensor_updates(const StepDecay& decay, double lr) const {
  const ParamTable& table = model_.table();
  const std::vector<float>& w = model_.params();
  const OptimizerOptions& o = optimizer_.options();
  const bool decoupled = o.decay_mode == DecayMode::decoupled;
  std::vector<TensorUpdate> out(table.size());
  for (size_t t = 0; t < table.size(); ++t) {
    const ParamInfo& p = table[t];
    // The shrink this tensor got (optimizer.h): adamc keeps lr_t·λ outside the normalized set.
    double d = 0.0;
    if (decoupled && optimizer_.plan().decays[t]) {
      const bool lr_scaled = is_adamc(o.decay_scaling) && !optimizer_.adamc_tensors()[t];
      d = lr_scaled ? decay.per_step_lr : decay.per_step;
    }
    double delta_sq = 0.0, before_sq = 0.0, u_sq = 0.0, w_dot_u = 0.0;
    for (size_t i = p.offset; i < p.offset + p.numel; ++i) {
      const double before = before_[i];
      const double diff = static_cast<double>(w[i]) - before;
      const double u = lr > 0.0 ? -(diff + d * before) / lr : 0.0;
      delta_sq += diff * diff, before_sq += before * before;
      u_sq += u * u, w_dot_u += before * u;
    }
    TensorUpdate& r = out[t];
    r.update_rel = before_sq > 0.0 ? std::sqrt(delta_sq / before_sq) : 0.0;
    r.update_rms = p.numel ? std::sqrt(u_sq / static_cast<double>(p.numel)) : 0.0;
    r.update_cos = before_sq > 0.0 && u_sq > 0.0 ? w_dot_u / std::sqrt(before_sq * u_sq) : 0.0;
  }
  return out;
}

StepResult TrainStep::run(int t, const int* tokens, const int* targets, int B, int T,
                          Rng* dropout_rng, bool measure) {
  const FlushSubnormals flush;  // as every step of a run computes (core/subnormals.h)
  StepResult r;
  // Update t is the schedule's step t - 1: warmup's first update gets lr/warmup, and the cosine
  // reaches min_lr at the last update (lr_schedule.h).
  r.lr = schedule_.at(t - 1);
  r.loss = model_.forward(tokens, targets, B, T, dropout_rng);
  model_.zero_grad();
  model_.backward();
  std::vector<float>& g = model_.grads();
  const ParamTable& table = model_.table();

  double grad_sq[KindStats::kKinds] = {};
  if (measure) sum_squares_per_kind(table, g.data(), grad_sq);  // before clipping
  // The norm and clipping see the loss gradient only: coupled λ·w enters after clipping, in the
  // optimizer (torch.optim.Adam's weight_decay after clip_grad_norm_).
  r.grad_norm = clip_grad_norm(g.data(), g.size(), grad_clip_, &model_.workers());

  const double objective = r.loss.total();
  if (t == 1) first_loss_ = objective;
  if (!std::isfinite(objective) || !std::isfinite(r.grad_norm) ||
      objective > kDivergedLossFactor * first_loss_) {
    r.diverged = true;
    r.decay_budget = decay_budget_;
    r.decay_budget_lr = decay_budget_lr_;
    return r;
  }
  if (hook_) hook_(t, g);

  if (measure) before_ = model_.params();  // capacity kept: no allocation after the first
  const StepDecay decay =
      optimizer_.step(model_.params().data(), g.data(), r.lr, schedule_.peak, &model_.workers());
  // A budget is a sum of shrink factors, which only decoupled decay has: coupled λ is an L2
  // coefficient on the gradient, and Adam rescales what it does per coordinate.
  if (optimizer_.options().decay_mode == DecayMode::decoupled) {
    r.decay_step = decay.per_step;
    decay_budget_ += decay.per_step;
    r.decay_step_lr = decay.per_step_lr;
    decay_budget_lr_ += decay.per_step_lr;
  }
  r.decay_budget = decay_budget_;
  r.decay_budget_lr = decay_budget_lr_;

  if (measure) {
    r.measured = true;
    r.kinds = norms();
    double delta_sq[KindStats::kKinds] = {}, before_sq[KindStats::kKinds] = {};
    const std::vector<float>& w = model_.params();
    for (const ParamInfo& p : table) {
      double d = 0.0, b = 0.0;
      for (size_t i = p.offset; i < p.offset + p.numel; ++i) {
        const double diff = static_cast<double>(w[i]) - before_[i];
        d += diff * diff;
        b += static_cast<double>(before_[i]) * before_[i];
      }
      delta_sq[static_cast<size_t>(p.kind)] += d;
      before_sq[static_cast<size_t>(p.kind)] += b;
    }
    for (size_t k = 0; k < KindStats::kKinds; ++k) {
      r.kinds.grad_norm[k] = std::sqrt(grad_sq[k]);
      r.kinds.update_rel[k] = before_sq[k] > 0.0 ? std::sqrt(delta_sq[k] / before_sq[k]) : 0.0;
    }
    r.tensors = tensor_updates(decay, r.lr);
  }
  return r;
}

}  // namespace wdlab
