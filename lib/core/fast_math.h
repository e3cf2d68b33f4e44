// exp for the element-wise passes (softmax, GELU, SiLU), where libm's scalar expf/tanhf cost
// more than the matrix products at small widths. exp_approx(float) is branch-free (so loops
// over it vectorise) and within about 2 ulp of expf over its whole range; exp_approx(double) is
// std::exp, so the double-precision gradient checks keep exact references. No -ffast-math is
// involved: results are the same bits on every run.
#pragma once

#include <cmath>
#include <cstdint>
#include <bit>

namespace wdlab {

inline float exp_approx(float x) {
  // Clamp so that 2^n below stays a normal float: e^-87.3 ~ 1e-38, e^88.3 ~ 2e38.
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  // x = n ln2 + r, |r| <= ln2 / 2, with n rounded to nearest by the 1.5 * 2^23 trick.
  const float kShift = 12582912.0f;
  const float t = x * 1.44269504088896341f + kShift;
  const float n = t - kShift;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;  // ln2 = hi - lo, hi exact
  // e^r by its Taylor series to r^7: the remainder is below 6e-9 relative for |r| <= 0.347.
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^n from the exponent bits.
  // the integer n sits in t's low mantissa bits
  const int32_t bits = (std::bit_cast<int32_t>(t) - 0x4B400000 + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

inline double exp_approx(double x) { return std::exp(x); }

}  // namespace wdlab
