// The optimizer under study: one Adam core (and SGD with momentum as a control) with three ways
// of applying weight decay. Formulas, with t the step (from 1), g the gradient, w the weight,
// lr_t the scheduled learning rate, lr_peak its peak, λ the weight decay:
//
//   none:       no decay.
//   coupled:    g <- g + λ w before the moments (torch.optim.Adam(weight_decay=λ); the gradient
//               of λ/2 ||w||^2). The decay then passes through m and v.
//   decoupled:  w <- w - s_t λ w outside the Adam step (torch.optim.AdamW), where decay_scaling
//               picks s_t:  lr -> lr_t (PyTorch, the default);  schedule -> lr_t / lr_peak
//               (Loshchilov & Hutter; "independent" decay);  lr_squared -> lr_t^2 (PaLM);
//               adamc -> lr_t^2 / lr_peak on the tensors adamc_scope.h calls normalized, lr_t on
//               the other decayed ones (AdamC: Defazio, "Why Gradients Rapidly Increase Near the
//               End of Training", 2025, arXiv:2506.02285);  adamc_all -> lr_t^2 / lr_peak on
//               every decayed tensor.
//
//   Why AdamC: a weight whose output is normalized is scale-invariant: its gradient is
//   orthogonal to w and scales as 1/||w||. With the Adam direction a (||a|| independent of lr),
//   decay balances growth when 2 s_t λ ||w||^2 = lr_t^2 ||a||^2. For s_t = lr_t that
//   equilibrium ||w||^2 = lr_t ||a||^2 / (2λ) shrinks as the schedule lowers lr_t, so ||g||
//   grows near the end of training; s_t = lr_t^2 / lr_peak holds it at the peak-lr value
//   lr_peak ||a||^2 / (2λ). At lr_peak both shrink by lr_peak·λ: the same λ, the same decay.
//
//   Adam:  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//          w <- w - lr_t * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)          (as PyTorch)
//   SGD:   buf = momentum * buf + g (buf = g at t = 1);  w <- w - lr_t * buf   (as torch.optim.SGD)
//
// Tensors outside the decay group (DecayPlan) get no decay in any mode: in coupled mode nothing
// is added to their gradient.
//
//   Optimizer opt(table, plan, options);
//   StepDecay d = opt.step(params, grads, lr_t, lr_peak);
//   opt.step(params, grads, lr_t, lr_peak, &pool);   // the arena split between the pool's workers
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/param_table.h"
#include "core/worker_pool.h"
#include "optim/param_groups.h"

namespace wdlab {

enum class OptimizerKind { adam, sgd };
enum class DecayMode { none, coupled, decoupled };
enum class DecayScaling { lr, schedule, lr_squared, adamc, adamc_all };

// No defaults of its own: the run config's schema (lib/run/config_optim.cpp, listed by
// `wdlab config --explain`) is the one place that states them, and checks the ranges for runs.
// Every field starts at zero (the first enumerator); set each one.
struct OptimizerOptions {
  OptimizerKind kind{};
  double beta1{};
  double beta2{};
  double eps{};
  double momentum{};  // SGD only
  double weight_decay{};
  DecayMode decay_mode{};
  DecayScaling decay_scaling{};
};

// What one step did about decay, for logging.
struct StepDecay {
  // decoupled: s_t * λ, the fraction every decayed weight shrinks by this step (adamc: the
  //            normalized tensors' lr_t^2 / lr_peak * λ).
  // coupled:   lr_t * λ, the shrink plain SGD would apply (Adam rescales it per coordinate).
  // none:      0.
  double per_step = 0.0;
  // adamc only, when some decayed tensor is not normalized: the lr_t * λ those shrink by;
  // otherwise 0.
  double per_step_lr = 0.0;
};

// The decoupled shrink s_t * λ for one step (0 unless decay_mode is decoupled). For adamc it is
// the normalized tensors' shrink; the others take lr_t * λ.
double decoupled_decay_step(const OptimizerOptions& options, double lr, double lr_peak);

// adamc or adamc_all.
bool is_adamc(DecayScaling scaling);

class Optimizer {
 public:
  Optimizer(const ParamTable& table, DecayPlan plan, OptimizerOptions options);

  // One update of every tensor in place. grads is read only (coupled decay is added on the fly).
  // With a pool, each worker updates its own contiguous slice of the arena: every element gets
  // the same arithmetic, so the result does not depend on the number of workers.
  StepDecay step(float* params, const float* grads, double lr, double lr_peak,
                 WorkerPool* pool = nullptr);

  int64_t steps_taken() const { return t_; }
  const DecayPlan& plan() const { return plan_; }
  // Per table row: the AdamC shrink lr_t^2 / lr_peak * λ applies to this tensor when it decays
  // (decay_scaling adamc: the normalized ones, adamc_all: all; other scalings: none).
  const std::vector<bool>& adamc_tensors() const { return adamc_; }
  // Some decayed tensor keeps lr_t * λ under adamc (StepDecay::per_step_lr is set).
  bool has_lr_scaled_decay() const { return lr_scaled_decay_; }
  const OptimizerOptions& options() const { return options_; }
  const std::vector<float>& first_moment() const { return m_; }   // Adam m / SGD momentum buffer
  const std::vector<float>& second_moment() const { return v_; }  // Adam v (empty for SGD)

  // Continues from a checkpoint: the step count (Adam's bias correction, SGD's first step) and
  // the moments, each of the arena's size (second empty for SGD).
  void restore(int64_t steps_taken, std::vector<float> first, std::vector<float> second);

 private:
  const ParamTable& table_;
  DecayPlan plan_;
  OptimizerOptions options_;
  std::vector<bool> adamc_;
  bool lr_scaled_decay_ = false;
  int64_t t_ = 0;
  std::vector<float> m_, v_;

  template <typename Fn>
  void for_each_slice(WorkerPool* pool, const Fn& f) const;
};

std::string_view to_string(OptimizerKind kind);
std::string_view to_string(DecayMode mode);
std::string_view to_string(DecayScaling scaling);
std::string_view to_string(DecayScope scope);

}  // namespace wdlab
