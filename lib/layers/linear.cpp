#include "layers/linear.h"

#include <cstddef>

#include "core/gemm.h"

namespace wdlab {

template <typename F>
void linear_forward(F* out, const F* inp, const F* weight, const F* bias, int N, int C, int OC) {
  // out (N,OC) = inp (N,C) @ weight(OC,C)^T; beta = 0, so out's old contents are never read.
  gemm(false, true, N, OC, C, F(1), inp, C, weight, C, F(0), out, OC);
  if (bias == nullptr) return;
  for (int n = 0; n < N; ++n) {
    F* row = out + static_cast<size_t>(n) * OC;
    for (int o = 0; o < OC; ++o) row[o] += bias[o];
  }
}

template <typename F>
void linear_backward(F* dinp, F* dweight, F* dbias, const F* dout, const F* inp, const F* weight,
                     int N, int C, int OC) {
  // dinp (N,C) += dout (N,OC) @ weight (OC,C)
  if (dinp != nullptr) gemm(false, false, N, C, OC, F(1), dout, OC, weight, C, F(1), dinp, C);
  // dweight (OC,C) += dout^T (OC,N) @ inp (N,C)
  gemm(true, false, OC, C, N, F(1), dout, OC, inp, C, F(1), dweight, C);
  if (dbias == nullptr) return;
  // dbias (OC) += column sums of dout, accumulated in double. Columns are processed in blocks so
  // the accumulators live on the stack (no allocation) while dout is still read row by row.
  constexpr int kBlock = 64;
  for (int o0 = 0; o0 < OC; o0 += kBlock) {
    const int width = OC - o0 < kBlock ? OC - o0 : kBlock;
    double acc[kBlock] = {};
    for (int n = 0; n < N; ++n) {
      const F* row = dout + static_cast<size_t>(n) * OC + o0;
      for (int o = 0; o < width; ++o) acc[o] += row[o];
    }
    for (int o = 0; o < width; ++o) dbias[o0 + o] += static_cast<F>(acc[o]);
  }
}

template void linear_forward<float>(float*, const float*, const float*, const float*, int, int,
                                    int);
template void linear_forward<double>(double*, const double*, const double*, const double*, int, int,
                                     int);
template void linear_backward<float>(float*, float*, float*, const float*, const float*,
                                     const float*, int, int, int);
template void linear_backward<double>(double*, double*, double*, const double*, const double*,
                                      const double*, int, int, int);

}  // namespace wdlab
