// Scalar activation functions shared by gelu.cpp, glu.cpp and moe.cpp, so that GELU, GeGLU and
// the MoE experts compute the same bits for the same input.
//
//   gelu(x) = 0.5 x (1 + tanh u),  u = sqrt(2/pi) (x + 0.044715 x^3)      (tanh approximation)
//           = x sigmoid(2u)        (0.5 (1 + tanh u) = sigmoid(2u)), computed in this form: it
//                                  needs one exp and no tanh, and has no cancellation
//   gelu'(x) = s + 2 x s (1 - s) du/dx,  s = sigmoid(2u),  du/dx = sqrt(2/pi) (1 + 3*0.044715 x^2)
//   silu(x) = x sigmoid(x),  silu'(x) = s (1 + x (1 - s))
//
// sigmoid(z) = 1 / (1 + exp(-z)) with exp_approx (core/fast_math.h), whose clamp keeps it
// finite for any z, so the loops have no branches and vectorise.
#pragma once

#include <numbers>

#include "core/fast_math.h"

namespace wdlab {

template <typename F>
inline F sigmoid(F z) {
  return F(1) / (F(1) + exp_approx(-z));
}

template <typename F>
inline F gelu_value(F x) {
  constexpr F c = std::numbers::sqrt2_v<F> * std::numbers::inv_sqrtpi_v<F>;  // sqrt(2/pi)
  const F u = c * (x + F(0.044715) * x * x * x);
  return x * sigmoid(F(2) * u);
}

template <typename F>
inline F gelu_grad(F x) {
  constexpr F c = std::numbers::sqrt2_v<F> * std::numbers::inv_sqrtpi_v<F>;
  const F u = c * (x + F(0.044715) * x * x * x);
  const F s = sigmoid(F(2) * u);
  const F du = c * (F(1) + F(3 * 0.044715) * x * x);
  return s + F(2) * x * s * (F(1) - s) * du;
}

// Both at once, sharing the exp (backward passes need the value too).
template <typename F>
inline void gelu_value_and_grad(F x, F& value, F& grad) {
  constexpr F c = std::numbers::sqrt2_v<F> * std::numbers::inv_sqrtpi_v<F>;
  const F u = c * (x + F(0.044715) * x * x * x);
  const F s = sigmoid(F(2) * u);
  const F du = c * (F(1) + F(3 * 0.044715) * x * x);
  value = x * s;
  grad = s + F(2) * x * s * (F(1) - s) * du;
}

template <typename F>
inline F silu_value(F x) {
  return x * sigmoid(x);
}

template <typename F>
inline F silu_grad(F x) {
  const F s = sigmoid(x);
  return s * (F(1) + x * (F(1) - s));
}

template <typename F>
inline void silu_value_and_grad(F x, F& value, F& grad) {
  const F s = sigmoid(x);
  value = x * s;
  grad = s * (F(1) + x * (F(1) - s));
}

}  // namespace wdlab
