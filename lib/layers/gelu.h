// GELU, tanh approximation (GPT-2; torch.nn.GELU(approximate="tanh")):
// gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
#pragma once

#include <cstddef>

#include "layers/grad_write.h"

namespace wdlab {

template <typename F>
void gelu_forward(F* out, const F* inp, size_t n);

// Accumulates dinp += gelu'(inp) * dout (overwrite: dinp = 0 + gelu'(inp) * dout, grad_write.h).
template <typename F>
void gelu_backward(F* dinp, const F* dout, const F* inp, size_t n,
                   GradWrite write = GradWrite::accumulate);

}  // namespace wdlab
