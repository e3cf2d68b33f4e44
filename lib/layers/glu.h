// Gated MLP activations on a fused [gate | up] tensor (one gemm produces both):
//   swiglu: out = silu(gate) * up          (LLaMA, PaLM, Mistral, Mixtral)
//   geglu:  out = gelu_tanh(gate) * up     (Grok-1; gelu_tanh as in gelu.h)
// silu(x) = x * sigmoid(x).
#pragma once

#include "layers/grad_write.h"

namespace wdlab {

enum class GluKind { swiglu, geglu };

// inp (N, 2*H): per row the H gate values, then the H up values; out (N, H).
template <typename F>
void glu_forward(F* out, const F* inp, int N, int H, GluKind kind);

// Accumulates dinp (N, 2*H) (overwrite: writes 0 + the gradient, grad_write.h).
template <typename F>
void glu_backward(F* dinp, const F* dout, const F* inp, int N, int H, GluKind kind,
                  GradWrite write = GradWrite::accumulate);

}  // namespace wdlab
