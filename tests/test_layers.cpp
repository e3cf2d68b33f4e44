// Layer tests. The core is a finite-difference gradient check of every backward pass, run in
// double precision (the layers are instantiated for double for exactly this): each layer is
// wrapped as a LayerCase with loss L = sum(dout * forward(...)) for a fixed random dout, and the
// analytic gradients of all its inputs and parameters are compared with central differences
// (tests/gradcheck.h). Around that: accumulation (+=) semantics, the null-pointer paths, forward
// values against naive references and hand computations, attention causality, dropout's mask
// and RNG contract, float-vs-double agreement, and a check that the checker catches a broken
// backward.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/gemm.h"
#include "core/rng.h"
#include "gradcheck.h"
#include "layers/attention.h"
#include "layers/cross_entropy.h"
#include "layers/embedding.h"
#include "layers/gelu.h"
#include "layers/layernorm.h"
#include "layers/linear.h"
#include "layers/residual.h"

namespace wdlab {
namespace {

using test::check_gradients;
using test::dot;
using test::GradCheckResult;
using test::GradTensor;

// Tolerance of the gradient checks. With the checker's h = 1e-5 in double, the central
// difference's truncation error is ~h^2 |L'''| ~ 1e-10 and its roundoff ~eps |L| / h ~ 1e-10 (|L|
// is O(1..10) here), against gradients of O(0.1..1); entries below 1e-3 of their tensor's
// largest are measured against that floor (gradcheck.h). A correct backward lands at 1e-7 or
// below (observed worst: 9e-8, cross-entropy's small entries). A wrong backward is off by O(1)
// relative (a missing term, a wrong index) or at least by its own perturbation (1e-2 for the
// broken LayerNorm below), so 1e-6 leaves an order of magnitude on the noise side and four on the
// bug side.
constexpr double kGradTol = 1e-6;

std::vector<double> randn(size_t n, Rng& rng, double scale = 1.0, double shift = 0.0) {
  std::vector<double> v(n);
  for (double& x : v) x = shift + scale * rng.normal();
  return v;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0.0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

double max_abs(const std::vector<double>& a) {
  double m = 0.0;
  for (double x : a) m = std::max(m, std::abs(x));
  return m;
}

std::vector<float> to_float(const std::vector<double>& v) {
  return {v.begin(), v.end()};
}
std::vector<double> to_double(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

// ---------------------------------------------------------------------------------------------
// LayerCase: one layer in double precision, ready for the generic tests.

struct LayerCase {
  struct Tensor {
    std::string name;
    std::vector<double> value, grad;
  };
  // Deques: the lambdas below hold raw pointers into these, so elements must never move.
  std::deque<Tensor> tensors;                // differentiable inputs and parameters
  std::deque<std::vector<double>> buffers;   // outputs, caches, dout, scratch
  std::deque<std::vector<int>> int_buffers;  // tokens, targets
  std::function<double()> loss;              // runs the forward, returns L
  std::function<void()> backward;            // runs forward + backward, accumulating grads

  // A differentiable tensor with values scale * N(0,1) + shift and a zeroed gradient.
  Tensor& add(std::string name, size_t n, Rng& rng, double scale = 1.0, double shift = 0.0) {
    tensors.push_back({std::move(name), randn(n, rng, scale, shift), std::vector<double>(n)});
    return tensors.back();
  }
  double* buffer(size_t n) { return buffers.emplace_back(n).data(); }
  double* random_buffer(size_t n, Rng& rng) {
    buffers.push_back(randn(n, rng));
    return buffers.back().data();
  }
  int* ints(std::vector<int> v) {
    int_buffers.push_back(std::move(v));
    return int_buffers.back().data();
  }

  void zero_grads() {
    for (Tensor& t : tensors) std::fill(t.grad.begin(), t.grad.end(), 0.0);
  }
  std::vector<GradTensor<double>> grad_tensors() {
    std::vector<GradTensor<double>> out;
    for (Tensor& t : tensors)
      out.push_back({t.name, t.value.data(), t.grad.data(), t.value.size()});
    return out;
  }
};

using CaseFactory = std::function<std::unique_ptr<LayerCase>()>;

std::unique_ptr<LayerCase> linear_case(int N, int C, int OC, bool with_bias, bool with_dinp) {
  auto lc = std::make_unique<LayerCase>();
  Rng rng(11);
  // Without dinp the input is a constant, not a checked tensor.
  double* inp = with_dinp ? lc->add("inp", N * C, rng).value.data() : lc->random_buffer(N * C, rng);
  double* dinp = with_dinp ? lc->tensors.back().grad.data() : nullptr;
  auto& w = lc->add("weight", OC * C, rng, 0.5);
  double* bias = nullptr;
  double* dbias = nullptr;
  if (with_bias) {
    auto& b = lc->add("bias", OC, rng);
    bias = b.value.data();
    dbias = b.grad.data();
  }
  double* out = lc->buffer(N * OC);
  double* dout = lc->random_buffer(N * OC, rng);
  double* wv = w.value.data();
  double* dw = w.grad.data();
  lc->loss = [=] {
    linear_forward(out, inp, wv, bias, N, C, OC);
    return dot(dout, out, N * OC);
  };
  lc->backward = [=] { linear_backward(dinp, dw, dbias, dout, inp, wv, N, C, OC); };
  return lc;
}

std::unique_ptr<LayerCase> embedding_case(bool with_wpe) {
  auto lc = std::make_unique<LayerCase>();
  Rng rng(12);
  const int B = 3, T = 4, C = 3, V = 5, maxT = 6;  // maxT > T: rows T.. of wpe get no gradient
  // Repeated tokens (within and across rows) exercise the scatter-add; token 4 never occurs.
  const int* tokens = lc->ints({0, 1, 1, 3, 2, 0, 3, 3, 1, 2, 0, 0});
  auto& wte = lc->add("wte", V * C, rng);
  double* wpe = nullptr;
  double* dwpe = nullptr;
  if (with_wpe) {
    auto& p = lc->add("wpe", maxT * C, rng);
    wpe = p.value.data();
    dwpe = p.grad.data();
  }
  double* out = lc->buffer(B * T * C);
  double* dout = lc->random_buffer(B * T * C, rng);
  double* wv = wte.value.data();
  double* dw = wte.grad.data();
  lc->loss = [=] {
    embedding_forward(out, tokens, wv, wpe, B, T, C);
    return dot(dout, out, B * T * C);
  };
  lc->backward = [=] { embedding_backward(dw, dwpe, dout, tokens, B, T, C); };
  return lc;
}

std::unique_ptr<LayerCase> layernorm_case(int N, int C, bool with_bias) {
  auto lc = std::make_unique<LayerCase>();
  Rng rng(13);
  // A non-zero mean per row, so the mean term of the backward matters.
  auto& inp = lc->add("inp", N * C, rng, 1.5, 0.7);
  auto& w = lc->add("weight", C, rng, 0.3, 1.0);
  double* bias = nullptr;
  double* dbias = nullptr;
  if (with_bias) {
    auto& b = lc->add("bias", C, rng);
    bias = b.value.data();
    dbias = b.grad.data();
  }
  double* out = lc->buffer(N * C);
  double* mean = lc->buffer(N);
  double* rstd = lc->buffer(N);
  double* dout = lc->random_buffer(N * C, rng);
  double *x = inp.value.data(), *dx = inp.grad.data(), *wv = w.value.data(), *dw = w.grad.data();
  lc->loss = [=] {
    layernorm_forward(out, mean, rstd, x, wv, bias, N, C, 1e-5);
    return dot(dout, out, N * C);
  };
  lc->backward = [=] {
    layernorm_forward(out, mean, rstd, x, wv, bias, N, C, 1e-5);
    layernorm_backward(dx, dw, dbias, dout, x, wv, mean, rstd, N, C);
  };
  return lc;
}

std::unique_ptr<LayerCase> gelu_case() {
  auto lc = std::make_unique<LayerCase>();
  Rng rng(14);
  const size_t n = 40;
  auto& inp = lc->add("inp", n, rng, 2.0);  // covers the curved region and both tails
  double* out = lc->buffer(n);
  double* dout = lc->random_buffer(n, rng);
  double *x = inp.value.data(), *dx = inp.grad.data();
  lc->loss = [=] {
    gelu_forward(out, x, n);
    return dot(dout, out, n);
  };
  lc->backward = [=] { gelu_backward(dx, dout, x, n); };
  return lc;
}

std::unique_ptr<LayerCase> attention_case() {
  auto lc = std::make_unique<LayerCase>();
  Rng rng(15);
  const int B = 2, T = 5, C = 8, NH = 2;
  auto& qkv = lc->add("qkv", B * T * 3 * C, rng);
  double* out = lc->buffer(B * T * C);
  double* att = lc->buffer(B * NH * T * T);
  double* scratch = lc->buffer(T * T);
  double* dout = lc->random_buffer(B * T * C, rng);
  double *x = qkv.value.data(), *dx = qkv.grad.data();
  lc->loss = [=] {
    attention_forward(out, att, x, B, T, C, NH);
    return dot(dout, out, B * T * C);
  };
  lc->backward = [=] {
    attention_forward(out, att, x, B, T, C, NH);
    attention_backward(dx, scratch, dout, x, att, B, T, C, NH);
  };
  return lc;
}

std::unique_ptr<LayerCase> cross_entropy_case() {
  auto lc = std::make_unique<LayerCase>();
  Rng rng(16);
  const int N = 6, V = 7;
  auto& logits = lc->add("logits", N * V, rng, 2.0);
  const int* targets = lc->ints({0, 3, 6, 3, 2, 5});
  double* probs = lc->buffer(N * V);
  double *x = logits.value.data(), *dx = logits.grad.data();
  // L is the mean loss itself, so the backward's scale is 1/N.
  lc->loss = [=] { return cross_entropy_forward(probs, x, targets, N, V); };
  lc->backward = [=] {
    cross_entropy_forward(probs, x, targets, N, V);
    cross_entropy_backward(dx, probs, targets, N, V, 1.0 / N);
  };
  return lc;
}

std::unique_ptr<LayerCase> residual_case() {
  auto lc = std::make_unique<LayerCase>();
  Rng rng(17);
  const size_t n = 20;
  auto& a = lc->add("a", n, rng);
  auto& b = lc->add("b", n, rng);
  double* out = lc->buffer(n);
  double* dout = lc->random_buffer(n, rng);
  double *av = a.value.data(), *da = a.grad.data(), *bv = b.value.data(), *db = b.grad.data();
  lc->loss = [=] {
    residual_forward(out, av, bv, n);
    return dot(dout, out, n);
  };
  lc->backward = [=] { residual_backward(da, db, dout, n); };
  return lc;
}

std::unique_ptr<LayerCase> dropout_case() {
  auto lc = std::make_unique<LayerCase>();
  Rng rng(18);
  const size_t n = 50;
  const double p = 0.3;
  auto& inp = lc->add("inp", n, rng);
  double* out = lc->buffer(n);
  double* mask = lc->buffer(n);
  double* dout = lc->random_buffer(n, rng);
  double *x = inp.value.data(), *dx = inp.grad.data();
  // A fresh generator with the same seed on every call: the mask is fixed, so L is a function
  // of the input alone.
  lc->loss = [=] {
    Rng drop(99, RngStream::dropout);
    dropout_forward(out, mask, x, n, p, drop);
    return dot(dout, out, n);
  };
  lc->backward = [=] {
    Rng drop(99, RngStream::dropout);
    dropout_forward(out, mask, x, n, p, drop);
    dropout_backward(dx, dout, mask, n);
  };
  return lc;
}

const std::map<std::string, CaseFactory>& layer_cases() {
  static const std::map<std::string, CaseFactory> cases = {
      {"linear", [] { return linear_case(5, 4, 3, true, true); }},
      {"linear_no_bias", [] { return linear_case(5, 4, 3, false, true); }},
      {"linear_no_dinp", [] { return linear_case(5, 4, 3, true, false); }},
      // OC > 64 crosses a block boundary of the bias column sums.
      {"linear_wide", [] { return linear_case(4, 3, 70, true, true); }},
      {"embedding", [] { return embedding_case(true); }},
      {"embedding_no_wpe", [] { return embedding_case(false); }},
      {"layernorm", [] { return layernorm_case(4, 7, true); }},
      {"layernorm_no_bias", [] { return layernorm_case(4, 7, false); }},
      // C > 64 crosses a block boundary of the weight/bias column sums.
      {"layernorm_wide", [] { return layernorm_case(3, 70, true); }},
      {"gelu", gelu_case},
      {"attention", attention_case},
      {"cross_entropy", cross_entropy_case},
      {"residual", residual_case},
      {"dropout", dropout_case},
  };
  return cases;
}

std::vector<std::string> layer_case_names() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : layer_cases()) names.push_back(name);
  return names;
}

class LayerGrad : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<LayerCase> make() { return layer_cases().at(GetParam())(); }
};

TEST_P(LayerGrad, MatchesFiniteDifferences) {
  auto lc = make();
  lc->zero_grads();
  lc->backward();
  const GradCheckResult r = check_gradients(lc->loss, lc->grad_tensors());
  std::printf("[ gradcheck ] %-18s %4zu entries, max rel error %.2e\n", GetParam().c_str(),
              r.checked, r.max_rel_error);
  EXPECT_GT(r.checked, 0u);
  EXPECT_LT(r.max_rel_error, kGradTol) << r.worst;
}

// Backward adds to whatever the gradient buffers hold: starting from g0 it must end at
// g0 + (the gradient it produces from zero).
TEST_P(LayerGrad, BackwardAccumulates) {
  auto lc = make();
  lc->zero_grads();
  lc->backward();
  std::vector<std::vector<double>> fresh;
  for (auto& t : lc->tensors) fresh.push_back(t.grad);

  Rng rng(5);
  std::vector<std::vector<double>> start;
  for (auto& t : lc->tensors) {
    // Copy into the existing buffer: the case's lambdas hold pointers into it.
    start.push_back(randn(t.grad.size(), rng));
    std::copy(start.back().begin(), start.back().end(), t.grad.begin());
  }
  lc->backward();
  for (size_t k = 0; k < lc->tensors.size(); ++k) {
    const auto& t = lc->tensors[k];
    for (size_t i = 0; i < t.grad.size(); ++i) {
      ASSERT_NEAR(t.grad[i], start[k][i] + fresh[k][i], 1e-12) << t.name << "[" << i << "]";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layers, LayerGrad, ::testing::ValuesIn(layer_case_names()),
                         [](const auto& info) { return info.param; });

// ---------------------------------------------------------------------------------------------
// The checker itself.

TEST(GradCheck, ExactGradientPassesAndValuesAreRestored) {
  // L = sum x_i^3, dL/dx_i = 3 x_i^2.
  Rng rng(1);
  std::vector<double> x = randn(10, rng), g(10);
  for (size_t i = 0; i < x.size(); ++i) g[i] = 3 * x[i] * x[i];
  const std::vector<double> before = x;
  auto loss = [&] {
    double s = 0;
    for (double v : x) s += v * v * v;
    return s;
  };
  const GradCheckResult r = check_gradients<double>(loss, {{"x", x.data(), g.data(), x.size()}});
  EXPECT_EQ(r.checked, 10u);
  EXPECT_LT(r.max_rel_error, kGradTol) << r.worst;
  EXPECT_EQ(x, before);  // bit for bit

  g[7] *= 1.5;  // one wrong entry: reported, by name and index
  const GradCheckResult bad = check_gradients<double>(loss, {{"x", x.data(), g.data(), x.size()}});
  EXPECT_GT(bad.max_rel_error, 0.3);
  EXPECT_NE(bad.worst.find("x[7]"), std::string::npos) << bad.worst;

  const GradCheckResult sub =
      check_gradients<double>(loss, {{"x", x.data(), g.data(), x.size()}}, {.max_entries = 5});
  EXPECT_EQ(sub.checked, 5u);  // entries 0, 2, 4, 6, 8: the wrong entry 7 is skipped
  EXPECT_LT(sub.max_rel_error, kGradTol);
}

// The point of the checker: a subtly wrong backward must fail it by a wide margin. LayerNorm's
// input gradient is the classic place to get wrong, so break it in two realistic ways.
TEST(GradCheck, CatchesBrokenLayerNormBackward) {
  const int N = 4, C = 7;
  Rng rng(21);
  std::vector<double> x = randn(N * C, rng, 1.5, 0.7), w = randn(C, rng, 0.3, 1.0),
                      b = randn(C, rng), dout = randn(N * C, rng);
  std::vector<double> out(N * C), mean(N), rstd(N);
  auto loss = [&] {
    layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C,
                      1e-5);
    return dot(dout, out);
  };
  // Correct gradients, computed once.
  std::vector<double> dx(N * C), dw(C), db(C);
  loss();
  layernorm_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), mean.data(),
                     rstd.data(), N, C);
  auto check_dx = [&](const std::vector<double>& candidate) {
    return check_gradients<double>(loss, {{"inp", x.data(), candidate.data(), x.size()}});
  };

  const GradCheckResult good = check_dx(dx);
  EXPECT_LT(good.max_rel_error, kGradTol) << good.worst;

  // (a) dinp off by 1%.
  std::vector<double> scaled = dx;
  for (double& v : scaled) v *= 1.01;
  const GradCheckResult r_scaled = check_dx(scaled);
  std::printf("[ gradcheck ] broken: dinp * 1.01          max rel error %.2e\n",
              r_scaled.max_rel_error);
  EXPECT_GT(r_scaled.max_rel_error, 1e3 * kGradTol) << r_scaled.worst;

  // (b) the mean-subtraction term dropped: dinp = rstd * (dnorm - norm * mean(dnorm * norm)),
  // i.e. the correct result plus rstd * mean_c(weight * dout) per row.
  std::vector<double> no_mean = dx;
  for (int n = 0; n < N; ++n) {
    double mean_dnorm = 0;
    for (int c = 0; c < C; ++c) mean_dnorm += w[c] * dout[n * C + c] / C;
    for (int c = 0; c < C; ++c) no_mean[n * C + c] += rstd[n] * mean_dnorm;
  }
  const GradCheckResult r_no_mean = check_dx(no_mean);
  std::printf("[ gradcheck ] broken: no mean term         max rel error %.2e\n",
              r_no_mean.max_rel_error);
  EXPECT_GT(r_no_mean.max_rel_error, 1e3 * kGradTol) << r_no_mean.worst;
}

// ---------------------------------------------------------------------------------------------
// Forward values against naive references and hand computations.

TEST(Linear, ForwardMatchesNaive) {
  const int N = 6, C = 5, OC = 4;
  Rng rng(31);
  const auto inp = randn(N * C, rng), w = randn(OC * C, rng), b = randn(OC, rng);
  std::vector<double> out(N * OC, 123.0), out_nb(N * OC, 123.0);  // stale contents are ignored
  linear_forward(out.data(), inp.data(), w.data(), b.data(), N, C, OC);
  linear_forward(out_nb.data(), inp.data(), w.data(), static_cast<const double*>(nullptr), N, C,
                 OC);
  for (int n = 0; n < N; ++n) {
    for (int o = 0; o < OC; ++o) {
      double ref = 0;
      for (int c = 0; c < C; ++c) ref += inp[n * C + c] * w[o * C + c];
      EXPECT_NEAR(out_nb[n * OC + o], ref, 1e-12);
      EXPECT_NEAR(out[n * OC + o], ref + b[o], 1e-12);
    }
  }
}

TEST(Embedding, ForwardLooksUpRows) {
  const int B = 2, T = 3, C = 4, V = 5;
  Rng rng(32);
  const auto wte = randn(V * C, rng), wpe = randn(T * C, rng);
  const std::vector<int> tokens = {4, 0, 4, 2, 2, 1};
  std::vector<double> out(B * T * C), out_np(B * T * C);
  embedding_forward(out.data(), tokens.data(), wte.data(), wpe.data(), B, T, C);
  embedding_forward(out_np.data(), tokens.data(), wte.data(), static_cast<const double*>(nullptr),
                    B, T, C);
  for (int bt = 0; bt < B * T; ++bt) {
    for (int c = 0; c < C; ++c) {
      EXPECT_EQ(out_np[bt * C + c], wte[tokens[bt] * C + c]);
      EXPECT_EQ(out[bt * C + c], wte[tokens[bt] * C + c] + wpe[(bt % T) * C + c]);
    }
  }
}

TEST(LayerNorm, ForwardMatchesNaive) {
  const int N = 3, C = 9;
  const double eps = 1e-5;
  Rng rng(33);
  const auto x = randn(N * C, rng, 2.0, 5.0), w = randn(C, rng), b = randn(C, rng);
  std::vector<double> out(N * C), mean(N), rstd(N);
  layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, eps);
  for (int n = 0; n < N; ++n) {
    double mu = 0, var = 0;
    for (int c = 0; c < C; ++c) mu += x[n * C + c] / C;
    for (int c = 0; c < C; ++c) var += (x[n * C + c] - mu) * (x[n * C + c] - mu) / C;  // biased
    EXPECT_NEAR(mean[n], mu, 1e-12);
    EXPECT_NEAR(rstd[n], 1 / std::sqrt(var + eps), 1e-12);
    for (int c = 0; c < C; ++c) {
      EXPECT_NEAR(out[n * C + c], (x[n * C + c] - mu) / std::sqrt(var + eps) * w[c] + b[c], 1e-12);
    }
  }
}

TEST(Gelu, ForwardMatchesTanhFormula) {
  // Reference values of 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), evaluated independently
  // in Python (torch.nn.functional.gelu(x, approximate="tanh") agrees).
  const std::vector<double> x = {0.0, 1.0, -1.0, 2.0, -3.0, 0.5};
  const std::vector<double> ref = {0.0,
                                   0.8411919906082768,
                                   -0.15880800939172324,
                                   1.954597694087775,
                                   -0.0036373920817729943,
                                   0.34571400982514394};
  std::vector<double> out(x.size());
  gelu_forward(out.data(), x.data(), x.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(out[i], ref[i], 1e-15) << "x = " << x[i];
}

// Attention by its definition, one (b, h, i) at a time, with plain loops.
void attention_naive(std::vector<double>& out, const std::vector<double>& qkv, int B, int T, int C,
                     int NH) {
  const int HS = C / NH;
  for (int b = 0; b < B; ++b) {
    for (int h = 0; h < NH; ++h) {
      for (int i = 0; i < T; ++i) {
        const double* q = &qkv[(b * T + i) * 3 * C + h * HS];
        std::vector<double> s(i + 1);
        double max = -INFINITY, sum = 0;
        for (int j = 0; j <= i; ++j) {
          const double* k = &qkv[(b * T + j) * 3 * C + C + h * HS];
          s[j] = 0;
          for (int d = 0; d < HS; ++d) s[j] += q[d] * k[d] / std::sqrt(double(HS));
          max = std::max(max, s[j]);
        }
        for (int j = 0; j <= i; ++j) {
          s[j] = std::exp(s[j] - max);
          sum += s[j];
        }
        for (int d = 0; d < HS; ++d) {
          double acc = 0;
          for (int j = 0; j <= i; ++j)
            acc += s[j] / sum * qkv[(b * T + j) * 3 * C + 2 * C + h * HS + d];
          out[(b * T + i) * C + h * HS + d] = acc;
        }
      }
    }
  }
}

TEST(Attention, ForwardMatchesNaiveAndCachesCausalProbabilities) {
  const int B = 2, T = 6, C = 12, NH = 3;
  Rng rng(34);
  const auto qkv = randn(B * T * 3 * C, rng);
  std::vector<double> out(B * T * C), att(B * NH * T * T, 7.0), ref(B * T * C);
  attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH);
  attention_naive(ref, qkv, B, T, C, NH);
  EXPECT_LT(max_abs_diff(out, ref), 1e-12);
  for (int bh = 0; bh < B * NH; ++bh) {
    for (int i = 0; i < T; ++i) {
      double sum = 0;
      for (int j = 0; j < T; ++j) {
        const double p = att[(bh * T + i) * T + j];
        if (j > i) {
          EXPECT_EQ(p, 0.0) << "bh " << bh << " i " << i << " j " << j;
        } else {
          EXPECT_GT(p, 0.0);
        }
        sum += p;
      }
      EXPECT_NEAR(sum, 1.0, 1e-14);
    }
  }
}

TEST(Attention, IsCausal) {
  // Changing token t0's query, key and value changes no output at positions before t0, in any
  // head, and does change position t0. The other batch row is untouched altogether.
  const int B = 2, T = 7, C = 8, NH = 2, t0 = 4;
  Rng rng(35);
  auto qkv = randn(B * T * 3 * C, rng);
  std::vector<double> out1(B * T * C), out2(B * T * C), att(B * NH * T * T);
  attention_forward(out1.data(), att.data(), qkv.data(), B, T, C, NH);
  for (int c = 0; c < 3 * C; ++c) qkv[(0 * T + t0) * 3 * C + c] += 1.0 + rng.normal();
  attention_forward(out2.data(), att.data(), qkv.data(), B, T, C, NH);
  for (int t = 0; t < T; ++t) {
    bool changed = false;
    for (int c = 0; c < C; ++c) changed |= out1[t * C + c] != out2[t * C + c];
    EXPECT_EQ(changed, t >= t0) << "position " << t;
  }
  for (int i = T * C; i < B * T * C; ++i) ASSERT_EQ(out1[i], out2[i]);
}

TEST(Attention, RejectsHeadsThatDoNotDivideChannels) {
  std::vector<double> qkv(3 * 10), out(10), att(3);
  EXPECT_THROW(attention_forward(out.data(), att.data(), qkv.data(), 1, 1, 10, 3), Error);
}

TEST(CrossEntropy, ForwardByHand) {
  // Row 0: logits (1, 2, 3), target 2: -log(e^3 / (e + e^2 + e^3)) = log(e^-2 + e^-1 + 1).
  // Row 1: logits (0, 0, 0), target 0: -log(1/3) = log 3.
  const std::vector<double> logits = {1, 2, 3, 0, 0, 0};
  const std::vector<int> targets = {2, 0};
  const double row0 = std::log(std::exp(-2.0) + std::exp(-1.0) + 1.0), row1 = std::log(3.0);
  std::vector<double> probs(6);
  const double loss = cross_entropy_forward(probs.data(), logits.data(), targets.data(), 2, 3);
  EXPECT_NEAR(loss, (row0 + row1) / 2, 1e-15);
  EXPECT_NEAR(loss, 0.753109126556245, 1e-14);
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(probs[0], std::exp(1.0) / z, 1e-15);
  EXPECT_NEAR(probs[2], std::exp(3.0) / z, 1e-15);
  EXPECT_NEAR(probs[4], 1.0 / 3, 1e-15);

  // In place (probs aliasing logits) gives the same loss and probabilities.
  std::vector<double> inplace = logits;
  EXPECT_EQ(cross_entropy_forward(inplace.data(), inplace.data(), targets.data(), 2, 3), loss);
  EXPECT_EQ(inplace, probs);
}

TEST(CrossEntropy, LargeLogitsStayFinite) {
  // The target's probability underflows to 0 in float; the loss is still logsumexp - logit.
  const std::vector<float> logits = {0.0f, 200.0f};
  const std::vector<int> targets = {0};
  std::vector<float> probs(2);
  const double loss = cross_entropy_forward(probs.data(), logits.data(), targets.data(), 1, 2);
  EXPECT_NEAR(loss, 200.0, 1e-9);
}

TEST(CrossEntropy, RejectsOutOfRangeTarget) {
  const std::vector<double> logits(6);
  std::vector<double> probs(6);
  const std::vector<int> bad_high = {0, 3}, bad_low = {-1, 0};
  EXPECT_THROW(cross_entropy_forward(probs.data(), logits.data(), bad_high.data(), 2, 3), Error);
  EXPECT_THROW(cross_entropy_forward(probs.data(), logits.data(), bad_low.data(), 2, 3), Error);
}

// ---------------------------------------------------------------------------------------------
// Dropout.

TEST(Dropout, ZeroProbabilityIsIdentityAndDrawsNothing) {
  Rng rng(41, RngStream::dropout), untouched(41, RngStream::dropout);
  Rng data(42);
  const auto inp = randn(100, data);
  std::vector<double> out(100), mask(100);
  dropout_forward(out.data(), mask.data(), inp.data(), inp.size(), 0.0, rng);
  EXPECT_EQ(out, inp);
  EXPECT_EQ(mask, std::vector<double>(100, 1.0));
  EXPECT_EQ(rng.next_u64(), untouched.next_u64());  // the stream did not advance
}

TEST(Dropout, MaskIsZeroOrInverseKeepAndSeeded) {
  const size_t n = 20000;
  const double p = 0.25;
  Rng data(43);
  const auto finp = to_float(randn(n, data));
  std::vector<float> out(n), mask(n), out2(n), mask2(n), mask3(n);
  Rng r1(7, RngStream::dropout), r2(7, RngStream::dropout), r3(8, RngStream::dropout);
  dropout_forward(out.data(), mask.data(), finp.data(), n, p, r1);
  dropout_forward(out2.data(), mask2.data(), finp.data(), n, p, r2);
  dropout_forward(out2.data(), mask3.data(), finp.data(), n, p, r3);

  const float keep = static_cast<float>(1.0 / (1.0 - p));
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(mask[i] == 0.0f || mask[i] == keep) << mask[i];
    ASSERT_EQ(out[i], finp[i] * mask[i]);
    kept += mask[i] != 0.0f;
  }
  // Kept fraction 1-p, within 5 standard deviations (sqrt(p (1-p) / n) = 0.003).
  EXPECT_NEAR(static_cast<double>(kept) / n, 1 - p, 5 * std::sqrt(p * (1 - p) / n));
  EXPECT_EQ(mask, mask2);  // same seed and stream: same mask
  EXPECT_NE(mask, mask3);  // another seed: another mask
}

TEST(Dropout, RejectsInvalidProbability) {
  Rng rng(1);
  std::vector<double> x(4), out(4), mask(4);
  EXPECT_THROW(dropout_forward(out.data(), mask.data(), x.data(), 4, 1.0, rng), Error);
  EXPECT_THROW(dropout_forward(out.data(), mask.data(), x.data(), 4, -0.1, rng), Error);
}

// ---------------------------------------------------------------------------------------------
// Float against double: the training precision agrees with the checked one. Inputs are drawn
// in float and widened, so both runs see identical values.

TEST(FloatVsDouble, Attention) {
  const int B = 2, T = 16, C = 32, NH = 4;
  Rng rng(51);
  const auto fqkv = to_float(randn(B * T * 3 * C, rng));
  const auto fdout = to_float(randn(B * T * C, rng));
  const auto qkv = to_double(fqkv), dout = to_double(fdout);

  std::vector<float> fout(B * T * C), fatt(B * NH * T * T), fdqkv(fqkv.size()), fscratch(T * T);
  attention_forward(fout.data(), fatt.data(), fqkv.data(), B, T, C, NH);
  attention_backward(fdqkv.data(), fscratch.data(), fdout.data(), fqkv.data(), fatt.data(), B, T, C,
                     NH);
  std::vector<double> out(B * T * C), att(B * NH * T * T), dqkv(qkv.size()), scratch(T * T);
  attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH);
  attention_backward(dqkv.data(), scratch.data(), dout.data(), qkv.data(), att.data(), B, T, C, NH);

  const double e_out = max_abs_diff(to_double(fout), out);
  const double e_att = max_abs_diff(to_double(fatt), att);
  const double e_grad = max_abs_diff(to_double(fdqkv), dqkv) / max_abs(dqkv);
  std::printf("[ float/dbl ] attention: out %.1e, att %.1e, dqkv %.1e (rel to max)\n", e_out, e_att,
              e_grad);
  EXPECT_LT(e_out, 1e-5);
  EXPECT_LT(e_att, 1e-5);
  EXPECT_LT(e_grad, 1e-5);
}

TEST(FloatVsDouble, LayerNorm) {
  const int N = 8, C = 64;
  Rng rng(52);
  const auto fx = to_float(randn(N * C, rng, 1.0, 2.0)), fw = to_float(randn(C, rng, 0.2, 1.0)),
             fb = to_float(randn(C, rng)), fdout = to_float(randn(N * C, rng));
  const auto x = to_double(fx), w = to_double(fw), b = to_double(fb), dout = to_double(fdout);

  std::vector<float> fout(N * C), fmean(N), frstd(N), fdx(N * C), fdw(C), fdb(C);
  layernorm_forward(fout.data(), fmean.data(), frstd.data(), fx.data(), fw.data(), fb.data(), N, C,
                    1e-5f);
  layernorm_backward(fdx.data(), fdw.data(), fdb.data(), fdout.data(), fx.data(), fw.data(),
                     fmean.data(), frstd.data(), N, C);
  std::vector<double> out(N * C), mean(N), rstd(N), dx(N * C), dw(C), db(C);
  layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 1e-5);
  layernorm_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), mean.data(),
                     rstd.data(), N, C);

  const double e_out = max_abs_diff(to_double(fout), out);
  const double e_dx = max_abs_diff(to_double(fdx), dx) / max_abs(dx);
  const double e_dw = max_abs_diff(to_double(fdw), dw) / max_abs(dw);
  const double e_db = max_abs_diff(to_double(fdb), db) / max_abs(db);
  std::printf("[ float/dbl ] layernorm: out %.1e, dinp %.1e, dweight %.1e, dbias %.1e\n", e_out,
              e_dx, e_dw, e_db);
  EXPECT_LT(e_out, 1e-5);
  EXPECT_LT(e_dx, 1e-5);
  EXPECT_LT(e_dw, 1e-5);
  EXPECT_LT(e_db, 1e-5);
}

}  // namespace
}  // namespace wdlab
