#include "layers/glu.h"
#include "core/multiversion.h"

#include <cstddef>

#include "layers/activations.h"

namespace wdlab {
namespace {

// One row: out = act(gate) * up, with the activation chosen outside the loop so it vectorises.
// Always inlined, so the row loops are compiled into each WD_MULTIVERSION clone of the callers
// (an out-of-line helper stays baseline x86-64: profiled at 11% of a LLaMA step).
template <typename F, F (*act)(F)>
[[gnu::always_inline]] inline void glu_row_forward(F* o, const F* gate, const F* up, int H) {
  for (int j = 0; j < H; ++j) o[j] = act(gate[j]) * up[j];
}

// dgate += act'(gate) * up * dout, dup += act(gate) * dout (or 0 + ..., grad_write.h).
template <typename F, void (*act)(F, F&, F&), GradWrite W>
[[gnu::always_inline]] inline void glu_row_backward(F* dgate, F* dup, const F* d, const F* gate,
                                                    const F* up, int H) {
  for (int j = 0; j < H; ++j) {
    F value, grad;
    act(gate[j], value, grad);
    dgate[j] = grad_add<W>(dgate[j], grad * up[j] * d[j]);
    dup[j] = grad_add<W>(dup[j], value * d[j]);
  }
}

template <typename F, GradWrite W>
[[gnu::always_inline]] inline void glu_rows_backward(F* dinp, const F* dout, const F* inp, int N,
                                                     int H, GluKind kind) {
  for (int n = 0; n < N; ++n) {
    const F* gate = inp + static_cast<size_t>(n) * 2 * H;
    const F* up = gate + H;
    const F* d = dout + static_cast<size_t>(n) * H;
    F* dgate = dinp + static_cast<size_t>(n) * 2 * H;
    F* dup = dgate + H;
    if (kind == GluKind::swiglu) {
      glu_row_backward<F, silu_value_and_grad<F>, W>(dgate, dup, d, gate, up, H);
    } else {
      glu_row_backward<F, gelu_value_and_grad<F>, W>(dgate, dup, d, gate, up, H);
    }
  }
}

}  // namespace

template <typename F>
WD_MULTIVERSION void glu_forward(F* out, const F* inp, int N, int H, GluKind kind) {
  for (int n = 0; n < N; ++n) {
    const F* gate = inp + static_cast<size_t>(n) * 2 * H;
    const F* up = gate + H;
    F* o = out + static_cast<size_t>(n) * H;
    if (kind == GluKind::swiglu) {
      glu_row_forward<F, silu_value<F>>(o, gate, up, H);
    } else {
      glu_row_forward<F, gelu_value<F>>(o, gate, up, H);
    }
  }
}

template <typename F>
WD_MULTIVERSION void glu_backward(F* dinp, const F* dout, const F* inp, int N, int H, GluKind kind,
                                  GradWrite write) {
  // out = act(gate) * up: dgate += act'(gate) * up * dout, dup += act(gate) * dout.
  if (write == GradWrite::overwrite) {
    glu_rows_backward<F, GradWrite::overwrite>(dinp, dout, inp, N, H, kind);
  } else {
    glu_rows_backward<F, GradWrite::accumulate>(dinp, dout, inp, N, H, kind);
  }
}

template void glu_forward<float>(float*, const float*, int, int, GluKind);
template void glu_forward<double>(double*, const double*, int, int, GluKind);
template void glu_backward<float>(float*, const float*, const float*, int, int, GluKind, GradWrite);
template void glu_backward<double>(double*, const double*, const double*, int, int, GluKind,
                                   GradWrite);

}  // namespace wdlab
