#include "layers/attention.h"
#include "core/multiversion.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "core/error.h"
#include "core/fast_math.h"
#include "core/gemm.h"

namespace wdlab {
namespace {

void check_shape(const AttentionShape& s) {
  WD_CHECK(s.NH > 0 && s.NKV > 0 && s.NH % s.NKV == 0,
           "attention: n_kv_head = {} must divide n_head = {}", s.NKV, s.NH);
  WD_CHECK(s.HS > 0 && s.window >= 0 && s.softcap >= 0.0, "attention: bad shape");
}

// First position row i attends to.
int first_key(const AttentionShape& s, int i) {
  return s.window > 0 ? std::max(0, i - s.window) : 0;
}

}  // namespace

// Layout reminder: qkv row (b,t) is [q (NH*HS) | k (NKV*HS) | v (NKV*HS)]. For one (b,h) the
// head's Q, K and V are (T,HS) matrices with row stride W = (NH+2NKV)*HS, and the head's slice of
// out / dout is a (T,HS) matrix with row stride NH*HS.

template <typename F>
WD_MULTIVERSION
void attention_forward(F* out, F* att, const F* qkv, const AttentionShape& s) {
  check_shape(s);
  const int T = s.T, HS = s.HS, W = s.qkv_width(), OW = s.out_width();
  const int group = s.NH / s.NKV;
  const F scale = static_cast<F>(1.0 / std::sqrt(static_cast<double>(HS)));
  for (int b = 0; b < s.B; ++b) {
    const F* base = qkv + static_cast<size_t>(b) * T * W;
    for (int h = 0; h < s.NH; ++h) {
      const int kvh = h / group;
      const F* q = base + h * HS;
      const F* k = base + (s.NH + kvh) * HS;
      const F* v = base + (s.NH + s.NKV + kvh) * HS;
      F* p = att + (static_cast<size_t>(b) * s.NH + h) * T * T;

      // Scores S (T,T) = scale * Q K^T. The masked part is computed too (one gemm is cheaper
      // than T small ones) and then overwritten by the masked softmax below.
      gemm(false, true, T, T, HS, scale, q, W, k, W, F(0), p, T);

      // Softmax of each row over its visible keys, max-subtracted, sum in double.
      for (int i = 0; i < T; ++i) {
        F* row = p + static_cast<size_t>(i) * T;
        const int lo = first_key(s, i);
        if (s.softcap > 0.0) {
          for (int j = lo; j <= i; ++j)
            row[j] = static_cast<F>(s.softcap * std::tanh(row[j] / s.softcap));
        }
        F max = row[lo];
        for (int j = lo + 1; j <= i; ++j) max = std::max(max, row[j]);
        // Separate loops: the exp pass vectorises, the in-order double sum would not let it.
        for (int j = lo; j <= i; ++j) row[j] = exp_approx(row[j] - max);
        double sum = 0.0;
        for (int j = lo; j <= i; ++j) sum += row[j];
        const F inv_sum = static_cast<F>(1.0 / sum);
        for (int j = lo; j <= i; ++j) row[j] *= inv_sum;
        std::fill(row, row + lo, F(0));
        std::fill(row + i + 1, row + T, F(0));
      }

      // out_h (T,HS) = P (T,T) @ V (T,HS); the zeros of P keep it causal (and windowed).
      F* o = out + static_cast<size_t>(b) * T * OW + h * HS;
      gemm(false, false, T, HS, T, F(1), p, T, v, W, F(0), o, OW);
    }
  }
}

template <typename F>
WD_MULTIVERSION
void attention_backward(F* dqkv, F* scratch, const F* dout, const F* qkv, const F* att,
                        const AttentionShape& s) {
  check_shape(s);
  const int T = s.T, HS = s.HS, W = s.qkv_width(), OW = s.out_width();
  const int group = s.NH / s.NKV;
  const F scale = static_cast<F>(1.0 / std::sqrt(static_cast<double>(HS)));
  for (int b = 0; b < s.B; ++b) {
    const size_t off = static_cast<size_t>(b) * T * W;
    for (int h = 0; h < s.NH; ++h) {
      const int kvh = h / group;
      const F* q = qkv + off + h * HS;
      const F* k = qkv + off + (s.NH + kvh) * HS;
      const F* v = qkv + off + (s.NH + s.NKV + kvh) * HS;
      F* dq = dqkv + off + h * HS;
      F* dk = dqkv + off + (s.NH + kvh) * HS;
      F* dv = dqkv + off + (s.NH + s.NKV + kvh) * HS;
      const F* p = att + (static_cast<size_t>(b) * s.NH + h) * T * T;
      const F* dout_h = dout + static_cast<size_t>(b) * T * OW + h * HS;
      F* ds = scratch;                                // (T,T): dP, then in place dS
      F* raw = scratch + static_cast<size_t>(T) * T;  // (T,T): uncapped scores (soft-cap only)

      // dV (T,HS) += P^T (T,T) @ dout_h (T,HS); heads sharing a KV head all add into it.
      gemm(true, false, T, HS, T, F(1), p, T, dout_h, OW, F(1), dv, W);
      // dP (T,T) = dout_h (T,HS) @ V^T (HS,T)
      gemm(false, true, T, T, HS, F(1), dout_h, OW, v, W, F(0), ds, T);
      // The soft-cap's derivative needs the raw scores, which forward did not keep.
      if (s.softcap > 0.0) gemm(false, true, T, T, HS, scale, q, W, k, W, F(0), raw, T);

      // Softmax backward, row by row: dC_ij = P_ij (dP_ij - sum_k P_ik dP_ik) over the visible
      // keys (masked entries have P = 0 and get 0). With the soft-cap C = cap tanh(S / cap),
      // dS = dC (1 - tanh^2(S / cap)).
      for (int i = 0; i < T; ++i) {
        const F* p_row = p + static_cast<size_t>(i) * T;
        F* row = ds + static_cast<size_t>(i) * T;
        const int lo = first_key(s, i);
        double dot = 0.0;
        for (int j = lo; j <= i; ++j) dot += static_cast<double>(p_row[j]) * row[j];
        for (int j = lo; j <= i; ++j) row[j] = static_cast<F>(p_row[j] * (row[j] - dot));
        if (s.softcap > 0.0) {
          const F* raw_row = raw + static_cast<size_t>(i) * T;
          for (int j = lo; j <= i; ++j) {
            const double t = std::tanh(raw_row[j] / s.softcap);
            row[j] = static_cast<F>(row[j] * (1.0 - t * t));
          }
        }
        std::fill(row, row + lo, F(0));
        std::fill(row + i + 1, row + T, F(0));
      }

      // S = scale * Q K^T, so dQ (T,HS) += scale * dS (T,T) @ K (T,HS) and
      // dK (T,HS) += scale * dS^T (T,T) @ Q (T,HS).
      gemm(false, false, T, HS, T, scale, ds, T, k, W, F(1), dq, W);
      gemm(true, false, T, HS, T, scale, ds, T, q, W, F(1), dk, W);
    }
  }
}

template void attention_forward<float>(float*, float*, const float*, const AttentionShape&);
template void attention_forward<double>(double*, double*, const double*, const AttentionShape&);
template void attention_backward<float>(float*, float*, const float*, const float*, const float*,
                                        const AttentionShape&);
template void attention_backward<double>(double*, double*, const double*, const double*,
                                         const double*, const AttentionShape&);

}  // namespace wdlab
