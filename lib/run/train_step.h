// One training step: the only place its order is written down. The trainer runs it, and so does
// the PyTorch parity test, so the parity fixtures check the order as well as the model and the
// optimizer. For update t = 1, 2, ...:
//
//   lr_t  = schedule.at(t - 1)                the schedule counts from 0 (min_lr at t = steps)
//   loss  = forward(batch); zero_grad; backward
//   ‖g‖   = clip_grad_norm(g, grad_clip)      the loss gradient alone: coupled λ·w is added later,
//                                             inside the optimizer, as torch.optim.Adam does
//   diverged (loss or ‖g‖ not finite, or loss > 3 × the first step's)  ->  no update
//   optimizer.step(w, g, lr_t, lr_peak)       decoupled: w -= s_t·λ·w with the update
//   decay budget += s_t·λ                      decoupled decay only (adamc: also Σ lr_t·λ of
//                                              the decayed tensors that keep lr_t scaling)
//
// All of it with subnormals flushed to zero (core/subnormals.h), as the trainer's evaluations.
//
//   TrainStep step(model, optimizer, schedule, grad_clip);
//   StepResult r = step.run(t, tokens, targets, B, T, &dropout_rng);
#pragma once

#include <functional>
#include <vector>

#include "core/param_table.h"
#include "model/transformer.h"
#include "optim/lr_schedule.h"
#include "optim/optimizer.h"

namespace wdlab {

// Per parameter kind (ParamKind), what a measured step saw. Kinds the model lacks stay 0.
struct KindStats {
  static constexpr size_t kKinds = kParamKinds;
  double norm[kKinds] = {};        // ‖w‖ after the update
  double grad_norm[kKinds] = {};   // ‖g‖ of the loss gradient, before clipping
  double update_rel[kKinds] = {};  // ‖Δw‖ / ‖w before the update‖ of this step
  bool present[kKinds] = {};       // the model has tensors of this kind
};

// Per tensor (in table order), what a measured step did to it. With u the optimizer's direction
// for the step (w_after = w_before - d·w_before - lr_t·u, d the tensor's decoupled shrink s_t·λ,
// 0 when it does not decay or decay is coupled): for Adam u = m̂ / (√v̂ + ε), with coupled L2
// inside it.
struct TensorUpdate {
  double update_rel = 0.0;  // ‖Δw‖ / ‖w before‖, the full step, decay included
  double update_rms = 0.0;  // ‖u‖ / √numel: the direction's size per coordinate, in units of lr_t
  double update_cos = 0.0;  // ⟨w before, u⟩ / (‖w‖ ‖u‖): > 0 when the step shrinks ‖w‖
};

struct StepResult {
  double lr = 0.0;            // lr_t
  ModelLoss loss;             // of the batch, before the update
  double grad_norm = 0.0;     // ‖g‖ before clipping
  bool diverged = false;      // no update was made
  double decay_step = 0.0;    // decoupled: s_t·λ; otherwise 0
  double decay_budget = 0.0;  // decoupled: Σ s_t·λ up to and including this step
  // adamc with decayed tensors outside the normalized set: their lr_t·λ and Σ lr_t·λ; else 0.
  double decay_step_lr = 0.0;
  double decay_budget_lr = 0.0;
  bool measured = false;  // kinds holds this step's per-kind statistics
  KindStats kinds;
  std::vector<TensorUpdate> tensors;  // measured steps only, in table order
};

class TrainStep {
 public:
  // A run is called diverged when its loss is not finite or climbs past this multiple of the
  // first step's loss (about ln V at initialisation): no schedule recovers from that.
  static constexpr double kDivergedLossFactor = 3.0;

  TrainStep(Transformer<float>& model, Optimizer& optimizer, const LrSchedule& schedule,
            double grad_clip);

  // Called with the clipped loss gradient just before the optimizer (tests look, or intervene).
  using GradientHook = std::function<void(int t, std::vector<float>& grads)>;
  void set_gradient_hook(GradientHook hook) { hook_ = std::move(hook); }

  // Update t (from 1) on one batch; dropout_rng == nullptr: no dropout. measure: also fill
  // StepResult::kinds (costs a copy of the weights; meant for logged steps).
  StepResult run(int t, const int* tokens, const int* targets, int B, int T, Rng* dropout_rng,
                 bool measure = false);

  // Σ s_t·λ so far (decoupled decay; 0 otherwise).
  double decay_budget() const { return decay_budget_; }
  // adamc: Σ lr_t·λ so far of the decayed tensors outside the normalized set (0 otherwise).
  double decay_budget_lr() const { return decay_budget_lr_; }
  // What later steps depend on besides the model and optimizer (checkpoints).
  struct State {
    double first_loss = 0.0;  // the divergence test's reference
    double decay_budget = 0.0;
    double decay_budget_lr = 0.0;
  };
  State state() const { return {first_loss_, decay_budget_, decay_budget_lr_}; }
  void restore(const State& s) {
    first_loss_ = s.first_loss, decay_budget_ = s.decay_budget;
    decay_budget_lr_ = s.decay_budget_lr;
  }
  // ‖w‖ per kind of the current weights (the `norm` part of KindStats).
  KindStats norms() const;

 private:
  // Per tensor: the measured step's TensorUpdate, from before_ and the updated weights.
  std::vector<TensorUpdate> tensor_updates(const StepDecay& decay, double lr) const;

  Transformer<float>& model_;
  Optimizer& optimizer_;
  const LrSchedule& schedule_;
  double grad_clip_;
  GradientHook hook_;
  double first_loss_ = 0.0;
  double decay_budget_ = 0.0;
  double decay_budget_lr_ = 0.0;
  std::vector<float> before_;  // weights before a measured update
};

}  // namespace wdlab
