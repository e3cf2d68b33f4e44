#include "layers/rmsnorm.h"
#include "core/multiversion.h"

#include <cmath>
#include <cstddef>

namespace wdlab {

template <typename F>
WD_MULTIVERSION
void rmsnorm_forward(F* out, F* rstd, const F* inp, const F* weight, int N, int C, F eps) {
  for (int n = 0; n < N; ++n) {
    const F* x = inp + static_cast<size_t>(n) * C;
    F* o = out + static_cast<size_t>(n) * C;
    double sq = 0.0;
    for (int c = 0; c < C; ++c) sq += static_cast<double>(x[c]) * x[c];
    const double rs = 1.0 / std::sqrt(sq / C + static_cast<double>(eps));
    for (int c = 0; c < C; ++c) o[c] = static_cast<F>(x[c] * rs * weight[c]);
    rstd[n] = static_cast<F>(rs);
  }
}

template <typename F>
WD_MULTIVERSION
void rmsnorm_backward(F* dinp, F* dweight, const F* dout, const F* inp, const F* weight,
                      const F* rstd, int N, int C) {
  // With norm = x * rstd, rstd = (mean(x^2) + eps)^(-1/2) and dnorm = weight * dout, per row:
  //   dinp = rstd * (dnorm - norm * mean_c(dnorm * norm))
  // (the second term is the gradient flowing through rstd; unlike LayerNorm there is no mean).
  for (int n = 0; n < N; ++n) {
    const F* x = inp + static_cast<size_t>(n) * C;
    const F* d = dout + static_cast<size_t>(n) * C;
    F* dx = dinp + static_cast<size_t>(n) * C;
    const double rs = rstd[n];
    double sum_dnorm_norm = 0.0;
    for (int c = 0; c < C; ++c) sum_dnorm_norm += static_cast<double>(weight[c]) * d[c] * x[c] * rs;
    const double mean_dnorm_norm = sum_dnorm_norm / C;
    for (int c = 0; c < C; ++c) {
      const double norm = x[c] * rs;
      const double dnorm = static_cast<double>(weight[c]) * d[c];
      dx[c] += static_cast<F>(rs * (dnorm - norm * mean_dnorm_norm));
    }
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
