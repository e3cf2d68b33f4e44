// LayerNorm over the last dimension: out = (x - mean) * rstd * weight + bias, rstd = 1/sqrt(var +
// eps) with the biased variance, as torch.nn.LayerNorm.
#pragma once

namespace wdlab {

// inp, out (N,C); weight, bias (C) (bias may be null); caches mean (N) and rstd (N) for backward.
template <typename F>
void layernorm_forward(F* out, F* mean, F* rstd, const F* inp, const F* weight, const F* bias,
                       int N, int C, F eps);

// Accumulates dinp (N,C), dweight (C), dbias (C) (dbias may be null).
template <typename F>
void layernorm_backward(F* dinp, F* dweight, F* dbias, const F* dout, const F* inp, const F* weight,
                        const F* mean, const F* rstd, int N, int C);

}  // namespace wdlab
