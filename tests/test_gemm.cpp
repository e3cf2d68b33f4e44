// The BLAS wrapper against the naive triple loop, for every transpose combination and strided
// operands (the attention layer relies on lda/ldb larger than the logical width).
#include <gtest/gtest.h>

#include <vector>

#include "core/gemm.h"
#include "core/rng.h"

namespace wdlab {
namespace {

TEST(Gemm, MatchesNaiveForAllTransposesAndStrides) {
  Rng rng(7);
  const int M = 5, N = 7, K = 3, pad = 2;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
      std::vector<double> A((ta ? K : M) * lda), Bm((tb ? N : K) * ldb), C(M * ldc);
      for (auto& x : A) x = rng.normal();
      for (auto& x : Bm) x = rng.normal();
      for (auto& x : C) x = rng.normal();
      std::vector<double> expected = C;
      gemm(ta, tb, M, N, K, 0.5, A.data(), lda, Bm.data(), ldb, 2.0, C.data(), ldc);
      gemm_naive(ta, tb, M, N, K, 0.5, A.data(), lda, Bm.data(), ldb, 2.0, expected.data(), ldc);
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j)
          EXPECT_NEAR(C[i * ldc + j], expected[i * ldc + j], 1e-12) << ta << tb << i << j;
    }
  }
}

}  // namespace
}  // namespace wdlab
