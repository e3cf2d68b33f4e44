#include "layers/gelu.h"

#include <cmath>
#include <numbers>

namespace wdlab {
namespace {

// sqrt(2/pi), and the cubic coefficient of the tanh approximation.
template <typename F>
constexpr F kSqrt2OverPi = std::numbers::sqrt2_v<F>* std::numbers::inv_sqrtpi_v<F>;
template <typename F>
constexpr F kCubic = F(0.044715);

}  // namespace

template <typename F>
void gelu_forward(F* out, const F* inp, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const F x = inp[i];
    const F u = kSqrt2OverPi<F> * (x + kCubic<F> * x * x * x);
    out[i] = F(0.5) * x * (F(1) + std::tanh(u));
  }
}

template <typename F>
void gelu_backward(F* dinp, const F* dout, const F* inp, size_t n) {
  // gelu'(x) = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) du/dx,
  // u = sqrt(2/pi) (x + 0.044715 x^3),  du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
  for (size_t i = 0; i < n; ++i) {
    const F x = inp[i];
    const F u = kSqrt2OverPi<F> * (x + kCubic<F> * x * x * x);
    const F th = std::tanh(u);
    const F du = kSqrt2OverPi<F> * (F(1) + F(3) * kCubic<F> * x * x);
    const F grad = F(0.5) * (F(1) + th) + F(0.5) * x * (F(1) - th * th) * du;
    dinp[i] += grad * dout[i];
  }
}

template void gelu_forward<float>(float*, const float*, size_t);
template void gelu_forward<double>(double*, const double*, size_t);
template void gelu_backward<float>(float*, const float*, const float*, size_t);
template void gelu_backward<double>(double*, const double*, const double*, size_t);

}  // namespace wdlab
