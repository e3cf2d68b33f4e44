#include "layers/layernorm.h"
#include "core/multiversion.h"

#include <cmath>
#include <cstddef>

namespace wdlab {

template <typename F>
WD_MULTIVERSION
void layernorm_forward(F* out, F* mean, F* rstd, const F* inp, const F* weight, const F* bias,
                       int N, int C, F eps) {
  for (int n = 0; n < N; ++n) {
    const F* x = inp + static_cast<size_t>(n) * C;
    F* o = out + static_cast<size_t>(n) * C;
    // Two passes in double: the mean, then the biased variance around it (no E[x^2] - mean^2
    // cancellation).
    double sum = 0.0;
    for (int c = 0; c < C; ++c) sum += x[c];
    const double mu = sum / C;
    double sq = 0.0;
    for (int c = 0; c < C; ++c) {
      const double centered = x[c] - mu;
      sq += centered * centered;
    }
    const double rs = 1.0 / std::sqrt(sq / C + static_cast<double>(eps));
    for (int c = 0; c < C; ++c) {
      const double norm = (x[c] - mu) * rs;
      const double b = bias != nullptr ? static_cast<double>(bias[c]) : 0.0;
      o[c] = static_cast<F>(norm * weight[c] + b);
    }
    mean[n] = static_cast<F>(mu);
    rstd[n] = static_cast<F>(rs);
  }
}

template <typename F>
WD_MULTIVERSION
void layernorm_backward(F* dinp, F* dweight, F* dbias, const F* dout, const F* inp, const F* weight,
                        const F* mean, const F* rstd, int N, int C) {
  // With norm = (x - mean) * rstd and dnorm = weight * dout, per row:
  //   dinp = rstd * (dnorm - mean_c(dnorm) - norm * mean_c(dnorm * norm))
  // (the two mean terms are the gradient flowing through the row's mean and through its rstd).
  for (int n = 0; n < N; ++n) {
    const F* x = inp + static_cast<size_t>(n) * C;
    const F* d = dout + static_cast<size_t>(n) * C;
    F* dx = dinp + static_cast<size_t>(n) * C;
    const double mu = mean[n], rs = rstd[n];
    double sum_dnorm = 0.0, sum_dnorm_norm = 0.0;
    for (int c = 0; c < C; ++c) {
      const double norm = (x[c] - mu) * rs;
      const double dnorm = static_cast<double>(weight[c]) * d[c];
      sum_dnorm += dnorm;
      sum_dnorm_norm += dnorm * norm;
    }
    const double mean_dnorm = sum_dnorm / C, mean_dnorm_norm = sum_dnorm_norm / C;
    for (int c = 0; c < C; ++c) {
      const double norm = (x[c] - mu) * rs;
      const double dnorm = static_cast<double>(weight[c]) * d[c];
      dx[c] += static_cast<F>(rs * (dnorm - mean_dnorm - norm * mean_dnorm_norm));
    }
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
