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

void check_softcap_grad(const AttentionShape& s, const double* softcap_grad) {
  WD_CHECK(s.softcap == 0.0 || softcap_grad != nullptr,
           "attention: a soft-cap needs the softcap_grad buffer (B*NH*T*T doubles)");
}

// First position row i attends to.
int first_key(const AttentionShape& s, int i) {
  return s.window > 0 ? std::max(0, i - s.window) : 0;
}

// The largest of x[0..n), n >= 1: kLanes running maxima side by side, then the largest of them
// (the scalar loop is one chain of dependent max instructions). The order a maximum is taken in
// does not change it, except which zero a +0 / -0 tie returns, and the softmax only subtracts it:
// x - 0 and x - (-0) differ at most in the sign of a zero, whose exp_approx is the same 1. (A NaN
// score makes its row all NaN either way.)
template <typename F>
[[gnu::always_inline]] inline F row_max(const F* x, int n) {
  constexpr int kLanes = 16;
  F best = x[0];
  int j = 1;
  if (n >= 2 * kLanes) {
    F lane[kLanes];
    for (int l = 0; l < kLanes; ++l) lane[l] = x[l];
    for (j = kLanes; j + kLanes <= n; j += kLanes)
      for (int l = 0; l < kLanes; ++l) lane[l] = std::max(lane[l], x[j + l]);
    best = lane[0];
    for (int l = 1; l < kLanes; ++l) best = std::max(best, lane[l]);
  }
  for (; j < n; ++j) best = std::max(best, x[j]);
  return best;
}

// The softmax's in-order double sum is a chain of dependent additions per row (latency-bound at
// small T). Rows i0..i0+R-1 are summed side by side instead, each over the whole span of keys any
// of them sees: a row's masked entries are already exact zeros by then, and adding +0 leaves a
// sum that starts at +0 unchanged, so every row gets the bits of its own in-order sum.
// Inlined so that it is compiled for each of attention_forward's instruction sets (multiversion.h).
constexpr int kRows = 8;

template <int R, typename F>
[[gnu::always_inline]] inline void softmax_rows(F* p, double* cap_grad, int i0,
                                                const AttentionShape& s) {
  const int T = s.T;
  double sum[R] = {};
  for (int r = 0; r < R; ++r) {
    const int i = i0 + r, lo = first_key(s, i);
    F* row = p + static_cast<size_t>(i) * T;
    if (s.softcap > 0.0) {
      double* g = cap_grad + static_cast<size_t>(i) * T;
      for (int j = lo; j <= i; ++j) {
        const double t = std::tanh(row[j] / s.softcap);
        row[j] = static_cast<F>(s.softcap * t);
        g[j] = 1.0 - t * t;
      }
    }
    const F max = row_max(row + lo, i - lo + 1);
    // Separate loops: the exp pass vectorises, the in-order double sum would not let it.
    for (int j = lo; j <= i; ++j) row[j] = exp_approx(row[j] - max);
    std::fill(row, row + lo, F(0));
    std::fill(row + i + 1, row + T, F(0));
  }
  const int span_lo = first_key(s, i0), span_hi = i0 + R - 1;
  const F* rows = p + static_cast<size_t>(i0) * T;
  for (int j = span_lo; j <= span_hi; ++j)
    for (int r = 0; r < R; ++r) sum[r] += rows[static_cast<size_t>(r) * T + j];
  for (int r = 0; r < R; ++r) {
    const int i = i0 + r;
    F* row = p + static_cast<size_t>(i) * T;
    const F inv_sum = static_cast<F>(1.0 / sum[r]);
    for (int j = first_key(s, i); j <= i; ++j) row[j] *= inv_sum;
  }
}

// Softmax backward of rows i0..i0+R-1 of ds (dP in, dS out) given the probabilities p and, with
// the soft-cap, its derivative as forward kept it. The masked entries of dP are zeroed first, so
// the in-order double sums of P dP can run side by side over the span, as in softmax_rows: the
// masked terms are 0 * 0 = +0, which leave a sum that starts at +0 unchanged.
template <int R, typename F>
[[gnu::always_inline]] inline void softmax_backward_rows(F* ds, const F* p, const double* cap_grad,
                                                         int i0, const AttentionShape& s) {
  const int T = s.T;
  for (int r = 0; r < R; ++r) {
    const int i = i0 + r;
    F* row = ds + static_cast<size_t>(i) * T;
    std::fill(row, row + first_key(s, i), F(0));
    std::fill(row + i + 1, row + T, F(0));
  }
  double dot[R] = {};
  const int span_lo = first_key(s, i0), span_hi = i0 + R - 1;
  const F* p_rows = p + static_cast<size_t>(i0) * T;
  const F* ds_rows = ds + static_cast<size_t>(i0) * T;
  for (int j = span_lo; j <= span_hi; ++j) {
    for (int r = 0; r < R; ++r) {
      const size_t at = static_cast<size_t>(r) * T + j;
      dot[r] += static_cast<double>(p_rows[at]) * ds_rows[at];
    }
  }
  for (int r = 0; r < R; ++r) {
    const int i = i0 + r, lo = first_key(s, i);
    const F* p_row = p + static_cast<size_t>(i) * T;
    F* row = ds + static_cast<size_t>(i) * T;
    for (int j = lo; j <= i; ++j) row[j] = static_cast<F>(p_row[j] * (row[j] - dot[r]));
    if (s.softcap > 0.0) {
      const double* g = cap_grad + static_cast<size_t>(i) * T;
      for (int j = lo; j <= i; ++j) row[j] = static_cast<F>(row[j] * g[j]);
    }
  }
}

}  // namespace

// Layout reminder: qkv row (b,t) is [q (NH*HS) | k (NKV*HS) | v (NKV*HS)]. For one (b,h) the
// head's Q, K and V are (T,HS) matrices with row stride W = (NH+2NKV)*HS, and the head's slice of
// out / dout is a (T,HS) matrix with row stride NH*HS.

template <typename F>
WD_MULTIVERSION void attention_forward(F* out, F* att, const F* qkv, const AttentionShape& s,
                                       double* softcap_grad) {
  check_shape(s);
  check_softcap_grad(s, softcap_grad);
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
      double* cap_grad = s.softcap > 0.0 ? softcap_grad + (p - att) : nullptr;

      // Scores S (T,T) = scale * Q K^T. The masked part is computed too (one gemm is cheaper
      // than T small ones) and then overwritten by the masked softmax below.
      gemm(false, true, T, T, HS, scale, q, W, k, W, F(0), p, T);

      // Softmax of each row over its visible keys, max-subtracted, sum in double; kRows rows at
      // a time (softmax_rows).
      int i = 0;
      for (; i + kRows <= T; i += kRows) softmax_rows<kRows>(p, cap_grad, i, s);
      for (; i < T; ++i) softmax_rows<1>(p, cap_grad, i, s);

      // out_h (T,HS) = P (T,T) @ V (T,HS); the zeros of P keep it causal (and windowed).
      F* o = out + static_cast<size_t>(b) * T * OW + h * HS;
      gemm(false, false, T, HS, T, F(1), p, T, v, W, F(0), o, OW);
    }
  }
}

template <typename F>
WD_MULTIVERSION void attention_backward(F* dqkv, F* scratch, const F* dout, const F* qkv,
                                        const F* att, const AttentionShape& s,
                                        const double* softcap_grad) {
  check_shape(s);
  check_softcap_grad(s, softcap_grad);
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
      const double* cap_grad = s.softcap > 0.0 ? softcap_grad + (p - att) : nullptr;
      const F* dout_h = dout + static_cast<size_t>(b) * T * OW + h * HS;
      F* ds = scratch;  // (T,T): dP, then in place dS

      // dV (T,HS) += P^T (T,T) @ dout_h (T,HS); heads sharing a KV head all add into it.
      gemm(true, false, T, HS, T, F(1), p, T, dout_h, OW, F(1), dv, W);
      // dP (T,T) = dout_h (T,HS) @ V^T (HS,T)
      gemm(false, true, T, T, HS, F(1), dout_h, OW, v, W, F(0), ds, T);

      // Softmax backward: dC_ij = P_ij (dP_ij - sum_k P_ik dP_ik) over the visible keys (masked
      // entries have P = 0 and get 0). With the soft-cap C = cap tanh(S / cap),
      // dS = dC (1 - tanh^2(S / cap)). kRows rows at a time (softmax_backward_rows).
      int i = 0;
      for (; i + kRows <= T; i += kRows) softmax_backward_rows<kRows>(ds, p, cap_grad, i, s);
      for (; i < T; ++i) softmax_backward_rows<1>(ds, p, cap_grad, i, s);

      // S = scale * Q K^T, so dQ (T,HS) += scale * dS (T,T) @ K (T,HS) and
      // dK (T,HS) += scale * dS^T (T,T) @ Q (T,HS).
      gemm(false, false, T, HS, T, scale, ds, T, k, W, F(1), dq, W);
      gemm(true, false, T, HS, T, scale, ds, T, q, W, F(1), dk, W);
    }
  }
}

template void attention_forward<float>(float*, float*, const float*, const AttentionShape&,
                                       double*);
template void attention_forward<double>(double*, double*, const double*, const AttentionShape&,
                                        double*);
template void attention_backward<float>(float*, float*, const float*, const float*, const float*,
                                        const AttentionShape&, const double*);
template void attention_backward<double>(double*, double*, const double*, const double*,
                                         const double*, const AttentionShape&, const double*);

}  // namespace wdlab
