#include "layers/layernorm.h"
#include "core/multiversion.h"

#include <cmath>
#include <cstddef>

namespace wdlab {
namespace {

// The per-row sums below run in double and in column order, which makes each one a chain of
// dependent additions (latency-bound at small widths). kRows rows go side by side instead: every
// row still adds its own terms in the same order, so the bits are those of one row at a time,
// but the chains of different rows overlap.
constexpr int kRows = 8;

// Forward of R consecutive rows (x, o: R rows of C).
template <int R, typename F>
inline void forward_rows(F* o, F* mean, F* rstd, const F* x, const F* weight, const F* bias, int C,
                         F eps) {
  // Two passes in double: the mean, then the biased variance around it (no E[x^2] - mean^2
  // cancellation).
  double sum[R] = {}, sq[R] = {}, mu[R];
  for (int c = 0; c < C; ++c)
    for (int r = 0; r < R; ++r) sum[r] += x[static_cast<size_t>(r) * C + c];
  for (int r = 0; r < R; ++r) mu[r] = sum[r] / C;
  for (int c = 0; c < C; ++c) {
    for (int r = 0; r < R; ++r) {
      const double centered = x[static_cast<size_t>(r) * C + c] - mu[r];
      sq[r] += centered * centered;
    }
  }
  for (int r = 0; r < R; ++r) {
    const F* xr = x + static_cast<size_t>(r) * C;
    F* orow = o + static_cast<size_t>(r) * C;
    const double rs = 1.0 / std::sqrt(sq[r] / C + static_cast<double>(eps));
    for (int c = 0; c < C; ++c) {
      const double norm = (xr[c] - mu[r]) * rs;
      const double b = bias != nullptr ? static_cast<double>(bias[c]) : 0.0;
      orow[c] = static_cast<F>(norm * weight[c] + b);
    }
    mean[r] = static_cast<F>(mu[r]);
    rstd[r] = static_cast<F>(rs);
  }
}

// Input gradient of R consecutive rows (x, d, dx: R rows of C).
template <int R, typename F>
inline void backward_rows(F* dx, const F* d, const F* x, const F* weight, const F* mean,
                          const F* rstd, int C) {
  double sum_dnorm[R] = {}, sum_dnorm_norm[R] = {};
  for (int c = 0; c < C; ++c) {
    for (int r = 0; r < R; ++r) {
      const size_t i = static_cast<size_t>(r) * C + c;
      const double norm = (x[i] - static_cast<double>(mean[r])) * static_cast<double>(rstd[r]);
      const double dnorm = static_cast<double>(weight[c]) * d[i];
      sum_dnorm[r] += dnorm;
      sum_dnorm_norm[r] += dnorm * norm;
    }
  }
  for (int r = 0; r < R; ++r) {
    const F* xr = x + static_cast<size_t>(r) * C;
    const F* dr = d + static_cast<size_t>(r) * C;
    F* dxr = dx + static_cast<size_t>(r) * C;
    const double mu = mean[r], rs = rstd[r];
    const double mean_dnorm = sum_dnorm[r] / C, mean_dnorm_norm = sum_dnorm_norm[r] / C;
    for (int c = 0; c < C; ++c) {
      const double norm = (xr[c] - mu) * rs;
      const double dnorm = static_cast<double>(weight[c]) * dr[c];
      dxr[c] += static_cast<F>(rs * (dnorm - mean_dnorm - norm * mean_dnorm_norm));
    }
  }
}

}  // namespace

template <typename F>
WD_MULTIVERSION void layernorm_forward(F* out, F* mean, F* rstd, const F* inp, const F* weight,
                                       const F* bias, int N, int C, F eps) {
  int n = 0;
  for (; n + kRows <= N; n += kRows) {
    const size_t at = static_cast<size_t>(n) * C;
    forward_rows<kRows>(out + at, mean + n, rstd + n, inp + at, weight, bias, C, eps);
  }
  for (; n < N; ++n) {
    const size_t at = static_cast<size_t>(n) * C;
    forward_rows<1>(out + at, mean + n, rstd + n, inp + at, weight, bias, C, eps);
  }
}

template <typename F>
WD_MULTIVERSION void layernorm_backward(F* dinp, F* dweight, F* dbias, const F* dout, const F* inp,
                                        const F* weight, const F* mean, const F* rstd, int N,
                                        int C) {
  // With norm = (x - mean) * rstd and dnorm = weight * dout, per row:
  //   dinp = rstd * (dnorm - mean_c(dnorm) - norm * mean_c(dnorm * norm))
  // (the two mean terms are the gradient flowing through the row's mean and through its rstd).
  int n = 0;
  for (; n + kRows <= N; n += kRows) {
    const size_t at = static_cast<size_t>(n) * C;
    backward_rows<kRows>(dinp + at, dout + at, inp + at, weight, mean + n, rstd + n, C);
  }
  for (; n < N; ++n) {
    const size_t at = static_cast<size_t>(n) * C;
    backward_rows<1>(dinp + at, dout + at, inp + at, weight, mean + n, rstd + n, C);
  }

  // dweight (C) += sum_n dout * norm and dbias (C) += sum_n dout: column sums over the N rows,
  // accumulated in double. Columns go in blocks so the accumulators fit on the stack (no
  // allocation) while the rows are still read contiguously.
  constexpr int kBlock = 64;
  for (int c0 = 0; c0 < C; c0 += kBlock) {
    const int width = C - c0 < kBlock ? C - c0 : kBlock;
    double acc_w[kBlock] = {}, acc_b[kBlock] = {};
    for (int n = 0; n < N; ++n) {
      const F* x = inp + static_cast<size_t>(n) * C + c0;
      const F* d = dout + static_cast<size_t>(n) * C + c0;
      const double mu = mean[n], rs = rstd[n];
      for (int c = 0; c < width; ++c) {
        acc_w[c] += (x[c] - mu) * rs * d[c];
        acc_b[c] += d[c];
      }
    }
    for (int c = 0; c < width; ++c) {
      dweight[c0 + c] += static_cast<F>(acc_w[c]);
      if (dbias != nullptr) dbias[c0 + c] += static_cast<F>(acc_b[c]);
    }
  }
}

template void layernorm_forward<float>(float*, float*, float*, const float*, const float*,
                                       const float*, int, int, float);
template void layernorm_forward<double>(double*, double*, double*, const double*, const double*,
                                        const double*, int, int, double);
template void layernorm_backward<float>(float*, float*, float*, const float*, const float*,
                                        const float*, const float*, const float*, int, int);
template void layernorm_backward<double>(double*, double*, double*, const double*, const double*,
                                         const double*, const double*, const double*, int, int);

}  // namespace wdlab
