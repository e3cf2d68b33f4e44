// Would computing only causal attention's unmasked blocks keep every run's bits? The engine's
// attention computes the full T x T scores S = scale Q K^T per head and the full P V (P is zero
// above the diagonal). A block-triangular version calls sgemm on row blocks: rows [r0, r0 + blk)
// against keys [0, r0 + blk). This compares, bit for bit, the visible scores and the P V rows of
// the two ways through this machine's OpenBLAS (what `wdlab::gemm` calls), at the head sizes of the
// presets' small scales. Standalone, no wdlab library:
//
//   g++ -O2 -std=c++20 bench/causal_gemm_bits.cpp -o /tmp/causal_gemm_bits -lopenblas
//   OPENBLAS_NUM_THREADS=1 /tmp/causal_gemm_bits
//
// A count above 0 means the lever changes results on this machine (its sgemm picks kernels by
// shape, and they round differently); 0 says nothing about other CPUs' kernels.
#include <cblas.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

namespace {

int differing(const float* a, const float* b, size_t n) {
  int count = 0;
  for (size_t i = 0; i < n; ++i) count += std::memcmp(a + i, b + i, sizeof(float)) != 0;
  return count;
}

}  // namespace

int main() {
  std::mt19937 gen(1);
  std::normal_distribution<float> normal;
  std::printf("%s\n", openblas_get_config());
  std::printf(
      "| T | head size | row block | visible scores that differ | P V entries that differ |\n");
  std::printf("|---|---|---|---|---|\n");
  for (int T : {64, 128}) {
    for (int HS : {16, 32}) {
      for (int blk : {8, 16, 32}) {
        const int NH = 4, W = 3 * NH * HS;  // a fused qkv row: queries, keys, values
        std::vector<float> qkv(static_cast<size_t>(T) * W);
        for (float& x : qkv) x = normal(gen);
        const float *q = qkv.data(), *k = q + NH * HS, *v = k + NH * HS;
        const float scale = 1.0f / std::sqrt(static_cast<float>(HS));

        std::vector<float> full(static_cast<size_t>(T) * T), part(full.size());
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, HS, scale, q, W, k, W, 0.0f,
                    full.data(), T);
        for (int r0 = 0; r0 < T; r0 += blk) {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blk, r0 + blk, HS, scale,
                      q + static_cast<size_t>(r0) * W, W, k, W, 0.0f,
                      part.data() + static_cast<size_t>(r0) * T, T);
        }
        int scores = 0, visible = 0;
        for (int i = 0; i < T; ++i) {
          scores += differing(&full[static_cast<size_t>(i) * T], &part[static_cast<size_t>(i) * T],
                              static_cast<size_t>(i) + 1);
          visible += i + 1;
        }

        std::vector<float> p(static_cast<size_t>(T) * T, 0.0f);  // causal: zero above the diagonal
        for (int i = 0; i < T; ++i)
          for (int j = 0; j <= i; ++j) p[static_cast<size_t>(i) * T + j] = std::abs(normal(gen));
        std::vector<float> out_full(static_cast<size_t>(T) * HS), out_part(out_full.size());
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, HS, T, 1.0f, p.data(), T, v, W,
                    0.0f, out_full.data(), HS);
        for (int r0 = 0; r0 < T; r0 += blk) {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blk, HS, r0 + blk, 1.0f,
                      p.data() + static_cast<size_t>(r0) * T, T, v, W, 0.0f,
                      out_part.data() + static_cast<size_t>(r0) * HS, HS);
        }
        const int pv = differing(out_full.data(), out_part.data(), out_full.size());
        std::printf("| %d | %d | %d | %d of %d | %d of %zu |\n", T, HS, blk, scores, visible, pv,
                    out_full.size());
      }
    }
  }
}
