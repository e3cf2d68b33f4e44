#include "layers/rmsnorm.h"
#include "core/multiversion.h"

#include <cmath>
#include <cstddef>

namespace wdlab {

namespace {

// The per-row sums run in double and in column order: chains of dependent additions, latency-bound
// at small widths. kRows rows go side by side instead; each row still adds its own terms in the
// same order (the same bits as one row at a time), but the chains of different rows overlap.
constexpr int kRows = 8;

// Forward of R consecutive rows (x, o: R rows of C).
template <int R, typename F>
inline void forward_rows(F* o, F* rstd, const F* x, const F* weight, int C, F eps) {
  double sq[R] = {};
  for (int c = 0; c < C; ++c) {
    for (int r = 0; r < R; ++r) {
      const F v = x[static_cast<size_t>(r) * C + c];
      sq[r] += static_cast<double>(v) * v;
    }
  }
  for (int r = 0; r < R; ++r) {
    const F* xr = x + static_cast<size_t>(r) * C;
    F* orow = o + static_cast<size_t>(r) * C;
    const double rs = 1.0 / std::sqrt(sq[r] / C + static_cast<double>(eps));
    for (int c = 0; c < C; ++c) orow[c] = static_cast<F>(xr[c] * rs * weight[c]);
    rstd[r] = static_cast<F>(rs);
  }
}

// Input gradient of R consecutive rows (x, d, dx: R rows of C).
template <int R, typename F>
inline void backward_rows(F* dx, const F* d, const F* x, const F* weight, const F* rstd, int C) {
  double sum_dnorm_norm[R] = {};
  for (int c = 0; c < C; ++c) {
    for (int r = 0; r < R; ++r) {
      const size_t i = static_cast<size_t>(r) * C + c;
      sum_dnorm_norm[r] +=
          static_cast<double>(weight[c]) * d[i] * x[i] * static_cast<double>(rstd[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    const F* xr = x + static_cast<size_t>(r) * C;
    const F* dr = d + static_cast<size_t>(r) * C;
    F* dxr = dx + static_cast<size_t>(r) * C;
    const double rs = rstd[r];
    const double mean_dnorm_norm = sum_dnorm_norm[r] / C;
    for (int c = 0; c < C; ++c) {
      const double norm = xr[c] * rs;
      const double dnorm = static_cast<double>(weight[c]) * dr[c];
      dxr[c] += static_cast<F>(rs * (dnorm - norm * mean_dnorm_norm));
    }
  }
}

}  // namespace

template <typename F>
WD_MULTIVERSION void rmsnorm_forward(F* out, F* rstd, const F* inp, const F* weight, int N, int C,
                                     F eps) {
  int n = 0;
  for (; n + kRows <= N; n += kRows) {
    const size_t at = static_cast<size_t>(n) * C;
    forward_rows<kRows>(out + at, rstd + n, inp + at, weight, C, eps);
  }
  for (; n < N; ++n) {
    const size_t at = static_cast<size_t>(n) * C;
    forward_rows<1>(out + at, rstd + n, inp + at, weight, C, eps);
  }
}

template <typename F>
WD_MULTIVERSION void rmsnorm_backward(F* dinp, F* dweight, const F* dout, const F* inp,
                                      const F* weight, const F* rstd, int N, int C) {
  // With norm = x * rstd, rstd = (mean(x^2) + eps)^(-1/2) and dnorm = weight * dout, per row:
  //   dinp = rstd * (dnorm - norm * mean_c(dnorm * norm))
  // (the second term is the gradient flowing through rstd; unlike LayerNorm there is no mean).
  int n = 0;
  for (; n + kRows <= N; n += kRows) {
    const size_t at = static_cast<size_t>(n) * C;
    backward_rows<kRows>(dinp + at, dout + at, inp + at, weight, rstd + n, C);
  }
  for (; n < N; ++n) {
    const size_t at = static_cast<size_t>(n) * C;
    backward_rows<1>(dinp + at, dout + at, inp + at, weight, rstd + n, C);
  }

  // dweight (C) += sum_n dout * norm: column sums over the N rows in double, in column blocks so
  // the accumulators live on the stack (no allocation) while rows are still read contiguously.
  constexpr int kBlock = 64;
  for (int c0 = 0; c0 < C; c0 += kBlock) {
    const int width = C - c0 < kBlock ? C - c0 : kBlock;
    double acc[kBlock] = {};
    for (int n = 0; n < N; ++n) {
      const F* x = inp + static_cast<size_t>(n) * C + c0;
      const F* d = dout + static_cast<size_t>(n) * C + c0;
      const double rs = rstd[n];
      for (int c = 0; c < width; ++c) acc[c] += x[c] * rs * d[c];
    }
    for (int c = 0; c < width; ++c) dweight[c0 + c] += static_cast<F>(acc[c]);
  }
}

template void rmsnorm_forward<float>(float*, float*, const float*, const float*, int, int, float);
template void rmsnorm_forward<double>(double*, double*, const double*, const double*, int, int,
                                      double);
template void rmsnorm_backward<float>(float*, float*, const float*, const float*, const float*,
                                      const float*, int, int);
template void rmsnorm_backward<double>(double*, double*, const double*, const double*,
                                       const double*, const double*, int, int);

}  // namespace wdlab
