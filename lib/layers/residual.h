// Residual add: the element-wise glue between blocks (dropout: dropout.h).
#pragma once

#include <cstddef>

namespace wdlab {

// out = a + b
template <typename F>
void residual_forward(F* out, const F* a, const F* b, size_t n);

// da += dout; db += dout
template <typename F>
void residual_backward(F* da, F* db, const F* dout, size_t n);

}  // namespace wdlab
