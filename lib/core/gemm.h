// Matrix products, row-major, through BLAS (cblas_sgemm for float, cblas_dgemm for double; the
// double path exists so gradient checks can run the very same layer code in double precision).
//
//   C(M,N) = alpha * op(A)(M,K) * op(B)(K,N) + beta * C
//   gemm(false, true, N, OC, C, 1.0f, inp, C, weight, C, 0.0f, out, OC);   // out = inp @ W^T
//
// gemm_naive is the triple loop with the same contract: the test oracle for the BLAS path.
#pragma once

namespace wdlab {

void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc);
void gemm(bool trans_a, bool trans_b, int M, int N, int K, double alpha, const double* A, int lda,
          const double* B, int ldb, double beta, double* C, int ldc);

template <typename F>
void gemm_naive(bool trans_a, bool trans_b, int M, int N, int K, F alpha, const F* A, int lda,
                const F* B, int ldb, F beta, F* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      double acc = 0.0;
      for (int k = 0; k < K; ++k) {
        const F a = trans_a ? A[k * lda + i] : A[i * lda + k];
        const F b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
        acc += static_cast<double>(a) * static_cast<double>(b);
      }
      F& c = C[i * ldc + j];
      c = static_cast<F>(alpha * acc + (beta == F(0) ? 0.0 : beta * static_cast<double>(c)));
    }
  }
}

// Threads BLAS may use (OpenBLAS); 1 keeps every product on the calling thread.
void blas_set_threads(int n);
int blas_threads();

}  // namespace wdlab
