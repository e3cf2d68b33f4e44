// RMSNorm over the last dimension (LLaMA, Grok-1, Mistral): out = x * rstd * weight with
// rstd = 1 / sqrt(mean(x^2) + eps). The gain is used directly (no "1 +" offset), no bias.
#pragma once

namespace wdlab {

// inp, out (N,C); weight (C); caches rstd (N) for backward.
template <typename F>
void rmsnorm_forward(F* out, F* rstd, const F* inp, const F* weight, int N, int C, F eps);

// Accumulates dinp (N,C) and dweight (C).
template <typename F>
void rmsnorm_backward(F* dinp, F* dweight, const F* dout, const F* inp, const F* weight,
                      const F* rstd, int N, int C);

}  // namespace wdlab
