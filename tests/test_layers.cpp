// Layer tests. The core is a finite-difference gradient check of every backward pass, run in
// double precision (the layers are instantiated for double for exactly this): each layer is
// wrapped as a LayerCase with loss L = sum(dout * forward(...)) for a fixed random dout, and the
// analytic gradients of all its inputs and parameters are compared with central differences
// (tests/gradcheck.h). Attention is checked in every shape the models use (multi-head, grouped-
// query, multi-query, a head size unrelated to the width, a sliding window, a soft-cap, all of
// them at once, and behind RoPE). Around that: accumulation (+=) semantics, the null-pointer
// paths, forward values against naive references and hand computations, attention causality and
// windowing, RoPE's rotation properties, dropout's mask and RNG contract, float-vs-double
// agreement, and a check that the checker catches a broken backward.
#include <gtest/gtest.h>

#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <complex>
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
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/gelu.h"
#include "layers/glu.h"
#include "layers/layernorm.h"
#include "layers/linear.h"
#include "layers/residual.h"
#include "layers/rmsnorm.h"
#include "layers/rope.h"

namespace wdlab {
namespace {
using test::max_abs;
using test::max_abs_diff;
using test::randn;
using test::to_double;
using test::to_float;

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

// Attention shapes shared by the gradient checks and the forward-vs-naive tests, with the scale
// of the random qkv entries (larger for the soft-capped shapes, so that tanh is well into its
// nonlinear range: see Attention.SoftcapIsNonlinearOnTheTestInputs).
struct AttentionCase {
  AttentionShape shape;
  double input_scale = 1.0;
};

AttentionShape attention_shape(int B, int T, int NH, int NKV, int HS, int window = 0,
                               double softcap = 0.0) {
  AttentionShape s;
  s.B = B, s.T = T, s.NH = NH, s.NKV = NKV, s.HS = HS, s.window = window, s.softcap = softcap;
  return s;
}

const std::map<std::string, AttentionCase>& attention_cases() {
  static const std::map<std::string, AttentionCase> cases = {
      {"mha", {attention_shape(2, 5, 2, 2, 4)}},
      {"gqa", {attention_shape(2, 5, 4, 2, 3)}},  // query heads 0,1 share KV head 0; 2,3 head 1
      {"mqa", {attention_shape(2, 5, 3, 1, 4)}},  // one KV head for all query heads
      // HS = 5 with NH = 2: a width-8 model would have C / NH = 4 (PaLM-style wide heads).
      {"head_size", {attention_shape(2, 5, 2, 2, 5)}},
      {"window", {attention_shape(2, 7, 2, 2, 4, 2)}},  // each position sees itself + 2 before
      {"window_1", {attention_shape(1, 6, 2, 1, 3, 1)}},
      {"window_ge_T", {attention_shape(1, 5, 2, 2, 4, 9)}},  // the band covers everything: dense
      {"softcap", {attention_shape(2, 5, 2, 2, 4, 0, 1.0), 1.5}},
      {"combined", {attention_shape(2, 7, 4, 2, 3, 3, 0.8), 1.5}},  // GQA + HS 3 + window + cap
  };
  return cases;
}

std::unique_ptr<LayerCase> attention_case(const std::string& name) {
  const AttentionCase& ac = attention_cases().at(name);
  const AttentionShape s = ac.shape;
  auto lc = std::make_unique<LayerCase>();
  Rng rng(15);
  const size_t BT = static_cast<size_t>(s.B) * s.T;
  const size_t n_out = BT * s.out_width();
  auto& qkv = lc->add("qkv", BT * s.qkv_width(), rng, ac.input_scale);
  double* out = lc->buffer(n_out);
  double* att = lc->buffer(static_cast<size_t>(s.B) * s.NH * s.T * s.T);
  double* cap_grad = lc->buffer(static_cast<size_t>(s.B) * s.NH * s.T * s.T);
  double* scratch = lc->buffer(static_cast<size_t>(s.T) * s.T);
  double* dout = lc->random_buffer(n_out, rng);
  double *x = qkv.value.data(), *dx = qkv.grad.data();
  lc->loss = [=] {
    attention_forward(out, att, x, s, cap_grad);
    return dot(dout, out, n_out);
  };
  lc->backward = [=] {
    attention_forward(out, att, x, s, cap_grad);
    attention_backward(dx, scratch, dout, x, att, s, cap_grad);
  };
  return lc;
}

// masked: rows 1 and 3 carry kMaskedTarget (the loss mask), so the loss is the mean over the
// other four and the backward's scale is 1/4; the masked rows' logits must get no gradient.
std::unique_ptr<LayerCase> cross_entropy_case(double z_coef, bool masked = false) {
  auto lc = std::make_unique<LayerCase>();
  Rng rng(16);
  const int N = 6, V = 7;
  // Shifted logits: log Z is around 3-4, so the z-loss term and its gradient are substantial.
  auto& logits = lc->add("logits", N * V, rng, 2.0, 1.5);
  const int M = kMaskedTarget;
  const int* targets = masked ? lc->ints({0, M, 6, M, 2, 5}) : lc->ints({0, 3, 6, 3, 2, 5});
  const int counted = masked ? 4 : N;
  double* probs = lc->buffer(N * V);
  double* lse = lc->buffer(N);
  double *x = logits.value.data(), *dx = logits.grad.data();
  // L is the mean loss itself (ce + z_loss), so the backward's scale is 1/counted.
  lc->loss = [=] {
    const CrossEntropyLoss r = cross_entropy_forward(probs, lse, x, targets, N, V, z_coef);
    return r.ce + r.z_loss;
  };
  lc->backward = [=] {
    // Forward leaves masked rows of probs as they were: fill them with something a backward that
    // read them would turn into a gradient.
    std::fill_n(probs, N * V, 0.25);
    cross_entropy_forward(probs, lse, x, targets, N, V, z_coef);
    cross_entropy_backward(dx, probs, lse, targets, N, V, z_coef, 1.0 / counted);
  };
  return lc;
}

std::unique_ptr<LayerCase> rmsnorm_case(int N, int C) {
  auto lc = std::make_unique<LayerCase>();
  Rng rng(19);
  auto& inp = lc->add("inp", N * C, rng, 1.5, 0.7);
  auto& w = lc->add("weight", C, rng, 0.3, 1.0);
  double* out = lc->buffer(N * C);
  double* rstd = lc->buffer(N);
  double* dout = lc->random_buffer(N * C, rng);
  double *x = inp.value.data(), *dx = inp.grad.data(), *wv = w.value.data(), *dw = w.grad.data();
  lc->loss = [=] {
    rmsnorm_forward(out, rstd, x, wv, N, C, 1e-5);
    return dot(dout, out, N * C);
  };
  lc->backward = [=] {
    rmsnorm_forward(out, rstd, x, wv, N, C, 1e-5);
    rmsnorm_backward(dx, dw, dout, x, wv, rstd, N, C);
  };
  return lc;
}

// RoPE alone: L = sum(dout * rope(qkv)). rope_backward works in place, so the case rotates a
// copy of dout and adds it to the gradient (keeping the accumulate convention of the others).
std::unique_ptr<LayerCase> rope_case() {
  auto lc = std::make_unique<LayerCase>();
  Rng rng(20);
  const int B = 2, T = 5, NH = 3, NKV = 1, HS = 6;
  const size_t n = static_cast<size_t>(B) * T * (NH + 2 * NKV) * HS;
  auto& qkv = lc->add("qkv", n, rng);
  double* rotated = lc->buffer(n);
  double* cos = lc->buffer(T * HS / 2);
  double* sin = lc->buffer(T * HS / 2);
  rope_table(cos, sin, T, HS, 10.0);  // a small theta: every pair turns noticeably over T
  double* dout = lc->random_buffer(n, rng);
  double* d = lc->buffer(n);
  double *x = qkv.value.data(), *dx = qkv.grad.data();
  lc->loss = [=] {
    std::copy(x, x + n, rotated);
    rope_forward(rotated, cos, sin, B, T, NH, NKV, HS);
    return dot(dout, rotated, n);
  };
  lc->backward = [=] {
    std::copy(dout, dout + n, d);
    rope_backward(d, cos, sin, B, T, NH, NKV, HS);
    for (size_t i = 0; i < n; ++i) dx[i] += d[i];
  };
  return lc;
}

// RoPE as the model uses it: qkv -> rotate q and k in place -> attention (GQA, windowed,
// soft-capped); attention_backward into a zeroed dqkv, rope_backward in place, then added to the
// gradient of the unrotated qkv.
std::unique_ptr<LayerCase> rope_attention_case() {
  auto lc = std::make_unique<LayerCase>();
  Rng rng(22);
  const AttentionShape s = attention_shape(2, 6, 4, 2, 4, 3, 2.0);
  const size_t n = static_cast<size_t>(s.B) * s.T * s.qkv_width();
  const size_t n_out = static_cast<size_t>(s.B) * s.T * s.out_width();
  auto& qkv = lc->add("qkv", n, rng, 1.2);
  double* rotated = lc->buffer(n);
  double* cos = lc->buffer(s.T * s.HS / 2);
  double* sin = lc->buffer(s.T * s.HS / 2);
  rope_table(cos, sin, s.T, s.HS, 10.0);
  double* out = lc->buffer(n_out);
  double* att = lc->buffer(static_cast<size_t>(s.B) * s.NH * s.T * s.T);
  double* cap_grad = lc->buffer(static_cast<size_t>(s.B) * s.NH * s.T * s.T);
  double* scratch = lc->buffer(static_cast<size_t>(s.T) * s.T);
  double* dout = lc->random_buffer(n_out, rng);
  double* d = lc->buffer(n);
  double *x = qkv.value.data(), *dx = qkv.grad.data();
  lc->loss = [=] {
    std::copy(x, x + n, rotated);
    rope_forward(rotated, cos, sin, s.B, s.T, s.NH, s.NKV, s.HS);
    attention_forward(out, att, rotated, s, cap_grad);
    return dot(dout, out, n_out);
  };
  lc->backward = [=] {
    std::copy(x, x + n, rotated);
    rope_forward(rotated, cos, sin, s.B, s.T, s.NH, s.NKV, s.HS);
    attention_forward(out, att, rotated, s, cap_grad);
    std::fill(d, d + n, 0.0);
    attention_backward(d, scratch, dout, rotated, att, s, cap_grad);
    rope_backward(d, cos, sin, s.B, s.T, s.NH, s.NKV, s.HS);
    for (size_t i = 0; i < n; ++i) dx[i] += d[i];
  };
  return lc;
}

std::unique_ptr<LayerCase> glu_case(GluKind kind) {
  auto lc = std::make_unique<LayerCase>();
  Rng rng(23);
  const int N = 3, H = 6;
  // Wide inputs: the gates reach both tails and the curved region of silu / gelu.
  auto& inp = lc->add("inp", N * 2 * H, rng, 2.0);
  double* out = lc->buffer(N * H);
  double* dout = lc->random_buffer(N * H, rng);
  double *x = inp.value.data(), *dx = inp.grad.data();
  lc->loss = [=] {
    glu_forward(out, x, N, H, kind);
    return dot(dout, out, N * H);
  };
  lc->backward = [=] { glu_backward(dx, dout, x, N, H, kind); };
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
      // N = 11: a full group of the rows that go side by side (layernorm.cpp) and a tail.
      {"layernorm_row_groups", [] { return layernorm_case(11, 5, true); }},
      {"gelu", gelu_case},
      {"attention_mha", [] { return attention_case("mha"); }},
      {"attention_gqa", [] { return attention_case("gqa"); }},
      {"attention_mqa", [] { return attention_case("mqa"); }},
      {"attention_head_size", [] { return attention_case("head_size"); }},
      {"attention_window", [] { return attention_case("window"); }},
      {"attention_window_1", [] { return attention_case("window_1"); }},
      {"attention_softcap", [] { return attention_case("softcap"); }},
      {"attention_combined", [] { return attention_case("combined"); }},
      {"cross_entropy", [] { return cross_entropy_case(0.0); }},
      {"cross_entropy_zloss", [] { return cross_entropy_case(0.05); }},
      {"cross_entropy_masked", [] { return cross_entropy_case(0.0, true); }},
      {"cross_entropy_masked_zloss", [] { return cross_entropy_case(0.05, true); }},
      {"rmsnorm", [] { return rmsnorm_case(4, 7); }},
      // C > 64 crosses a block boundary of the weight column sums.
      {"rmsnorm_wide", [] { return rmsnorm_case(3, 70); }},
      {"rmsnorm_row_groups", [] { return rmsnorm_case(11, 5); }},
      {"rope", rope_case},
      {"rope_attention", rope_attention_case},
      {"swiglu", [] { return glu_case(GluKind::swiglu); }},
      {"geglu", [] { return glu_case(GluKind::geglu); }},
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

TEST(GradCheck, EntriesWhoseStepChangesADecisionAreSkippedNotCompared) {
  // L = sum |x_i|: the sign of each x_i is a discrete decision, and x[3] sits within h of it.
  std::vector<double> x = {0.5, -0.7, 1.2, 3e-6, -0.4}, g(x.size());
  for (size_t i = 0; i < x.size(); ++i) g[i] = x[i] > 0 ? 1.0 : -1.0;
  auto loss = [&] {
    double s = 0;
    for (double v : x) s += std::abs(v);
    return s;
  };
  const std::vector<test::GradTensor<double>> tensors = {{"x", x.data(), g.data(), x.size()}};
  const GradCheckResult blind = check_gradients<double>(loss, tensors);
  EXPECT_GT(blind.max_rel_error, 0.3);  // the kink: numeric 0.3 against analytic 1
  EXPECT_NE(blind.worst.find("x[3]"), std::string::npos) << blind.worst;

  test::GradCheckOptions options;
  options.decisions = [&] {
    std::vector<int> signs;
    for (double v : x) signs.push_back(v > 0);
    return signs;
  };
  const GradCheckResult r = check_gradients<double>(loss, tensors, options);
  EXPECT_EQ(r.checked, 4u);
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_NE(r.skipped_worst.find("x[3]"), std::string::npos) << r.skipped_worst;
  EXPECT_LT(r.max_rel_error, kGradTol) << r.worst;
  g[1] *= 1.01;  // a wrong entry away from the kink still fails
  EXPECT_GT(check_gradients<double>(loss, tensors, options).max_rel_error, 1e-3);
}

TEST(GradCheck, RoundoffBandCoversOnlyWhatCentralDifferencesCannotResolve) {
  // Gradients ~1e-6 under a loss of ~100: central differences carry ~100 eps / h ~ 1e-9 of
  // roundoff, 1e-3 of the gradient, so an exact gradient would fail a 1e-6 tolerance by noise.
  Rng rng(3);
  std::vector<double> x = randn(8, rng), g(8);
  for (size_t i = 0; i < x.size(); ++i) g[i] = 2e-6 * x[i];
  auto loss = [&] {
    double s = 100.0;
    for (double v : x) s += 1e-6 * v * v;
    return s;
  };
  const std::vector<test::GradTensor<double>> tensors = {{"x", x.data(), g.data(), x.size()}};
  test::GradCheckOptions no_band;
  no_band.roundoff_units = 0.0;
  EXPECT_GT(check_gradients<double>(loss, tensors, no_band).max_rel_error, kGradTol);
  const GradCheckResult r = check_gradients<double>(loss, tensors);
  EXPECT_LT(r.max_rel_error, kGradTol) << r.worst;
  for (double& v : g) v *= 1.01;  // 1 % off: 2e-8, far above the band
  EXPECT_GT(check_gradients<double>(loss, tensors).max_rel_error, 1e-3);
}

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

  test::GradCheckOptions every_other;
  every_other.max_entries = 5;
  const GradCheckResult sub =
      check_gradients<double>(loss, {{"x", x.data(), g.data(), x.size()}}, every_other);
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

// Attention by its definition, one (b, h, i, j) at a time, with plain loops. Written from the
// header's contract, independently of attention.cpp: query head h reads KV head h * NKV / NH
// (= h / (NH / NKV)), key j is visible to query i iff j <= i and (window == 0 or i - j <= window),
// the score q.k / sqrt(HS) is soft-capped before the softmax.
struct NaiveAttention {
  std::vector<double> out, att;
  double mean_cap_slope = 1.0;  // mean of 1 - tanh^2(score / cap) over visible scores
  double max_abs_score = 0.0;   // before capping
};

NaiveAttention attention_naive(const std::vector<double>& qkv, const AttentionShape& s) {
  const int B = s.B, T = s.T, NH = s.NH, NKV = s.NKV, HS = s.HS;
  const int W = (NH + 2 * NKV) * HS, OW = NH * HS;
  NaiveAttention r;
  r.out.assign(static_cast<size_t>(B) * T * OW, 0.0);
  r.att.assign(static_cast<size_t>(B) * NH * T * T, 0.0);
  double slope_sum = 0.0;
  int visible = 0;
  for (int b = 0; b < B; ++b) {
    for (int h = 0; h < NH; ++h) {
      const int kv = h * NKV / NH;
      for (int i = 0; i < T; ++i) {
        std::vector<double> e(T, 0.0);
        std::vector<bool> seen(T, false);
        double max = -INFINITY;
        for (int j = 0; j < T; ++j) {
          seen[j] = j <= i && (s.window == 0 || i - j <= s.window);
          if (!seen[j]) continue;
          double score = 0.0;
          for (int d = 0; d < HS; ++d) {
            score += qkv[(b * T + i) * W + h * HS + d] * qkv[(b * T + j) * W + (NH + kv) * HS + d];
          }
          score /= std::sqrt(static_cast<double>(HS));
          r.max_abs_score = std::max(r.max_abs_score, std::abs(score));
          if (s.softcap > 0) {
            const double th = std::tanh(score / s.softcap);
            slope_sum += 1 - th * th;
            ++visible;
            score = s.softcap * th;
          }
          e[j] = score;
          max = std::max(max, score);
        }
        double sum = 0.0;
        for (int j = 0; j < T; ++j) {
          e[j] = seen[j] ? std::exp(e[j] - max) : 0.0;
          sum += e[j];
        }
        for (int j = 0; j < T; ++j) {
          const double p = e[j] / sum;
          r.att[((b * NH + h) * T + i) * T + j] = p;
          for (int d = 0; d < HS; ++d) {
            r.out[(b * T + i) * OW + h * HS + d] +=
                p * qkv[(b * T + j) * W + (NH + NKV + kv) * HS + d];
          }
        }
      }
    }
  }
  if (visible > 0) r.mean_cap_slope = slope_sum / visible;
  return r;
}

size_t qkv_size(const AttentionShape& s) {
  return static_cast<size_t>(s.B) * s.T * s.qkv_width();
}
size_t out_size(const AttentionShape& s) {
  return static_cast<size_t>(s.B) * s.T * s.out_width();
}
size_t att_size(const AttentionShape& s) {
  return static_cast<size_t>(s.B) * s.NH * s.T * s.T;
}

std::vector<std::string> attention_case_names() {
  std::vector<std::string> names;
  for (const auto& [name, c] : attention_cases()) names.push_back(name);
  return names;
}

class AttentionForward : public ::testing::TestWithParam<std::string> {};

TEST_P(AttentionForward, MatchesNaiveAndCachesMaskedProbabilities) {
  const AttentionCase& ac = attention_cases().at(GetParam());
  const AttentionShape& s = ac.shape;
  Rng rng(34);
  const auto qkv = randn(qkv_size(s), rng, ac.input_scale);
  std::vector<double> out(out_size(s), 5.0), att(att_size(s), 7.0);  // stale contents ignored
  std::vector<double> cap_grad(att_size(s));
  attention_forward(out.data(), att.data(), qkv.data(), s, cap_grad.data());
  const NaiveAttention ref = attention_naive(qkv, s);
  const double e_out = max_abs_diff(out, ref.out), e_att = max_abs_diff(att, ref.att);
  std::printf("[ naive     ] attention %-12s out %.1e, att %.1e\n", GetParam().c_str(), e_out,
              e_att);
  EXPECT_LT(e_out, 1e-13);
  EXPECT_LT(e_att, 1e-14);
  for (int bh = 0; bh < s.B * s.NH; ++bh) {
    for (int i = 0; i < s.T; ++i) {
      double sum = 0;
      for (int j = 0; j < s.T; ++j) {
        const double p = att[(static_cast<size_t>(bh) * s.T + i) * s.T + j];
        const bool visible = j <= i && (s.window == 0 || j >= i - s.window);
        if (visible) {
          EXPECT_GT(p, 0.0) << "bh " << bh << " i " << i << " j " << j;
        } else {
          EXPECT_EQ(p, 0.0) << "bh " << bh << " i " << i << " j " << j;
        }
        sum += p;
      }
      EXPECT_NEAR(sum, 1.0, 1e-14);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionForward, ::testing::ValuesIn(attention_case_names()),
                         [](const auto& info) { return info.param; });

TEST(Attention, SoftcapIsNonlinearOnTheTestInputs) {
  // The soft-capped cases would not test the cap's derivative if tanh were nearly linear on
  // their scores: require scores well beyond the cap and a mean slope of tanh clearly below 1.
  for (const char* name : {"softcap", "combined"}) {
    const AttentionCase& ac = attention_cases().at(name);
    Rng rng(15);  // the gradient check's inputs
    const NaiveAttention r =
        attention_naive(randn(qkv_size(ac.shape), rng, ac.input_scale), ac.shape);
    std::printf("[ softcap   ] %-8s cap %.2g, max |score| %.2f, mean tanh slope %.2f\n", name,
                ac.shape.softcap, r.max_abs_score, r.mean_cap_slope);
    EXPECT_GT(r.max_abs_score, 2 * ac.shape.softcap) << name;
    EXPECT_LT(r.mean_cap_slope, 0.75) << name;
  }
}

TEST(Attention, WindowEqualsDenseWhenItCoversTheSequence) {
  AttentionShape s = attention_shape(2, 6, 4, 2, 3);
  Rng rng(36);
  const auto qkv = randn(qkv_size(s), rng);
  std::vector<double> dense(out_size(s)), wide(out_size(s)), att(att_size(s));
  attention_forward(dense.data(), att.data(), qkv.data(), s);
  s.window = s.T - 1;  // position T-1 sees all of 0..T-1
  attention_forward(wide.data(), att.data(), qkv.data(), s);
  EXPECT_EQ(dense, wide);
  s.window = s.T - 2;  // one key fewer for the last position only
  attention_forward(wide.data(), att.data(), qkv.data(), s);
  for (int b = 0; b < s.B; ++b) {
    for (int t = 0; t < s.T; ++t) {
      bool changed = false;
      for (int c = 0; c < s.out_width(); ++c) {
        const size_t i = (static_cast<size_t>(b) * s.T + t) * s.out_width() + c;
        changed |= dense[i] != wide[i];
      }
      EXPECT_EQ(changed, t == s.T - 1) << "b " << b << " t " << t;
    }
  }
}

TEST(Attention, SoftcapVanishesForLargeCap) {
  AttentionShape s = attention_shape(2, 5, 2, 1, 4, 2);
  Rng rng(37);
  const auto qkv = randn(qkv_size(s), rng);
  std::vector<double> plain(out_size(s)), capped(out_size(s)), att(att_size(s)),
      cap_grad(att_size(s));
  attention_forward(plain.data(), att.data(), qkv.data(), s);
  s.softcap = 1e6;  // cap tanh(x / cap) = x - x^3 / (3 cap^2) + ...
  attention_forward(capped.data(), att.data(), qkv.data(), s, cap_grad.data());
  EXPECT_LT(max_abs_diff(plain, capped), 1e-10);
  EXPECT_NE(plain, capped);  // but the cap was applied
}

TEST(Attention, IsCausal) {
  // Changing token t0's query, key and value changes no output at positions before t0, in any
  // head, and does change position t0. The other batch row is untouched altogether.
  const AttentionShape s = attention_shape(2, 7, 4, 2, 3);
  const int t0 = 4, W = s.qkv_width(), OW = s.out_width();
  Rng rng(35);
  auto qkv = randn(qkv_size(s), rng);
  std::vector<double> out1(out_size(s)), out2(out_size(s)), att(att_size(s));
  attention_forward(out1.data(), att.data(), qkv.data(), s);
  for (int c = 0; c < W; ++c) qkv[(0 * s.T + t0) * W + c] += 1.0 + rng.normal();
  attention_forward(out2.data(), att.data(), qkv.data(), s);
  for (int t = 0; t < s.T; ++t) {
    bool changed = false;
    for (int c = 0; c < OW; ++c) changed |= out1[t * OW + c] != out2[t * OW + c];
    EXPECT_EQ(changed, t >= t0) << "position " << t;
  }
  for (size_t i = static_cast<size_t>(s.T) * OW; i < out1.size(); ++i) ASSERT_EQ(out1[i], out2[i]);
}

TEST(Attention, WindowHidesOlderKeysAndValues) {
  // With window w, position t reads keys and values of positions t-w..t only: perturbing the
  // keys and values of position t0 (all KV heads) changes exactly the outputs at t0..t0+w, and
  // leaves every other position bit for bit unchanged. Perturbing t0's queries changes only t0.
  const AttentionShape s = attention_shape(1, 7, 4, 2, 3, 2);
  const int W = s.qkv_width(), OW = s.out_width(), kv_begin = s.NH * s.HS;
  Rng rng(38);
  const auto qkv = randn(qkv_size(s), rng);
  std::vector<double> base(out_size(s)), out(out_size(s)), att(att_size(s));
  attention_forward(base.data(), att.data(), qkv.data(), s);
  auto changed_positions = [&](const std::vector<double>& x) {
    attention_forward(out.data(), att.data(), x.data(), s);
    std::vector<int> changed;
    for (int t = 0; t < s.T; ++t) {
      bool c = false;
      for (int k = 0; k < OW; ++k) c |= out[t * OW + k] != base[t * OW + k];
      if (c) changed.push_back(t);
    }
    return changed;
  };
  for (int t0 = 0; t0 < s.T; ++t0) {
    std::vector<double> kv = qkv, q = qkv;
    for (int c = kv_begin; c < W; ++c) kv[t0 * W + c] += 1.0 + rng.normal();
    for (int c = 0; c < kv_begin; ++c) q[t0 * W + c] += 1.0 + rng.normal();
    std::vector<int> expect;
    for (int t = t0; t <= std::min(t0 + s.window, s.T - 1); ++t) expect.push_back(t);
    EXPECT_EQ(changed_positions(kv), expect) << "keys/values of position " << t0;
    // (Position 0 sees one key: its softmax is 1 whatever its query.)
    EXPECT_EQ(changed_positions(q), t0 == 0 ? std::vector<int>{} : std::vector<int>{t0})
        << "queries of position " << t0;
  }
}

TEST(Attention, GroupedQueryEqualsMultiHeadWithRepeatedKeyValueHeads) {
  // GQA with NKV heads is MHA whose KV head h is a copy of GQA KV head h / (NH / NKV). Forward:
  // identical outputs. Backward: the query gradient is the same, and each GQA KV head's gradient
  // is the sum of the gradients of its copies.
  const AttentionShape g = attention_shape(2, 6, 6, 2, 3, 3, 1.5);
  AttentionShape m = g;
  m.NKV = m.NH;
  const int group = g.NH / g.NKV, HS = g.HS, Wg = g.qkv_width(), Wm = m.qkv_width();
  const int BT = g.B * g.T;
  Rng rng(39);
  const auto qkv_g = randn(qkv_size(g), rng, 1.3), dout = randn(out_size(g), rng);
  std::vector<double> qkv_m(qkv_size(m));
  for (int r = 0; r < BT; ++r) {
    for (int c = 0; c < g.NH * HS; ++c) qkv_m[r * Wm + c] = qkv_g[r * Wg + c];
    for (int h = 0; h < m.NH; ++h) {
      for (int d = 0; d < HS; ++d) {
        const int kv = h / group;
        qkv_m[r * Wm + (m.NH + h) * HS + d] = qkv_g[r * Wg + (g.NH + kv) * HS + d];
        qkv_m[r * Wm + (2 * m.NH + h) * HS + d] = qkv_g[r * Wg + (g.NH + g.NKV + kv) * HS + d];
      }
    }
  }
  std::vector<double> out_g(out_size(g)), out_m(out_size(m)), att_g(att_size(g)),
      att_m(att_size(m)), scratch(g.T * g.T), d_g(qkv_size(g)), d_m(qkv_size(m)),
      cap_g(att_size(g)), cap_m(att_size(m));
  attention_forward(out_g.data(), att_g.data(), qkv_g.data(), g, cap_g.data());
  attention_forward(out_m.data(), att_m.data(), qkv_m.data(), m, cap_m.data());
  EXPECT_LT(max_abs_diff(out_g, out_m), 1e-14);
  EXPECT_LT(max_abs_diff(att_g, att_m), 1e-15);
  attention_backward(d_g.data(), scratch.data(), dout.data(), qkv_g.data(), att_g.data(), g,
                     cap_g.data());
  attention_backward(d_m.data(), scratch.data(), dout.data(), qkv_m.data(), att_m.data(), m,
                     cap_m.data());
  double err = 0;
  for (int r = 0; r < BT; ++r) {
    for (int c = 0; c < g.NH * HS; ++c)
      err = std::max(err, std::abs(d_g[r * Wg + c] - d_m[r * Wm + c]));
    for (int kv = 0; kv < g.NKV; ++kv) {
      for (int d = 0; d < HS; ++d) {
        double dk = 0, dv = 0;
        for (int h = kv * group; h < (kv + 1) * group; ++h) {
          dk += d_m[r * Wm + (m.NH + h) * HS + d];
          dv += d_m[r * Wm + (2 * m.NH + h) * HS + d];
        }
        err = std::max(err, std::abs(d_g[r * Wg + (g.NH + kv) * HS + d] - dk));
        err = std::max(err, std::abs(d_g[r * Wg + (g.NH + g.NKV + kv) * HS + d] - dv));
      }
    }
  }
  EXPECT_LT(err, 1e-13);
}

TEST(Attention, RejectsBadShapes) {
  std::vector<double> qkv(1000), out(1000), att(1000);
  auto run = [&](const AttentionShape& s) {
    attention_forward(out.data(), att.data(), qkv.data(), s);
  };
  EXPECT_THROW(run(attention_shape(1, 2, 4, 3, 2)), Error);  // NKV does not divide NH
  EXPECT_THROW(run(attention_shape(1, 2, 4, 0, 2)), Error);  // no KV heads
  EXPECT_THROW(run(attention_shape(1, 2, 4, 2, 0)), Error);  // empty heads
  EXPECT_THROW(run(attention_shape(1, 2, 4, 2, 2, -1)), Error);
  EXPECT_THROW(run(attention_shape(1, 2, 4, 2, 2, 0, -1.0)), Error);
  EXPECT_THROW(run(attention_shape(1, 2, 4, 2, 2, 0, 30.0)), Error);  // soft-cap, no softcap_grad
  std::vector<double> scratch(8), dout(1000);
  EXPECT_THROW(attention_backward(qkv.data(), scratch.data(), dout.data(), qkv.data(), att.data(),
                                  attention_shape(1, 2, 4, 2, 2, 0, 30.0)),
               Error);
  EXPECT_THROW(attention_backward(qkv.data(), scratch.data(), dout.data(), qkv.data(), att.data(),
                                  attention_shape(1, 2, 4, 3, 2)),
               Error);
}

TEST(CrossEntropy, ForwardByHand) {
  // Row 0: logits (1, 2, 3), target 2: -log(e^3 / (e + e^2 + e^3)) = log(e^-2 + e^-1 + 1).
  // Row 1: logits (0, 0, 0), target 0: -log(1/3) = log 3.
  const std::vector<double> logits = {1, 2, 3, 0, 0, 0};
  const std::vector<int> targets = {2, 0};
  const double row0 = std::log(std::exp(-2.0) + std::exp(-1.0) + 1.0), row1 = std::log(3.0);
  std::vector<double> probs(6), lse(2);
  const CrossEntropyLoss loss =
      cross_entropy_forward(probs.data(), lse.data(), logits.data(), targets.data(), 2, 3, 0.0);
  EXPECT_NEAR(loss.ce, (row0 + row1) / 2, 1e-15);
  EXPECT_NEAR(loss.ce, 0.753109126556245, 1e-14);
  EXPECT_EQ(loss.z_loss, 0.0);  // z_coef 0: exactly off
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(probs[0], std::exp(1.0) / z, 1e-15);
  EXPECT_NEAR(probs[2], std::exp(3.0) / z, 1e-15);
  EXPECT_NEAR(probs[4], 1.0 / 3, 1e-15);
  EXPECT_NEAR(lse[0], std::log(z), 1e-15);
  EXPECT_NEAR(lse[1], std::log(3.0), 1e-15);

  // In place (probs aliasing logits) gives the same loss and probabilities.
  std::vector<double> inplace = logits, lse2(2);
  const CrossEntropyLoss l2 =
      cross_entropy_forward(inplace.data(), lse2.data(), inplace.data(), targets.data(), 2, 3, 0.0);
  EXPECT_EQ(l2.ce, loss.ce);
  EXPECT_EQ(inplace, probs);
  EXPECT_EQ(lse2, lse);
}

TEST(CrossEntropy, ZLossByHand) {
  // Same rows as above. log Z: row 0 log(e + e^2 + e^3) = 3.40760596444438, row 1 log 3 =
  // 1.0986122886681098. With z_coef 0.1 the z-loss is 0.1 * (3.4076...^2 + 1.0986...^2) / 2 =
  // 0.6409363684864748 (evaluated in Python), and the cross-entropy part is unchanged.
  const std::vector<double> logits = {1, 2, 3, 0, 0, 0};
  const std::vector<int> targets = {2, 0};
  const double zc = 0.1;
  std::vector<double> probs(6), lse(2);
  const CrossEntropyLoss loss =
      cross_entropy_forward(probs.data(), lse.data(), logits.data(), targets.data(), 2, 3, zc);
  EXPECT_NEAR(loss.ce, 0.753109126556245, 1e-14);
  EXPECT_NEAR(loss.z_loss, 0.6409363684864748, 1e-15);
  EXPECT_NEAR(lse[0], 3.40760596444438, 1e-14);

  // Gradient of row 1 by hand (scale 1/2 for the mean over two rows): every p_v = 1/3 and
  // d/dx_v [ce + zc log^2 Z] = p_v (1 + 2 zc log 3) - [v == 0].
  std::vector<double> d(6, 0.0);
  cross_entropy_backward(d.data(), probs.data(), lse.data(), targets.data(), 2, 3, zc, 0.5);
  const double pv = (1 + 2 * zc * std::log(3.0)) / 3;
  EXPECT_NEAR(d[3], 0.5 * (pv - 1), 1e-15);
  EXPECT_NEAR(d[4], 0.5 * pv, 1e-15);
  EXPECT_NEAR(d[5], 0.5 * pv, 1e-15);
  // The z-loss pushes log Z towards 0: with log Z > 0 every logit's gradient rises.
  std::vector<double> d0(6, 0.0);
  cross_entropy_backward(d0.data(), probs.data(), lse.data(), targets.data(), 2, 3, 0.0, 0.5);
  for (int v = 0; v < 6; ++v) EXPECT_GT(d[v], d0[v]);
}

TEST(CrossEntropy, LargeLogitsStayFinite) {
  // The target's probability underflows to 0 in float; the loss is still logsumexp - logit.
  const std::vector<float> logits = {0.0f, 200.0f};
  const std::vector<int> targets = {0};
  std::vector<float> probs(2), lse(1);
  const CrossEntropyLoss loss =
      cross_entropy_forward(probs.data(), lse.data(), logits.data(), targets.data(), 1, 2, 1e-4);
  EXPECT_NEAR(loss.ce, 200.0, 1e-9);
  EXPECT_NEAR(loss.z_loss, 1e-4 * 200.0 * 200.0, 1e-9);
}

TEST(CrossEntropy, RejectsOutOfRangeTarget) {
  const std::vector<double> logits(6);
  std::vector<double> probs(6), lse(2);
  // -1 is the loss mask (kMaskedTarget), not out of range; -2 is.
  const std::vector<int> bad_high = {0, 3}, bad_low = {-2, 0};
  EXPECT_THROW(
      cross_entropy_forward(probs.data(), lse.data(), logits.data(), bad_high.data(), 2, 3, 0.0),
      Error);
  EXPECT_THROW(
      cross_entropy_forward(probs.data(), lse.data(), logits.data(), bad_low.data(), 2, 3, 0.0),
      Error);
}

// The loss mask: a masked row is not in the loss, the z-loss, the accuracy or the gradient, and
// the means are over the counted rows; a batch of only masked rows has loss 0.
TEST(CrossEntropy, MaskedRowsAreLeftOut) {
  const int M = kMaskedTarget;
  // Row 0 (1, 2, 3) target 2: correct; row 1 masked; row 2 (0, 0, 0) target 0: counted, and
  // correct (the first of tied logits is the argmax, as torch.argmax); row 3 (5, 1, 1) target 1:
  // wrong.
  const std::vector<double> logits = {1, 2, 3, 9, 9, 9, 0, 0, 0, 5, 1, 1};
  const std::vector<int> targets = {2, M, 0, 1};
  const double zc = 0.1;
  std::vector<double> probs(12, 0.25), lse(4);  // masked rows keep 0.25: backward must not read it
  const CrossEntropyLoss loss =
      cross_entropy_forward(probs.data(), lse.data(), logits.data(), targets.data(), 4, 3, zc);
  // The same three rows without the masked one.
  const std::vector<double> kept_logits = {1, 2, 3, 0, 0, 0, 5, 1, 1};
  const std::vector<int> kept_targets = {2, 0, 1};
  std::vector<double> kept_probs(9), kept_lse(3);
  const CrossEntropyLoss kept = cross_entropy_forward(
      kept_probs.data(), kept_lse.data(), kept_logits.data(), kept_targets.data(), 3, 3, zc);
  EXPECT_EQ(loss.counted, 3);
  EXPECT_EQ(kept.counted, 3);
  EXPECT_EQ(loss.correct, 2);
  EXPECT_DOUBLE_EQ(loss.ce, kept.ce);
  EXPECT_DOUBLE_EQ(loss.z_loss, kept.z_loss);

  std::vector<double> d(12, 0.0), kept_d(9, 0.0);
  cross_entropy_backward(d.data(), probs.data(), lse.data(), targets.data(), 4, 3, zc, 1.0 / 3);
  cross_entropy_backward(kept_d.data(), kept_probs.data(), kept_lse.data(), kept_targets.data(), 3,
                         3, zc, 1.0 / 3);
  for (int v = 0; v < 3; ++v) {
    EXPECT_EQ(d[3 + v], 0.0) << "masked row, logit " << v;
    EXPECT_DOUBLE_EQ(d[v], kept_d[v]);
    EXPECT_DOUBLE_EQ(d[6 + v], kept_d[3 + v]);
    EXPECT_DOUBLE_EQ(d[9 + v], kept_d[6 + v]);
  }

  const std::vector<int> all_masked = {M, M, M, M};
  const CrossEntropyLoss none =
      cross_entropy_forward(probs.data(), lse.data(), logits.data(), all_masked.data(), 4, 3, zc);
  EXPECT_EQ(none.counted, 0);
  EXPECT_EQ(none.ce, 0.0);
  EXPECT_EQ(none.z_loss, 0.0);
}

TEST(RMSNorm, ForwardMatchesNaive) {
  const int N = 3, C = 9;
  const double eps = 1e-5;
  Rng rng(40);
  const auto x = randn(N * C, rng, 2.0, 3.0), w = randn(C, rng);
  std::vector<double> out(N * C), rstd(N);
  rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, eps);
  for (int n = 0; n < N; ++n) {
    double ms = 0;
    for (int c = 0; c < C; ++c) ms += x[n * C + c] * x[n * C + c] / C;
    EXPECT_NEAR(rstd[n], 1 / std::sqrt(ms + eps), 1e-14);
    for (int c = 0; c < C; ++c) {
      EXPECT_NEAR(out[n * C + c], x[n * C + c] / std::sqrt(ms + eps) * w[c], 1e-13);
    }
  }
  // No mean subtraction: a constant row with unit gain normalises to +-1 (up to eps).
  const std::vector<double> flat(C, -4.0), ones(C, 1.0);
  std::vector<double> o(C), r(1);
  rmsnorm_forward(o.data(), r.data(), flat.data(), ones.data(), 1, C, 0.0);
  for (double v : o) EXPECT_NEAR(v, -1.0, 1e-15);
}

// ---------------------------------------------------------------------------------------------
// RoPE.

// The rotation by its definition: channel pair (2i, 2i+1) of head h at position t, read as the
// complex number x_2i + i x_2i+1, is multiplied by e^(i t / theta^(2i/HS)).
std::vector<double> rope_naive(const std::vector<double>& qkv, int B, int T, int NH, int NKV,
                               int HS, double theta) {
  std::vector<double> out = qkv;
  const int W = (NH + 2 * NKV) * HS;
  for (int b = 0; b < B; ++b) {
    for (int t = 0; t < T; ++t) {
      for (int h = 0; h < NH + NKV; ++h) {  // query heads, then key heads
        for (int i = 0; i < HS / 2; ++i) {
          const size_t at = (static_cast<size_t>(b) * T + t) * W + h * HS + 2 * i;
          const std::complex<double> z(qkv[at], qkv[at + 1]);
          const std::complex<double> r = z * std::polar(1.0, t / std::pow(theta, 2.0 * i / HS));
          out[at] = r.real();
          out[at + 1] = r.imag();
        }
      }
    }
  }
  return out;
}

struct RopeSetup {
  int B = 2, T = 5, NH = 4, NKV = 2, HS = 6;
  double theta = 10.0;
  std::vector<double> cos, sin;
  RopeSetup() : cos(T * HS / 2), sin(T * HS / 2) {
    rope_table(cos.data(), sin.data(), T, HS, theta);
  }
  size_t size() const { return static_cast<size_t>(B) * T * (NH + 2 * NKV) * HS; }
  void forward(std::vector<double>& x) const {
    rope_forward(x.data(), cos.data(), sin.data(), B, T, NH, NKV, HS);
  }
  void backward(std::vector<double>& x) const {
    rope_backward(x.data(), cos.data(), sin.data(), B, T, NH, NKV, HS);
  }
};

TEST(Rope, TableMatchesDefinition) {
  const int T = 6, HS = 8;
  const double theta = 10000.0;
  std::vector<double> cos(T * HS / 2), sin(T * HS / 2);
  rope_table(cos.data(), sin.data(), T, HS, theta);
  for (int t = 0; t < T; ++t) {
    for (int i = 0; i < HS / 2; ++i) {
      const double angle = t * std::exp(-std::log(theta) * 2 * i / HS);
      EXPECT_NEAR(cos[t * HS / 2 + i], std::cos(angle), 1e-15);
      EXPECT_NEAR(sin[t * HS / 2 + i], std::sin(angle), 1e-15);
    }
  }
  for (int i = 0; i < HS / 2; ++i) {  // t = 0
    EXPECT_EQ(cos[i], 1.0);
    EXPECT_EQ(sin[i], 0.0);
  }
  EXPECT_EQ(sin[HS / 2 * 3 + 0], std::sin(3.0));  // pair 0 turns by exactly t radians
}

TEST(Rope, ForwardMatchesNaiveRotationAndLeavesValuesAlone) {
  const RopeSetup r;
  Rng rng(60);
  const auto x = randn(r.size(), rng);
  std::vector<double> y = x;
  r.forward(y);
  const auto ref = rope_naive(x, r.B, r.T, r.NH, r.NKV, r.HS, r.theta);
  EXPECT_LT(max_abs_diff(y, ref), 1e-14);
  const int W = (r.NH + 2 * r.NKV) * r.HS, v0 = (r.NH + r.NKV) * r.HS;
  for (int row = 0; row < r.B * r.T; ++row) {
    for (int c = v0; c < W; ++c) ASSERT_EQ(y[row * W + c], x[row * W + c]) << "value channel " << c;
  }
  // Position 0 is not rotated at all; every other position of q and k is.
  for (int c = 0; c < v0; ++c) ASSERT_EQ(y[c], x[c]);
  EXPECT_NE(std::vector<double>(y.begin() + W, y.begin() + W + v0),
            std::vector<double>(x.begin() + W, x.begin() + W + v0));
}

TEST(Rope, PreservesEachPairsNorm) {
  const RopeSetup r;
  Rng rng(61);
  const auto x = randn(r.size(), rng);
  std::vector<double> y = x;
  r.forward(y);
  double err = 0;
  for (size_t i = 0; i < x.size(); i += 2) {
    err = std::max(err, std::abs(std::hypot(y[i], y[i + 1]) - std::hypot(x[i], x[i + 1])));
  }
  EXPECT_LT(err, 1e-14);
}

TEST(Rope, BackwardIsTheExactTranspose) {
  // <rope(x), y> == <x, rope_backward(y)> for random x, y; and rope_backward undoes rope.
  const RopeSetup r;
  Rng rng(62);
  const auto x = randn(r.size(), rng), y = randn(r.size(), rng);
  std::vector<double> rx = x, bty = y;
  r.forward(rx);
  r.backward(bty);
  const double lhs = dot(rx, y), rhs = dot(x, bty);
  std::printf("[ rope      ] <Rx,y> = %.15f, <x,R^T y> = %.15f\n", lhs, rhs);
  EXPECT_NEAR(lhs, rhs, 1e-13 * std::max(1.0, std::abs(lhs)));
  std::vector<double> back = rx;
  r.backward(back);
  EXPECT_LT(max_abs_diff(back, x), 1e-15 * 4);
}

TEST(Rope, ScoresDependOnlyOnTheOffset) {
  // The same query at every position and the same key at every position: after the rotation
  // q_t . k_s depends on t - s only (RoPE's relative-position property).
  RopeSetup r;
  r.B = 1, r.NH = 1, r.NKV = 1;
  const int W = 3 * r.HS;
  Rng rng(63);
  const auto q = randn(r.HS, rng), k = randn(r.HS, rng);
  std::vector<double> x(r.size());
  for (int t = 0; t < r.T; ++t) {
    std::copy(q.begin(), q.end(), x.begin() + t * W);
    std::copy(k.begin(), k.end(), x.begin() + t * W + r.HS);
  }
  r.forward(x);
  auto score = [&](int t, int s) { return dot(&x[t * W], &x[s * W + r.HS], r.HS); };
  for (int t = 0; t < r.T; ++t) {
    for (int s = 0; s < r.T; ++s) {
      const int lo = std::min(t, s);
      EXPECT_NEAR(score(t, s), score(t - lo, s - lo), 1e-13) << t << ", " << s;
    }
  }
}

TEST(Rope, LongerTableServesShorterSequences) {
  // The model builds the table once for block_size positions and runs shorter sequences on it.
  const RopeSetup r;  // T = 5
  std::vector<double> cos16(16 * r.HS / 2), sin16(16 * r.HS / 2);
  rope_table(cos16.data(), sin16.data(), 16, r.HS, r.theta);
  Rng rng(64);
  const auto x = randn(r.size(), rng);
  std::vector<double> a = x, b = x;
  r.forward(a);
  rope_forward(b.data(), cos16.data(), sin16.data(), r.B, r.T, r.NH, r.NKV, r.HS);
  EXPECT_EQ(a, b);
}

TEST(Rope, RejectsOddHeadSize) {
  std::vector<double> cos(10), sin(10), qkv(30);
  EXPECT_THROW(rope_table(cos.data(), sin.data(), 2, 5, 10000.0), Error);
  EXPECT_THROW(rope_forward(qkv.data(), cos.data(), sin.data(), 1, 2, 1, 1, 5), Error);
}

// ---------------------------------------------------------------------------------------------
// Gated units.

TEST(Glu, SwigluMatchesFormula) {
  const int N = 3, H = 4;
  Rng rng(70);
  const auto x = randn(N * 2 * H, rng, 3.0);
  std::vector<double> out(N * H);
  glu_forward(out.data(), x.data(), N, H, GluKind::swiglu);
  for (int n = 0; n < N; ++n) {
    for (int j = 0; j < H; ++j) {
      const double g = x[n * 2 * H + j], u = x[n * 2 * H + H + j];
      EXPECT_NEAR(out[n * H + j], g / (1 + std::exp(-g)) * u, 1e-14);
    }
  }
}

TEST(Glu, GegluIsGeluTimesUp) {
  // The gate goes through exactly gelu.h's tanh GELU: same formula, same rounding.
  const int N = 3, H = 4;
  Rng rng(71);
  const auto x = randn(N * 2 * H, rng, 3.0);
  std::vector<double> out(N * H), g(H), gelu(H);
  glu_forward(out.data(), x.data(), N, H, GluKind::geglu);
  const auto fx = to_float(x);
  std::vector<float> fout(N * H), fg(H), fgelu(H);
  glu_forward(fout.data(), fx.data(), N, H, GluKind::geglu);
  for (int n = 0; n < N; ++n) {
    gelu_forward(gelu.data(), &x[n * 2 * H], H);
    gelu_forward(fgelu.data(), &fx[n * 2 * H], H);
    for (int j = 0; j < H; ++j) {
      EXPECT_EQ(out[n * H + j], gelu[j] * x[n * 2 * H + H + j]);
      EXPECT_EQ(fout[n * H + j], fgelu[j] * fx[n * 2 * H + H + j]);
    }
  }
  // And a hand value: gelu_tanh(1) = 0.8411919906082768 (see Gelu.ForwardMatchesTanhFormula).
  const std::vector<double> one = {1.0, 2.0};
  std::vector<double> o(1);
  glu_forward(o.data(), one.data(), 1, 1, GluKind::geglu);
  EXPECT_NEAR(o[0], 2 * 0.8411919906082768, 1e-15);
}

TEST(Glu, SwigluIsStableForHugeGates) {
  // Huge gates neither overflow to inf nor produce nan in float.
  const std::vector<float> x = {-1000.0f, -90.0f, 90.0f, 1000.0f, 2.0f, 2.0f, 2.0f, 2.0f};
  std::vector<float> out(4), d(8, 0.0f);
  const std::vector<float> dout(4, 1.0f);
  glu_forward(out.data(), x.data(), 1, 4, GluKind::swiglu);
  glu_backward(d.data(), dout.data(), x.data(), 1, 4, GluKind::swiglu);
  // silu(-1000) is 0 to float precision; exp_approx clamps at e^-88, leaving ~1e-36.
  EXPECT_NEAR(out[0], 0.0f, 1e-30f);
  EXPECT_NEAR(out[1], 0.0f, 1e-30f);
  EXPECT_EQ(out[2], 180.0f);
  EXPECT_EQ(out[3], 2000.0f);
  for (float v : d) EXPECT_TRUE(std::isfinite(v)) << v;
  EXPECT_EQ(d[3], 2.0f);  // silu'(large) = 1, times up = 2
  EXPECT_NEAR(d[0], 0.0f, 1e-30f);
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
  // Everything at once, at a size where the float roundoff has room to build up.
  const AttentionShape s = attention_shape(2, 16, 4, 2, 8, 5, 2.0);
  Rng rng(51);
  const auto fqkv = to_float(randn(qkv_size(s), rng));
  const auto fdout = to_float(randn(out_size(s), rng));
  const auto qkv = to_double(fqkv), dout = to_double(fdout);
  const size_t n_scratch = static_cast<size_t>(s.T) * s.T;
  std::vector<double> cap_grad(att_size(s));

  std::vector<float> fout(out_size(s)), fatt(att_size(s)), fdqkv(fqkv.size()), fscratch(n_scratch);
  attention_forward(fout.data(), fatt.data(), fqkv.data(), s, cap_grad.data());
  attention_backward(fdqkv.data(), fscratch.data(), fdout.data(), fqkv.data(), fatt.data(), s,
                     cap_grad.data());
  std::vector<double> out(out_size(s)), att(att_size(s)), dqkv(qkv.size()), scratch(n_scratch);
  attention_forward(out.data(), att.data(), qkv.data(), s, cap_grad.data());
  attention_backward(dqkv.data(), scratch.data(), dout.data(), qkv.data(), att.data(), s,
                     cap_grad.data());

  const double e_out = max_abs_diff(to_double(fout), out);
  const double e_att = max_abs_diff(to_double(fatt), att);
  const double e_grad = max_abs_diff(to_double(fdqkv), dqkv) / max_abs(dqkv);
  std::printf("[ float/dbl ] attention: out %.1e, att %.1e, dqkv %.1e (rel to max)\n", e_out, e_att,
              e_grad);
  EXPECT_LT(e_out, 1e-5);
  EXPECT_LT(e_att, 1e-5);
  EXPECT_LT(e_grad, 1e-5);
}

TEST(FloatVsDouble, RMSNorm) {
  const int N = 8, C = 100;
  Rng rng(53);
  const auto fx = to_float(randn(N * C, rng, 1.0, 2.0)), fw = to_float(randn(C, rng, 0.2, 1.0)),
             fdout = to_float(randn(N * C, rng));
  const auto x = to_double(fx), w = to_double(fw), dout = to_double(fdout);

  std::vector<float> fout(N * C), frstd(N), fdx(N * C), fdw(C);
  rmsnorm_forward(fout.data(), frstd.data(), fx.data(), fw.data(), N, C, 1e-5f);
  rmsnorm_backward(fdx.data(), fdw.data(), fdout.data(), fx.data(), fw.data(), frstd.data(), N, C);
  std::vector<double> out(N * C), rstd(N), dx(N * C), dw(C);
  rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5);
  rmsnorm_backward(dx.data(), dw.data(), dout.data(), x.data(), w.data(), rstd.data(), N, C);

  const double e_out = max_abs_diff(to_double(fout), out);
  const double e_dx = max_abs_diff(to_double(fdx), dx) / max_abs(dx);
  const double e_dw = max_abs_diff(to_double(fdw), dw) / max_abs(dw);
  std::printf("[ float/dbl ] rmsnorm: out %.1e, dinp %.1e, dweight %.1e\n", e_out, e_dx, e_dw);
  EXPECT_LT(e_out, 1e-5);
  EXPECT_LT(e_dx, 1e-5);
  EXPECT_LT(e_dw, 1e-5);
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
