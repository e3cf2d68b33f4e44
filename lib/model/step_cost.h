// Analytic cost of one training step of Transformer<float>, from the ModelConfig alone (the
// engine's buffers are private, and the point is a yardstick that does not move when the engine
// does). Notation: B batch, T window, N = B*T tokens, C d_model, L layers, NH query heads, NKV
// key/value heads, HS head size, QW = (NH + 2 NKV) HS fused QKV width, OW = NH HS, H MLP (expert)
// hidden width, FW = 2H for gated units (fused [gate; up]) else H, V vocab, E experts, K top-k.
//
// The benchmark compares measured time and RSS with these formulas; `wdlab run` estimates a
// run's memory from them before allocating anything (run/memory_estimate.h).
//
// FLOPs (matrix products only; 2 FLOPs per multiply-add). Forward, per layer:
//   QKV projection      2 N C QW
//   scores Q K^T        2 B NH T T HS     full T x T per head, as the engine computes it (the
//   P V                 2 B NH T T HS     causal mask is applied after the product)
//   output projection   2 N OW C
//   dense MLP           2 N C FW + 2 N H C
//   MoE                 router 2 N C E + routed experts 2 N K (C FW + H C)
// plus the LM head 2 N C V. The backward pass computes, for every product, one product for the
// input gradient and one for the weight gradient (attention: dV, dP, dQ, dK: four products of
// the same size as the forward's two), so a step is 3 x the forward FLOPs. Element-wise work
// (norms, softmax, activations, cross-entropy, the optimizer) is not counted: GFLOP/s is matmul
// FLOPs / step time, comparable with the sgemm peak.
//
// Memory (bytes, fp32):
//   state        16 P: parameters, gradients, Adam m and v (P = parameter count)
//   activations  4 x (what a straightforward implementation keeps from forward for backward,
//                plus backward's working set). Per layer:
//                  norm1 out N C + stats 2N, QKV N QW, attention probabilities B NH T T (full
//                  T x T, as the engine keeps them), attention output N OW, residual after
//                  attention N C, norm2 out N C + 2N, block output N C, and
//                  dense: MLP pre-activation N FW + activation N H;
//                  MoE: router logits + probabilities 2 N E, routing 3 N K, gathered inputs
//                  N K C, [gate; up] N K FW, activation N K H, expert outputs N K C.
//                Top: embedding output N C, final norm N C + 2N, probabilities N V.
//                Backward working set (one layer at a time): logit gradient N V, two residual-
//                stream gradients 2 N C, the widest sublayer gradient N max(QW, FW) (MoE:
//                N K (C + FW + H)), and the attention score gradient B NH T T.
//   The ratio peak RSS / (state + activations) is what the "<= 1.3x" reads; the rest
//   of RSS is the process itself (libraries, OpenBLAS buffers, allocator slack) and any buffer
//   the engine keeps beyond this list (with several threads: each extra worker's gradient arena).
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "model/model_config.h"

namespace wdlab {

struct StepFlops {
  double qkv = 0, attention = 0, out_proj = 0, ffn = 0, router = 0, head = 0;
  double forward() const { return qkv + attention + out_proj + ffn + router + head; }
  double step() const { return 3.0 * forward(); }
  nlohmann::json to_json() const;
};

struct StepMemory {
  double params = 0;            // parameter count P
  double state_bytes = 0;       // 16 P
  double activation_bytes = 0;  // forward activations kept for backward
  double backward_bytes = 0;    // backward working set
  double attention_bytes = 0;   // of activation_bytes: the B NH T T probability tensors (and
                                //   with a soft-cap their derivative, in double)
  double total() const { return state_bytes + activation_bytes + backward_bytes; }
  nlohmann::json to_json() const;
};

// The model's parameter count from the config alone, as make_param_layout would count it
// (tested against it for every preset), without building the table: cheap and overflow-free
// for any config, however large.
double parameter_count(const ModelConfig& c);

StepFlops step_flops(const ModelConfig& c, int B, int T);
// params: the model's real parameter count (table().total()).
StepMemory step_memory(const ModelConfig& c, int B, int T, int64_t params);

}  // namespace wdlab
