#include "layers/gelu.h"
#include "core/multiversion.h"

#include "layers/activations.h"

namespace wdlab {

template <typename F>
WD_MULTIVERSION void gelu_forward(F* out, const F* inp, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = gelu_value(inp[i]);
}

namespace {

// dinp += gelu'(inp) * dout (or 0 + ..., grad_write.h). Inlined into each instruction set's clone.
template <typename F, GradWrite W>
[[gnu::always_inline]] inline void gelu_backward_loop(F* dinp, const F* dout, const F* inp,
                                                      size_t n) {
  for (size_t i = 0; i < n; ++i) dinp[i] = grad_add<W>(dinp[i], gelu_grad(inp[i]) * dout[i]);
}

}  // namespace

template <typename F>
WD_MULTIVERSION void gelu_backward(F* dinp, const F* dout, const F* inp, size_t n,
                                   GradWrite write) {
  if (write == GradWrite::overwrite) {
    gelu_backward_loop<F, GradWrite::overwrite>(dinp, dout, inp, n);
  } else {
    gelu_backward_loop<F, GradWrite::accumulate>(dinp, dout, inp, n);
  }
}

template void gelu_forward<float>(float*, const float*, size_t);
template void gelu_forward<double>(double*, const double*, size_t);
template void gelu_backward<float>(float*, const float*, const float*, size_t, GradWrite);
template void gelu_backward<double>(double*, const double*, const double*, size_t, GradWrite);

}  // namespace wdlab
