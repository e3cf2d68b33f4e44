#include "layers/glu.h"

#include <cmath>
#include <cstddef>
#include <numbers>

namespace wdlab {
namespace {

// The tanh GELU exactly as gelu.cpp computes it (same constants, same operation order), so
// geglu's activation is bit for bit gelu_forward's.
template <typename F>
constexpr F kSqrt2OverPi = std::numbers::sqrt2_v<F>* std::numbers::inv_sqrtpi_v<F>;
template <typename F>
constexpr F kCubic = F(0.044715);

// sigmoid without overflow: exp is only ever taken of a non-positive number.
template <typename F>
F sigmoid(F x) {
  if (x >= F(0)) return F(1) / (F(1) + std::exp(-x));
  const F e = std::exp(x);
  return e / (F(1) + e);
}

// act(g) and act'(g) for one gate value.
template <typename F>
void activation(F g, GluKind kind, F& act, F& dact) {
  if (kind == GluKind::swiglu) {
    // silu(g) = g sigmoid(g); silu'(g) = sigmoid(g) (1 + g (1 - sigmoid(g))).
    const F sg = sigmoid(g);
    act = g * sg;
    dact = sg * (F(1) + g * (F(1) - sg));
  } else {
    // gelu(g) = 0.5 g (1 + tanh u), u = sqrt(2/pi) (g + 0.044715 g^3);
    // gelu'(g) = 0.5 (1 + tanh u) + 0.5 g (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 g^2).
    const F u = kSqrt2OverPi<F> * (g + kCubic<F> * g * g * g);
    const F th = std::tanh(u);
    act = F(0.5) * g * (F(1) + th);
    const F du = kSqrt2OverPi<F> * (F(1) + F(3) * kCubic<F> * g * g);
    dact = F(0.5) * (F(1) + th) + F(0.5) * g * (F(1) - th * th) * du;
  }
}

}  // namespace

template <typename F>
void glu_forward(F* out, const F* inp, int N, int H, GluKind kind) {
  for (int n = 0; n < N; ++n) {
    const F* gate = inp + static_cast<size_t>(n) * 2 * H;
    const F* up = gate + H;
    F* o = out + static_cast<size_t>(n) * H;
    for (int j = 0; j < H; ++j) {
      F act, dact;
      activation(gate[j], kind, act, dact);
      o[j] = act * up[j];
    }
  }
}

template <typename F>
void glu_backward(F* dinp, const F* dout, const F* inp, int N, int H, GluKind kind) {
  // out = act(gate) * up: dgate += act'(gate) * up * dout, dup += act(gate) * dout.
  for (int n = 0; n < N; ++n) {
    const F* gate = inp + static_cast<size_t>(n) * 2 * H;
    const F* up = gate + H;
    const F* d = dout + static_cast<size_t>(n) * H;
    F* dgate = dinp + static_cast<size_t>(n) * 2 * H;
    F* dup = dgate + H;
    for (int j = 0; j < H; ++j) {
      F act, dact;
      activation(gate[j], kind, act, dact);
      dgate[j] += dact * up[j] * d[j];
      dup[j] += act * d[j];
    }
  }
}

template void glu_forward<float>(float*, const float*, int, int, GluKind);
template void glu_forward<double>(double*, const double*, int, int, GluKind);
template void glu_backward<float>(float*, const float*, const float*, int, int, GluKind);
template void glu_backward<double>(double*, const double*, const double*, int, int, GluKind);

}  // namespace wdlab
