// LayerNorm, RMSNorm and the attention softmax process several rows side by side (layernorm.cpp,
// rmsnorm.cpp, attention.cpp) so that their in-order double sums overlap. That must not change a
// bit: here the layers are compared with the straightforward one-row-at-a-time loops they
// replaced, for row counts around the group size (full groups, a tail, fewer rows than a group),
// widths with and without a vector remainder, and for attention every mask kind (causal, sliding
// window, soft-cap). The finite-difference checks in test_layers.cpp cover the math itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/fast_math.h"
#include "core/gemm.h"
#include "core/rng.h"
#include "layers/attention.h"
#include "layers/layernorm.h"
#include "layers/rmsnorm.h"

namespace wdlab {
namespace {

// The reference loops: one row at a time, exactly the arithmetic of the layers' contract.
void layernorm_forward_rowwise(float* out, float* mean, float* rstd, const float* inp,
                               const float* weight, const float* bias, int N, int C, float eps) {
  for (int n = 0; n < N; ++n) {
    const float* x = inp + static_cast<size_t>(n) * C;
    float* o = out + static_cast<size_t>(n) * C;
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
      o[c] = static_cast<float>(norm * weight[c] + b);
    }
    mean[n] = static_cast<float>(mu);
    rstd[n] = static_cast<float>(rs);
  }
}

void layernorm_dinp_rowwise(float* dinp, const float* dout, const float* inp, const float* weight,
                            const float* mean, const float* rstd, int N, int C) {
  for (int n = 0; n < N; ++n) {
    const float* x = inp + static_cast<size_t>(n) * C;
    const float* d = dout + static_cast<size_t>(n) * C;
    float* dx = dinp + static_cast<size_t>(n) * C;
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
      dx[c] += static_cast<float>(rs * (dnorm - mean_dnorm - norm * mean_dnorm_norm));
    }
  }
}

void rmsnorm_forward_rowwise(float* out, float* rstd, const float* inp, const float* weight, int N,
                             int C, float eps) {
  for (int n = 0; n < N; ++n) {
    const float* x = inp + static_cast<size_t>(n) * C;
    float* o = out + static_cast<size_t>(n) * C;
    double sq = 0.0;
    for (int c = 0; c < C; ++c) sq += static_cast<double>(x[c]) * x[c];
    const double rs = 1.0 / std::sqrt(sq / C + static_cast<double>(eps));
    for (int c = 0; c < C; ++c) o[c] = static_cast<float>(x[c] * rs * weight[c]);
    rstd[n] = static_cast<float>(rs);
  }
}

void rmsnorm_dinp_rowwise(float* dinp, const float* dout, const float* inp, const float* weight,
                          const float* rstd, int N, int C) {
  for (int n = 0; n < N; ++n) {
    const float* x = inp + static_cast<size_t>(n) * C;
    const float* d = dout + static_cast<size_t>(n) * C;
    float* dx = dinp + static_cast<size_t>(n) * C;
    const double rs = rstd[n];
    double sum_dnorm_norm = 0.0;
    for (int c = 0; c < C; ++c) sum_dnorm_norm += static_cast<double>(weight[c]) * d[c] * x[c] * rs;
    const double mean_dnorm_norm = sum_dnorm_norm / C;
    for (int c = 0; c < C; ++c) {
      const double norm = x[c] * rs;
      const double dnorm = static_cast<double>(weight[c]) * d[c];
      dx[c] += static_cast<float>(rs * (dnorm - norm * mean_dnorm_norm));
    }
  }
}

// Attention forward with the softmax one row at a time (the products are the layer's own calls).
void attention_forward_rowwise(float* out, float* att, const float* qkv, const AttentionShape& s) {
  const int T = s.T, HS = s.HS, W = s.qkv_width(), OW = s.out_width();
  const int group = s.NH / s.NKV;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(HS)));
  for (int b = 0; b < s.B; ++b) {
    const float* base = qkv + static_cast<size_t>(b) * T * W;
    for (int h = 0; h < s.NH; ++h) {
      const int kvh = h / group;
      const float* q = base + h * HS;
      const float* k = base + (s.NH + kvh) * HS;
      const float* v = base + (s.NH + s.NKV + kvh) * HS;
      float* p = att + (static_cast<size_t>(b) * s.NH + h) * T * T;
      gemm(false, true, T, T, HS, scale, q, W, k, W, 0.0f, p, T);
      for (int i = 0; i < T; ++i) {
        float* row = p + static_cast<size_t>(i) * T;
        const int lo = s.window > 0 ? std::max(0, i - s.window) : 0;
        if (s.softcap > 0.0) {
          for (int j = lo; j <= i; ++j)
            row[j] = static_cast<float>(s.softcap * std::tanh(row[j] / s.softcap));
        }
        float max = row[lo];
        for (int j = lo + 1; j <= i; ++j) max = std::max(max, row[j]);
        for (int j = lo; j <= i; ++j) row[j] = exp_approx(row[j] - max);
        double sum = 0.0;
        for (int j = lo; j <= i; ++j) sum += row[j];
        const float inv_sum = static_cast<float>(1.0 / sum);
        for (int j = lo; j <= i; ++j) row[j] *= inv_sum;
        std::fill(row, row + lo, 0.0f);
        std::fill(row + i + 1, row + T, 0.0f);
      }
      float* o = out + static_cast<size_t>(b) * T * OW + h * HS;
      gemm(false, false, T, HS, T, 1.0f, p, T, v, W, 0.0f, o, OW);
    }
  }
}

// Attention backward with the softmax backward one row at a time (the layer's own products), the
// soft-cap's derivative recomputed from the raw scores (the layer keeps it from forward instead).
void attention_backward_rowwise(float* dqkv, const float* dout, const float* qkv, const float* att,
                                const AttentionShape& s) {
  const int T = s.T, HS = s.HS, W = s.qkv_width(), OW = s.out_width();
  const int group = s.NH / s.NKV;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(HS)));
  std::vector<float> ds(static_cast<size_t>(T) * T), raw(ds.size());
  for (int b = 0; b < s.B; ++b) {
    const size_t off = static_cast<size_t>(b) * T * W;
    for (int h = 0; h < s.NH; ++h) {
      const int kvh = h / group;
      const float* q = qkv + off + h * HS;
      const float* k = qkv + off + (s.NH + kvh) * HS;
      const float* v = qkv + off + (s.NH + s.NKV + kvh) * HS;
      float* dq = dqkv + off + h * HS;
      float* dk = dqkv + off + (s.NH + kvh) * HS;
      float* dv = dqkv + off + (s.NH + s.NKV + kvh) * HS;
      const float* p = att + (static_cast<size_t>(b) * s.NH + h) * T * T;
      const float* dout_h = dout + static_cast<size_t>(b) * T * OW + h * HS;
      gemm(true, false, T, HS, T, 1.0f, p, T, dout_h, OW, 1.0f, dv, W);
      gemm(false, true, T, T, HS, 1.0f, dout_h, OW, v, W, 0.0f, ds.data(), T);
      if (s.softcap > 0.0) gemm(false, true, T, T, HS, scale, q, W, k, W, 0.0f, raw.data(), T);
      for (int i = 0; i < T; ++i) {
        const float* p_row = p + static_cast<size_t>(i) * T;
        float* row = ds.data() + static_cast<size_t>(i) * T;
        const int lo = s.window > 0 ? std::max(0, i - s.window) : 0;
        double dot = 0.0;
        for (int j = lo; j <= i; ++j) dot += static_cast<double>(p_row[j]) * row[j];
        for (int j = lo; j <= i; ++j) row[j] = static_cast<float>(p_row[j] * (row[j] - dot));
        if (s.softcap > 0.0) {
          const float* raw_row = raw.data() + static_cast<size_t>(i) * T;
          for (int j = lo; j <= i; ++j) {
            const double t = std::tanh(raw_row[j] / s.softcap);
            row[j] = static_cast<float>(row[j] * (1.0 - t * t));
          }
        }
        std::fill(row, row + lo, 0.0f);
        std::fill(row + i + 1, row + T, 0.0f);
      }
      gemm(false, false, T, HS, T, scale, ds.data(), T, k, W, 1.0f, dq, W);
      gemm(true, false, T, HS, T, scale, ds.data(), T, q, W, 1.0f, dk, W);
    }
  }
}

std::vector<float> draw(size_t n, Rng& rng, double scale, double shift) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(shift + scale * rng.normal());
  return v;
}

void expect_same_bits(const std::vector<float>& got, const std::vector<float>& want,
                      const std::string& what, int N, int C) {
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
      << what << " differs from the row-by-row loop at " << N << " rows, width " << C;
}

const int kRowCounts[] = {1, 3, 7, 8, 9, 16, 17, 35};
const int kWidths[] = {1, 5, 16, 64, 70};

TEST(RowGroups, LayerNormMatchesRowByRowBitForBit) {
  Rng rng(7);
  for (int N : kRowCounts) {
    for (int C : kWidths) {
      for (bool with_bias : {true, false}) {
        // A large shift makes the mean matter (cancellation in x - mean).
        const std::vector<float> x = draw(static_cast<size_t>(N) * C, rng, 2.0, 3.0);
        const std::vector<float> w = draw(C, rng, 0.5, 1.0), b = draw(C, rng, 0.5, 0.0);
        const std::vector<float> dout = draw(static_cast<size_t>(N) * C, rng, 1.0, 0.0);
        const std::vector<float> dx0 = draw(static_cast<size_t>(N) * C, rng, 1.0, 0.0);
        const float* bias = with_bias ? b.data() : nullptr;
        std::vector<float> out(x.size()), mean(N), rstd(N), want_out(x.size()), want_mean(N),
            want_rstd(N);
        layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), bias, N, C,
                          1e-5f);
        layernorm_forward_rowwise(want_out.data(), want_mean.data(), want_rstd.data(), x.data(),
                                  w.data(), bias, N, C, 1e-5f);
        expect_same_bits(out, want_out, "layernorm out", N, C);
        expect_same_bits(mean, want_mean, "layernorm mean", N, C);
        expect_same_bits(rstd, want_rstd, "layernorm rstd", N, C);

        // Backward accumulates: start from the same non-zero dinp.
        std::vector<float> dx = dx0, want_dx = dx0, dw(C, 0.0f), db(C, 0.0f);
        layernorm_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(),
                           mean.data(), rstd.data(), N, C);
        layernorm_dinp_rowwise(want_dx.data(), dout.data(), x.data(), w.data(), mean.data(),
                               rstd.data(), N, C);
        expect_same_bits(dx, want_dx, "layernorm dinp", N, C);
      }
    }
  }
}

TEST(RowGroups, RmsNormMatchesRowByRowBitForBit) {
  Rng rng(8);
  for (int N : kRowCounts) {
    for (int C : kWidths) {
      const std::vector<float> x = draw(static_cast<size_t>(N) * C, rng, 2.0, 0.5);
      const std::vector<float> w = draw(C, rng, 0.5, 1.0);
      const std::vector<float> dout = draw(static_cast<size_t>(N) * C, rng, 1.0, 0.0);
      const std::vector<float> dx0 = draw(static_cast<size_t>(N) * C, rng, 1.0, 0.0);
      std::vector<float> out(x.size()), rstd(N), want_out(x.size()), want_rstd(N);
      rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-6f);
      rmsnorm_forward_rowwise(want_out.data(), want_rstd.data(), x.data(), w.data(), N, C, 1e-6f);
      expect_same_bits(out, want_out, "rmsnorm out", N, C);
      expect_same_bits(rstd, want_rstd, "rmsnorm rstd", N, C);

      std::vector<float> dx = dx0, want_dx = dx0, dw(C, 0.0f);
      rmsnorm_backward(dx.data(), dw.data(), dout.data(), x.data(), w.data(), rstd.data(), N, C);
      rmsnorm_dinp_rowwise(want_dx.data(), dout.data(), x.data(), w.data(), rstd.data(), N, C);
      expect_same_bits(dx, want_dx, "rmsnorm dinp", N, C);
    }
  }
}

TEST(RowGroups, AttentionSoftmaxMatchesRowByRowBitForBit) {
  Rng rng(9);
  struct Case {
    int T, NH, NKV, HS, window;
    double softcap;
  };
  const Case cases[] = {{1, 2, 2, 4, 0, 0.0},    {5, 2, 1, 4, 0, 0.0},    {8, 4, 2, 8, 0, 0.0},
                        {13, 2, 2, 16, 0, 0.0},  {64, 4, 4, 16, 0, 0.0},  {35, 4, 1, 8, 3, 0.0},
                        {64, 2, 2, 16, 16, 0.0}, {21, 6, 1, 16, 0, 30.0}, {19, 2, 1, 8, 5, 2.0}};
  for (const Case& c : cases) {
    const AttentionShape s{2, c.T, c.NH, c.NKV, c.HS, c.window, c.softcap};
    // Large scores make the max subtraction and the soft-cap matter.
    const std::vector<float> qkv =
        draw(static_cast<size_t>(s.B) * s.T * s.qkv_width(), rng, 3.0, 0.0);
    const size_t n_out = static_cast<size_t>(s.B) * s.T * s.out_width();
    const size_t n_att = static_cast<size_t>(s.B) * s.NH * s.T * s.T;
    std::vector<float> out(n_out), att(n_att), want_out(n_out), want_att(n_att);
    std::vector<double> cap_grad(n_att);  // kept by forward for the soft-cap's derivative
    attention_forward(out.data(), att.data(), qkv.data(), s, cap_grad.data());
    attention_forward_rowwise(want_out.data(), want_att.data(), qkv.data(), s);
    const std::string shape = "window " + std::to_string(c.window) + ", softcap " +
                              std::to_string(c.softcap) + ": attention";
    expect_same_bits(att, want_att, shape + " probabilities", s.T, s.T);
    expect_same_bits(out, want_out, shape + " out", s.T, s.out_width());

    // Backward from the same probabilities into the same non-zero dqkv.
    const std::vector<float> dout = draw(n_out, rng, 1.0, 0.0);
    const std::vector<float> dqkv0 = draw(qkv.size(), rng, 1.0, 0.0);
    std::vector<float> dqkv = dqkv0, want_dqkv = dqkv0;
    std::vector<float> scratch(static_cast<size_t>(s.T) * s.T);
    attention_backward(dqkv.data(), scratch.data(), dout.data(), qkv.data(), att.data(), s,
                       cap_grad.data());
    attention_backward_rowwise(want_dqkv.data(), dout.data(), qkv.data(), att.data(), s);
    expect_same_bits(dqkv, want_dqkv, shape + " dqkv", s.T, s.qkv_width());
  }
}

}  // namespace
}  // namespace wdlab
