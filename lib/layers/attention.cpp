#include "layers/attention.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "core/error.h"
#include "core/gemm.h"

namespace wdlab {

// Layout reminder: qkv row (b,t) is [q (C) | k (C) | v (C)], and head h owns the HS channels
// starting at h*HS inside each third. So for one (b,h) the head's Q, K and V are (T,HS) matrices
// with row stride 3C, starting at qkv + b*T*3C + h*HS (+ C for K, + 2C for V), and the head's
// slice of out / dout is a (T,HS) matrix with row stride C.

template <typename F>
void attention_forward(F* out, F* att, const F* qkv, int B, int T, int C, int NH) {
  WD_CHECK(NH > 0 && C % NH == 0, "attention: C = {} is not divisible by NH = {}", C, NH);
  const int HS = C / NH, C3 = 3 * C;
  const F scale = static_cast<F>(1.0 / std::sqrt(static_cast<double>(HS)));
  for (int b = 0; b < B; ++b) {
    const F* q_b = qkv + static_cast<size_t>(b) * T * C3;
    for (int h = 0; h < NH; ++h) {
      const F* q = q_b + h * HS;
      const F* k = q + C;
      const F* v = q + 2 * C;
      F* p = att + (static_cast<size_t>(b) * NH + h) * T * T;

      // Scores S (T,T) = scale * Q K^T. The upper triangle is computed too (one gemm is
      // cheaper than T small ones) and then overwritten by the masked softmax below.
      gemm(false, true, T, T, HS, scale, q, C3, k, C3, F(0), p, T);

      // Causal softmax of each row over j <= i, max-subtracted, sum in double.
      for (int i = 0; i < T; ++i) {
        F* row = p + static_cast<size_t>(i) * T;
        F max = row[0];
        for (int j = 1; j <= i; ++j) max = std::max(max, row[j]);
        double sum = 0.0;
        for (int j = 0; j <= i; ++j) {
          const double e = std::exp(static_cast<double>(row[j]) - max);
          row[j] = static_cast<F>(e);
          sum += e;
        }
        const double inv_sum = 1.0 / sum;
        for (int j = 0; j <= i; ++j) row[j] = static_cast<F>(row[j] * inv_sum);
        for (int j = i + 1; j < T; ++j) row[j] = F(0);
      }

      // out_h (T,HS) = P (T,T) @ V (T,HS); the zero upper triangle of P keeps it causal.
      F* o = out + static_cast<size_t>(b) * T * C + h * HS;
      gemm(false, false, T, HS, T, F(1), p, T, v, C3, F(0), o, C);
    }
  }
}

template <typename F>
void attention_backward(F* dqkv, F* scratch, const F* dout, const F* qkv, const F* att, int B,
                        int T, int C, int NH) {
  WD_CHECK(NH > 0 && C % NH == 0, "attention: C = {} is not divisible by NH = {}", C, NH);
  const int HS = C / NH, C3 = 3 * C;
  const F scale = static_cast<F>(1.0 / std::sqrt(static_cast<double>(HS)));
  for (int b = 0; b < B; ++b) {
    const size_t qkv_off = static_cast<size_t>(b) * T * C3;
    for (int h = 0; h < NH; ++h) {
      const F* q = qkv + qkv_off + h * HS;
      const F* k = q + C;
      const F* v = q + 2 * C;
      F* dq = dqkv + qkv_off + h * HS;
      F* dk = dq + C;
      F* dv = dq + 2 * C;
      const F* p = att + (static_cast<size_t>(b) * NH + h) * T * T;
      const F* dout_h = dout + static_cast<size_t>(b) * T * C + h * HS;
      F* ds = scratch;  // (T,T): first dP, then, in place, dS

      // dV (T,HS) += P^T (T,T) @ dout_h (T,HS)
      gemm(true, false, T, HS, T, F(1), p, T, dout_h, C, F(1), dv, C3);
      // dP (T,T) = dout_h (T,HS) @ V^T (HS,T)
      gemm(false, true, T, T, HS, F(1), dout_h, C, v, C3, F(0), ds, T);

      // Softmax backward, row by row: dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik) for j <= i; the
      // masked entries (j > i) have P = 0 and so dS = 0.
      for (int i = 0; i < T; ++i) {
        const F* p_row = p + static_cast<size_t>(i) * T;
        F* row = ds + static_cast<size_t>(i) * T;
        double dot = 0.0;
        for (int j = 0; j <= i; ++j) dot += static_cast<double>(p_row[j]) * row[j];
        for (int j = 0; j <= i; ++j) row[j] = static_cast<F>(p_row[j] * (row[j] - dot));
        for (int j = i + 1; j < T; ++j) row[j] = F(0);
      }

      // S = scale * Q K^T, so dQ (T,HS) += scale * dS (T,T) @ K (T,HS) and
      // dK (T,HS) += scale * dS^T (T,T) @ Q (T,HS).
      gemm(false, false, T, HS, T, scale, ds, T, k, C3, F(1), dq, C3);
      gemm(true, false, T, HS, T, scale, ds, T, q, C3, F(1), dk, C3);
    }
  }
}

template void attention_forward<float>(float*, float*, const float*, int, int, int, int);
template void attention_forward<double>(double*, double*, const double*, int, int, int, int);
template void attention_backward<float>(float*, float*, const float*, const float*, const float*,
                                        int, int, int, int);
template void attention_backward<double>(double*, double*, const double*, const double*,
                                         const double*, int, int, int, int);

}  // namespace wdlab
