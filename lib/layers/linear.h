// Linear map, PyTorch layout: weight (OC, C), out = inp @ weight^T + bias.
#pragma once

namespace wdlab {

// out (N,OC) = inp (N,C) @ weight(OC,C)^T + bias (OC); bias may be null.
template <typename F>
void linear_forward(F* out, const F* inp, const F* weight, const F* bias, int N, int C, int OC);

// Accumulates dinp (N,C) += dout @ weight, dweight (OC,C) += dout^T @ inp, dbias (OC) += colsum.
// dinp may be null (nothing upstream needs it); dbias is null when there is no bias.
template <typename F>
void linear_backward(F* dinp, F* dweight, F* dbias, const F* dout, const F* inp, const F* weight,
                     int N, int C, int OC);

}  // namespace wdlab
