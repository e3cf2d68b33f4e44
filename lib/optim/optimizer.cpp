#include "optim/optimizer.h"
#include "core/multiversion.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/error.h"
#include "optim/adamc_scope.h"

namespace wdlab {

namespace {

// Per-step scalars, computed in double and cast to float once (as PyTorch casts its Python-float
// hyperparameters to the tensor dtype inside each kernel).
struct AdamScalars {
  float beta1, one_minus_beta1;
  float beta2, one_minus_beta2;
  float step_size;  // lr_t / (1 - beta1^t)
  float bc2_sqrt;   // sqrt(1 - beta2^t)
  float eps;
  float l2;      // coupled: λ added to the gradient as λ w
  float shrink;  // decoupled: d = s_t λ
};

struct SgdScalars {
  float momentum;
  float lr;
  float l2;
  float shrink;
};

// Decoupled decay is fused into the weight update: w = w - (d*w + u), one expression, where u is
// the optimizer's own update. The obvious `w *= (1 - d)` (what torch AdamW does, then the Adam
// step separately) breaks down in fp32 once d < 2^-24: below 2^-25, 1 - d rounds to 1.0f and the
// weight is multiplied by exactly one, so the decay silently does nothing (PyTorch issue 64475);
// between 2^-25 and 2^-24 it rounds to 1 - 2^-24, the wrong amount. That regime is common here:
// lr_t=1e-4 and λ=2e-4 give d = 2e-8, and lr_squared scaling makes d smaller still. In the fused
// form d*w is added to u (|u| ~ lr_t for Adam), where it is represented with full relative
// precision, and only the final `w - (...)` rounds to w's grid. When d*w is below half an ulp of w
// a single step can still round it away, but u moves the exact result to a different place between
// grid points every step, so the rounding is dithered and the expected rounded result carries the
// shift: the decay survives statistically and accumulates over many steps (tests/test_optimizer.cpp
// checks this). For larger d the fused form equals torch's w(1-d) - u up to ordinary rounding.
template <bool kCoupled, bool kDecoupled>
WD_MULTIVERSION void adam_update(float* w, const float* g, float* m, float* v, size_t n,
                                 const AdamScalars& s) {
  for (size_t i = 0; i < n; ++i) {
    float grad = g[i];
    if constexpr (kCoupled) grad = grad + s.l2 * w[i];
    // Same operation order as torch 1.13 _single_tensor_adam: exp_avg.mul_(b1).add_(g, 1-b1);
    // exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2); denom = sqrt(v) / sqrt(bc2) + eps;
    // param.addcdiv_(exp_avg, denom, -step_size).
    m[i] = m[i] * s.beta1 + s.one_minus_beta1 * grad;
    v[i] = v[i] * s.beta2 + s.one_minus_beta2 * grad * grad;
    const float denom = std::sqrt(v[i]) / s.bc2_sqrt + s.eps;
    const float update = s.step_size * (m[i] / denom);
    if constexpr (kDecoupled) {
      w[i] = w[i] - (s.shrink * w[i] + update);  // fused decay: see the comment above
    } else {
      w[i] = w[i] - update;
    }
  }
}

// torch.optim.SGD with dampening 0, nesterov off: buf = g at t = 1, else momentum * buf + g.
template <bool kCoupled, bool kDecoupled>
WD_MULTIVERSION void sgd_update(float* w, const float* g, float* buf, size_t n, const SgdScalars& s,
                                bool first) {
  for (size_t i = 0; i < n; ++i) {
    float grad = g[i];
    if constexpr (kCoupled) grad = grad + s.l2 * w[i];
    buf[i] = first ? grad : buf[i] * s.momentum + grad;
    if constexpr (kDecoupled) {
      w[i] = w[i] - (s.shrink * w[i] + s.lr * buf[i]);  // fused decay, as in adam_update
    } else {
      w[i] = w[i] - s.lr * buf[i];
    }
  }
}

}  // namespace

double decoupled_decay_step(const OptimizerOptions& options, double lr, double lr_peak) {
  if (options.decay_mode != DecayMode::decoupled) return 0.0;
  switch (options.decay_scaling) {
    case DecayScaling::lr:
      return lr * options.weight_decay;
    case DecayScaling::schedule:
      WD_CHECK(lr_peak > 0.0, "optimizer: decay_scaling 'schedule' needs lr_peak > 0, got {}",
               lr_peak);
      return lr / lr_peak * options.weight_decay;
    case DecayScaling::lr_squared:
      return lr * lr * options.weight_decay;
    case DecayScaling::adamc:
    case DecayScaling::adamc_all:
      WD_CHECK(lr_peak > 0.0, "optimizer: decay_scaling '{}' needs lr_peak > 0, got {}",
               to_string(options.decay_scaling), lr_peak);
      return lr * lr / lr_peak * options.weight_decay;
  }
  fail("optimizer: unknown decay_scaling {}", static_cast<int>(options.decay_scaling));
}

bool is_adamc(DecayScaling scaling) {
  return scaling == DecayScaling::adamc || scaling == DecayScaling::adamc_all;
}

Optimizer::Optimizer(const ParamTable& table, DecayPlan plan, OptimizerOptions options)
    : table_(table), plan_(std::move(plan)), options_(options) {
  const OptimizerOptions& o = options_;
  WD_CHECK(o.weight_decay >= 0.0 && std::isfinite(o.weight_decay),
           "optimizer.weight_decay: must be finite and >= 0, got {}", o.weight_decay);
  WD_CHECK(plan_.decays.size() == table_.size(),
           "optimizer: decay plan has {} entries but the table has {} tensors", plan_.decays.size(),
           table_.size());
  if (o.kind == OptimizerKind::adam) {
    WD_CHECK(o.beta1 >= 0.0 && o.beta1 < 1.0, "optimizer.beta1: must be in [0, 1), got {}",
             o.beta1);
    WD_CHECK(o.beta2 >= 0.0 && o.beta2 < 1.0, "optimizer.beta2: must be in [0, 1), got {}",
             o.beta2);
    // The same range as the config's optim.eps (lib/run/config_optim.cpp): a library caller
    // gets the check a run gets.
    WD_CHECK(o.eps > 0.0 && std::isfinite(o.eps), "optimizer.eps: must be finite and > 0, got {}",
             o.eps);
    v_.assign(table_.total(), 0.0f);
  } else {
    WD_CHECK(o.momentum >= 0.0 && std::isfinite(o.momentum),
             "optimizer.momentum: must be finite and >= 0, got {}", o.momentum);
  }
  m_.assign(table_.total(), 0.0f);
  adamc_.assign(table_.size(), false);
  if (o.decay_mode == DecayMode::decoupled && is_adamc(o.decay_scaling)) {
    adamc_ = wdlab::adamc_tensors(table_, o.decay_scaling == DecayScaling::adamc_all);
    for (size_t i = 0; i < table_.size(); ++i)
      lr_scaled_decay_ = lr_scaled_decay_ || (plan_.decays[i] && !adamc_[i]);
  }
}

// Calls f(tensor row, first element, count) for the pieces of every tensor, split at the workers'
// slice boundaries (the arena cut into pool->size() contiguous parts, tensors in table order).
template <typename Fn>
void Optimizer::for_each_slice(WorkerPool* pool, const Fn& f) const {
  const size_t total = table_.total();
  auto slice = [&](IndexRange r) {
    for (size_t i = 0; i < table_.size(); ++i) {
      const ParamInfo& p = table_[i];
      const size_t a = std::max(r.begin, p.offset), b = std::min(r.end, p.offset + p.numel);
      if (a < b) f(i, a, b - a);
    }
  };
  if (pool == nullptr || pool->size() == 1) {
    slice({0, total});
    return;
  }
  const size_t K = static_cast<size_t>(pool->size());
  pool->run([&](int w) { slice(part_of(total, static_cast<size_t>(w), K)); });
}

void Optimizer::restore(int64_t steps_taken, std::vector<float> first, std::vector<float> second) {
  WD_CHECK(steps_taken >= 0, "optimizer state: step count must be >= 0, got {}", steps_taken);
  WD_CHECK(first.size() == m_.size() && second.size() == v_.size(),
           "optimizer state: moments of {} and {} values, expected {} and {}", first.size(),
           second.size(), m_.size(), v_.size());
  t_ = steps_taken;
  m_ = std::move(first);
  v_ = std::move(second);
}

StepDecay Optimizer::step(float* params, const float* grads, double lr, double lr_peak,
                          WorkerPool* pool) {
  WD_CHECK(lr >= 0.0 && std::isfinite(lr), "optimizer: lr must be finite and >= 0, got {}", lr);
  WD_CHECK(m_.size() == table_.total(),
           "optimizer: the parameter table changed size after the optimizer was built");
  const OptimizerOptions& o = options_;
  const double lambda = o.weight_decay;
  const double d = decoupled_decay_step(o, lr, lr_peak);
  ++t_;

  // adamc: the decayed tensors outside the normalized set keep AdamW's lr_t * λ.
  const double d_lr = lr * lambda;
  const bool adamc = is_adamc(o.decay_scaling);
  auto shrinks_by_scaling = [&](size_t i) { return !adamc || adamc_[i]; };
  StepDecay out;
  if (o.decay_mode == DecayMode::decoupled) out.per_step = d;
  if (lr_scaled_decay_) out.per_step_lr = d_lr;
  if (o.decay_mode == DecayMode::coupled) out.per_step = lr * lambda;

  // λ = 0 takes the no-decay path, as torch skips the decay term when weight_decay == 0.
  const bool any_decay = o.decay_mode != DecayMode::none && lambda != 0.0;
  const bool coupled = any_decay && o.decay_mode == DecayMode::coupled;

  if (o.kind == OptimizerKind::adam) {
    const double t = static_cast<double>(t_);
    const double bc1 = 1.0 - std::pow(o.beta1, t);
    const double bc2 = 1.0 - std::pow(o.beta2, t);
    AdamScalars s{};
    s.beta1 = static_cast<float>(o.beta1);
    s.one_minus_beta1 = static_cast<float>(1.0 - o.beta1);
    s.beta2 = static_cast<float>(o.beta2);
    s.one_minus_beta2 = static_cast<float>(1.0 - o.beta2);
    s.step_size = static_cast<float>(lr / bc1);
    s.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
    s.eps = static_cast<float>(o.eps);
    s.l2 = static_cast<float>(lambda);
    s.shrink = static_cast<float>(d);
    AdamScalars s_lr = s;  // adamc's tensors outside the normalized set
    s_lr.shrink = static_cast<float>(d_lr);
    for_each_slice(pool, [&](size_t i, size_t lo, size_t n) {
      float* w = params + lo;
      const float* g = grads + lo;
      float* m = m_.data() + lo;
      float* v = v_.data() + lo;
      if (!any_decay || !plan_.decays[i]) {
        adam_update<false, false>(w, g, m, v, n, s);
      } else if (coupled) {
        adam_update<true, false>(w, g, m, v, n, s);
      } else {
        adam_update<false, true>(w, g, m, v, n, shrinks_by_scaling(i) ? s : s_lr);
      }
    });
  } else {
    SgdScalars s{};
    s.momentum = static_cast<float>(o.momentum);
    s.lr = static_cast<float>(lr);
    s.l2 = static_cast<float>(lambda);
    s.shrink = static_cast<float>(d);
    SgdScalars s_lr = s;
    s_lr.shrink = static_cast<float>(d_lr);
    const bool first = t_ == 1;
    for_each_slice(pool, [&](size_t i, size_t lo, size_t n) {
      float* w = params + lo;
      const float* g = grads + lo;
      float* buf = m_.data() + lo;
      if (!any_decay || !plan_.decays[i]) {
        sgd_update<false, false>(w, g, buf, n, s, first);
      } else if (coupled) {
        sgd_update<true, false>(w, g, buf, n, s, first);
      } else {
        sgd_update<false, true>(w, g, buf, n, shrinks_by_scaling(i) ? s : s_lr, first);
      }
    });
  }
  return out;
}

std::string_view to_string(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::adam:
      return "adam";
    case OptimizerKind::sgd:
      return "sgd";
  }
  return "?";
}

std::string_view to_string(DecayMode mode) {
  switch (mode) {
    case DecayMode::none:
      return "none";
    case DecayMode::coupled:
      return "coupled";
    case DecayMode::decoupled:
      return "decoupled";
  }
  return "?";
}

std::string_view to_string(DecayScaling scaling) {
  switch (scaling) {
    case DecayScaling::lr:
      return "lr";
    case DecayScaling::schedule:
      return "schedule";
    case DecayScaling::lr_squared:
      return "lr_squared";
    case DecayScaling::adamc:
      return "adamc";
    case DecayScaling::adamc_all:
      return "adamc_all";
  }
  return "?";
}

std::string_view to_string(DecayScope scope) {
  switch (scope) {
    case DecayScope::selective:
      return "selective";
    case DecayScope::uniform:
      return "uniform";
  }
  return "?";
}

}  // namespace wdlab
