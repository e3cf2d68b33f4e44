#include "layers/rope.h"
#include "core/multiversion.h"

#include <cmath>
#include <cstddef>

#include "core/error.h"

namespace wdlab {

template <typename F>
void rope_table(F* cos, F* sin, int T, int HS, double theta) {
  WD_CHECK(HS > 0 && HS % 2 == 0, "rope: head size {} must be positive and even", HS);
  WD_CHECK(theta > 0.0, "rope: theta must be positive, got {}", theta);
  const int half = HS / 2;
  for (int i = 0; i < half; ++i) {
    // Pair i turns by theta^(-2i/HS) per position; the angle is formed and evaluated in double.
    const double inv_freq = std::pow(theta, -2.0 * i / HS);
    for (int t = 0; t < T; ++t) {
      const double angle = t * inv_freq;
      cos[static_cast<size_t>(t) * half + i] = static_cast<F>(std::cos(angle));
      sin[static_cast<size_t>(t) * half + i] = static_cast<F>(std::sin(angle));
    }
  }
}

namespace {

// Rotates every pair (2i, 2i+1) of the NH query and NKV key heads of each qkv row by its
// position's angle; sign = +1 is the forward rotation, -1 its transpose (the inverse).
template <typename F>
WD_MULTIVERSION void rotate(F* qkv, const F* cos, const F* sin, int B, int T, int NH, int NKV,
                            int HS, F sign) {
  WD_CHECK(HS > 0 && HS % 2 == 0, "rope: head size {} must be positive and even", HS);
  const int half = HS / 2, W = (NH + 2 * NKV) * HS;
  // Query and key heads are adjacent in each row: NH + NKV heads of HS from the row's start.
  const int rotated = (NH + NKV) * HS;
  for (int b = 0; b < B; ++b) {
    for (int t = 0; t < T; ++t) {
      F* row = qkv + (static_cast<size_t>(b) * T + t) * W;
      const F* c = cos + static_cast<size_t>(t) * half;
      const F* s = sin + static_cast<size_t>(t) * half;
      for (int h0 = 0; h0 < rotated; h0 += HS) {
        F* x = row + h0;
        for (int i = 0; i < half; ++i) {
          const F x0 = x[2 * i], x1 = x[2 * i + 1], si = sign * s[i];
          x[2 * i] = x0 * c[i] - x1 * si;
          x[2 * i + 1] = x0 * si + x1 * c[i];
        }
      }
    }
  }
}

}  // namespace

template <typename F>
void rope_forward(F* qkv, const F* cos, const F* sin, int B, int T, int NH, int NKV, int HS) {
  rotate(qkv, cos, sin, B, T, NH, NKV, HS, F(1));
}

template <typename F>
void rope_backward(F* dqkv, const F* cos, const F* sin, int B, int T, int NH, int NKV, int HS) {
  // y = R x with R orthogonal, so dx = R^T dy: the same rotation by the opposite angle.
  rotate(dqkv, cos, sin, B, T, NH, NKV, HS, F(-1));
}

template void rope_table<float>(float*, float*, int, int, double);
template void rope_table<double>(double*, double*, int, int, double);
template void rope_forward<float>(float*, const float*, const float*, int, int, int, int, int);
template void rope_forward<double>(double*, const double*, const double*, int, int, int, int, int);
template void rope_backward<float>(float*, const float*, const float*, int, int, int, int, int);
template void rope_backward<double>(double*, const double*, const double*, int, int, int, int, int);

}  // namespace wdlab
