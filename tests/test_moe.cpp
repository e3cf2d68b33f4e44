// Mixture-of-experts layer tests (layers/moe.h). The core is a double-precision finite-difference
// check of every input and weight for both router kinds (Grok-1's softmax-then-top-k, Mixtral's
// top-k-then-softmax), with and without the load-balancing loss, top-1 and top-2 of 4 experts.
// Inputs are drawn away from routing ties (the k-th and (k+1)-th logits of every token differ by
// far more than any perturbation can move them) and every loss evaluation asserts that the
// routing did not change. Around that: forward against a naive per-token reference that runs
// every expert densely, the routing weights' normalisation (Grok: as-is, sum < 1; Mixtral: sum
// 1), deterministic tie-breaking on exactly equal logits, the aux loss by hand, a cache used for
// fewer tokens than it was sized for, float against double, and proof that the check catches a
// broken routing-weight gradient.
#include <gtest/gtest.h>

#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <ostream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "gradcheck.h"
#include "layers/moe.h"

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

// Same tolerance and reasoning as test_layers.cpp: a correct backward lands near 1e-8, a wrong
// one is off by O(1) relative.
constexpr double kGradTol = 1e-6;

const char* router_name(RouterKind r) {
  return r == RouterKind::softmax_topk ? "softmax_topk" : "topk_softmax";
}

// ---------------------------------------------------------------------------------------------
// Naive reference: one token at a time, every expert computed densely, then the top-k chosen
// by the router's rule (std::stable_sort keeps the lower index first on ties).

double naive_act(double g, GluKind kind) {
  if (kind == GluKind::swiglu) return g / (1.0 + std::exp(-g));
  const double u = std::sqrt(2.0 / std::numbers::pi) * (g + 0.044715 * g * g * g);
  return 0.5 * g * (1.0 + std::tanh(u));
}

struct NaiveResult {
  std::vector<double> out;               // (N, C)
  std::vector<std::vector<int>> chosen;  // per token, best first
  std::vector<std::vector<double>> weight;
  std::vector<std::vector<double>> probs;            // per token, all E
  std::vector<std::vector<std::vector<double>>> ys;  // per token, per expert (C)
  double aux = 0.0;
};

NaiveResult naive_moe(const std::vector<double>& inp, const std::vector<double>& router,
                      const std::vector<double>& fc, const std::vector<double>& proj,
                      const MoeShape& s) {
  const int N = s.N, C = s.C, H = s.H, E = s.E, K = s.K;
  NaiveResult r;
  r.out.assign(size_t(N) * C, 0.0);
  std::vector<int> count(E, 0);
  std::vector<double> mean_p(E, 0.0);
  for (int n = 0; n < N; ++n) {
    const double* x = &inp[size_t(n) * C];
    std::vector<double> logit(E), p(E);
    for (int e = 0; e < E; ++e) {
      logit[e] = 0.0;
      for (int c = 0; c < C; ++c) logit[e] += router[size_t(e) * C + c] * x[c];
    }
    const double m = *std::max_element(logit.begin(), logit.end());
    double z = 0.0;
    for (int e = 0; e < E; ++e) z += std::exp(logit[e] - m);
    for (int e = 0; e < E; ++e) p[e] = std::exp(logit[e] - m) / z;
    // Every expert, densely.
    std::vector<std::vector<double>> y(E, std::vector<double>(C, 0.0));
    for (int e = 0; e < E; ++e) {
      std::vector<double> gu(2 * H, 0.0), a(H);
      for (int j = 0; j < 2 * H; ++j) {
        for (int c = 0; c < C; ++c) gu[j] += fc[(size_t(e) * 2 * H + j) * C + c] * x[c];
      }
      for (int j = 0; j < H; ++j) a[j] = naive_act(gu[j], s.activation) * gu[H + j];
      for (int c = 0; c < C; ++c) {
        for (int j = 0; j < H; ++j) y[e][c] += proj[(size_t(e) * C + c) * H + j] * a[j];
      }
    }
    // Selection.
    const std::vector<double>& score = s.router == RouterKind::softmax_topk ? p : logit;
    std::vector<int> order(E);
    for (int e = 0; e < E; ++e) order[e] = e;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return score[a] > score[b]; });
    order.resize(K);
    std::vector<double> w(K);
    if (s.router == RouterKind::softmax_topk) {
      for (int k = 0; k < K; ++k) w[k] = p[order[k]];
    } else {
      double zk = 0.0;
      for (int k = 0; k < K; ++k) zk += std::exp(logit[order[k]]);
      for (int k = 0; k < K; ++k) w[k] = std::exp(logit[order[k]]) / zk;
    }
    for (int k = 0; k < K; ++k) {
      ++count[order[k]];
      for (int c = 0; c < C; ++c) r.out[size_t(n) * C + c] += w[k] * y[order[k]][c];
    }
    for (int e = 0; e < E; ++e) mean_p[e] += p[e] / N;
    r.chosen.push_back(order);
    r.weight.push_back(w);
    r.probs.push_back(p);
    r.ys.push_back(y);
  }
  double sum = 0.0;
  for (int e = 0; e < E; ++e) sum += double(count[e]) / (N * K) * mean_p[e];
  r.aux = s.aux_coef * E * sum;
  return r;
}

// ---------------------------------------------------------------------------------------------
// A random problem with a safe routing margin.

struct Problem {
  MoeShape s;
  std::vector<double> inp, router, fc, proj, dout;
};

// Smallest gap, over tokens, between the k-th and (k+1)-th largest router logit (infinite when
// K == E), and whether every expert receives at least one token.
double routing_margin(const Problem& p, bool* all_used) {
  const MoeShape& s = p.s;
  double margin = INFINITY;
  std::vector<int> used(s.E, 0);
  for (int n = 0; n < s.N; ++n) {
    std::vector<double> l(s.E, 0.0);
    for (int e = 0; e < s.E; ++e) {
      for (int c = 0; c < s.C; ++c)
        l[e] += p.router[size_t(e) * s.C + c] * p.inp[size_t(n) * s.C + c];
    }
    std::vector<int> order(s.E);
    for (int e = 0; e < s.E; ++e) order[e] = e;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return l[a] > l[b]; });
    for (int k = 0; k < s.K; ++k) used[order[k]] = 1;
    if (s.K < s.E) margin = std::min(margin, l[order[s.K - 1]] - l[order[s.K]]);
  }
  *all_used = std::all_of(used.begin(), used.end(), [](int u) { return u != 0; });
  return margin;
}

// Draws until every token's top-k is separated from the rest by at least min_margin in the
// logits and every expert is used. With float_exact, values are rounded to float first so a
// float and a double run see identical inputs.
Problem make_problem(const MoeShape& s, uint64_t seed, double min_margin = 0.05,
                     bool float_exact = false) {
  Rng rng(seed);
  Problem p;
  p.s = s;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    p.inp = randn(size_t(s.N) * s.C, rng);
    p.router = randn(size_t(s.E) * s.C, rng, 0.6);
    p.fc = randn(size_t(s.E) * 2 * s.H * s.C, rng, 0.5);
    p.proj = randn(size_t(s.E) * s.C * s.H, rng, 0.5);
    p.dout = randn(size_t(s.N) * s.C, rng);
    if (float_exact) {
      for (auto* v : {&p.inp, &p.router, &p.fc, &p.proj, &p.dout}) *v = to_double(to_float(*v));
    }
    bool all_used = false;
    if (routing_margin(p, &all_used) >= min_margin && all_used) return p;
  }
  ADD_FAILURE() << "no problem with routing margin " << min_margin << " for seed " << seed;
  return p;
}

struct Grads {
  std::vector<double> inp, router, fc, proj;
  explicit Grads(const MoeShape& s)
      : inp(size_t(s.N) * s.C),
        router(size_t(s.E) * s.C),
        fc(size_t(s.E) * 2 * s.H * s.C),
        proj(size_t(s.E) * s.C * s.H) {}
};

void backward(Grads& g, const std::vector<double>& dout, MoeCache<double>& cache, const Problem& p,
              double aux_scale) {
  MoeScratch<double> scratch(cache.max_N, cache.C, cache.H, cache.E, cache.K);
  moe_backward(g.inp.data(), g.router.data(), g.fc.data(), g.proj.data(), dout.data(), cache,
               scratch, p.inp.data(), p.router.data(), p.fc.data(), p.proj.data(), p.s, aux_scale);
}

double forward(std::vector<double>& out, MoeCache<double>& cache, const Problem& p) {
  return moe_forward(out.data(), cache, p.inp.data(), p.router.data(), p.fc.data(), p.proj.data(),
                     p.s);
}

MoeShape shape(int N, int C, int H, int E, int K, RouterKind router, GluKind act, double aux_coef) {
  MoeShape s;
  s.N = N;
  s.C = C;
  s.H = H;
  s.E = E;
  s.K = K;
  s.router = router;
  s.activation = act;
  s.aux_coef = aux_coef;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Gradient checks.

struct GradCase {
  RouterKind router;
  GluKind activation;
  int K;
  double aux_coef;
};

std::string case_name(const GradCase& c) {
  std::string name = router_name(c.router);
  name += c.activation == GluKind::swiglu ? "_swiglu" : "_geglu";
  name += "_top" + std::to_string(c.K);
  name += c.aux_coef == 0.0 ? "_noaux" : "_aux";
  return name;
}

// For gtest's messages (instead of a byte dump of the struct).
void PrintTo(const GradCase& c, std::ostream* os) {
  *os << case_name(c);
}

class MoeGrad : public ::testing::TestWithParam<GradCase> {};

// Runs a full check of every tensor on p (using `cache`, which may be larger than p needs).
GradCheckResult full_check(const Problem& p_in, MoeCache<double>& cache, double aux_scale) {
  Problem p = p_in;
  std::vector<double> out(size_t(p.s.N) * p.s.C);
  Grads g(p.s);
  forward(out, cache, p);
  backward(g, p.dout, cache, p, aux_scale);
  const std::vector<int> routing(cache.expert.begin(), cache.expert.begin() + p.s.N * p.s.K);
  int flips = 0;
  auto loss = [&] {
    const double aux = forward(out, cache, p);
    if (!std::equal(routing.begin(), routing.end(), cache.expert.begin())) ++flips;
    return dot(p.dout, out) + aux_scale * aux;
  };
  const GradCheckResult r =
      check_gradients<double>(loss, {{"inp", p.inp.data(), g.inp.data(), p.inp.size()},
                                     {"router", p.router.data(), g.router.data(), p.router.size()},
                                     {"fc", p.fc.data(), g.fc.data(), p.fc.size()},
                                     {"proj", p.proj.data(), g.proj.data(), p.proj.size()}});
  EXPECT_EQ(flips, 0) << "a perturbation changed the routing; the check is meaningless";
  return r;
}

TEST_P(MoeGrad, MatchesFiniteDifferences) {
  const GradCase& c = GetParam();
  const MoeShape s = shape(8, 5, 3, 4, c.K, c.router, c.activation, c.aux_coef);
  const Problem p = make_problem(s, 100 + c.K * 10 + (c.aux_coef > 0) + 2 * int(c.router));
  MoeCache<double> cache(s.N, s.C, s.H, s.E, s.K);
  const GradCheckResult r = full_check(p, cache, /*aux_scale=*/0.7);
  std::printf("[ gradcheck ] moe %-32s max rel error %.2e over %zu entries\n", case_name(c).c_str(),
              r.max_rel_error, r.checked);
  EXPECT_LT(r.max_rel_error, kGradTol) << r.worst;
}

std::vector<GradCase> grad_cases() {
  std::vector<GradCase> cases;
  for (RouterKind router : {RouterKind::softmax_topk, RouterKind::topk_softmax}) {
    // The published pairings: Grok-1 GeGLU, Mixtral SwiGLU.
    const GluKind act = router == RouterKind::softmax_topk ? GluKind::geglu : GluKind::swiglu;
    for (int K : {1, 2}) {
      for (double aux : {0.0, 0.1}) cases.push_back({router, act, K, aux});
    }
  }
  // And the crossed pairings once.
  cases.push_back({RouterKind::softmax_topk, GluKind::swiglu, 2, 0.1});
  cases.push_back({RouterKind::topk_softmax, GluKind::geglu, 2, 0.1});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Moe, MoeGrad, ::testing::ValuesIn(grad_cases()),
                         [](const ::testing::TestParamInfo<GradCase>& info) {
                           return case_name(info.param);
                         });

// Backward accumulates into every gradient (+=), and a repeated backward gives the same result.
TEST(Moe, BackwardAccumulates) {
  for (RouterKind router : {RouterKind::softmax_topk, RouterKind::topk_softmax}) {
    const MoeShape s = shape(8, 5, 3, 4, 2, router, GluKind::swiglu, 0.1);
    const Problem p = make_problem(s, 7);
    MoeCache<double> cache(s.N, s.C, s.H, s.E, s.K);
    std::vector<double> out(size_t(s.N) * s.C);
    forward(out, cache, p);
    Grads fresh(s);
    backward(fresh, p.dout, cache, p, 0.5);
    Rng rng(8);
    Grads acc(s);
    for (auto* v : {&acc.inp, &acc.router, &acc.fc, &acc.proj}) *v = randn(v->size(), rng);
    const Grads before = acc;
    backward(acc, p.dout, cache, p, 0.5);
    auto check = [&](const std::vector<double>& a, const std::vector<double>& b,
                     const std::vector<double>& f, const char* name) {
      double err = 0.0;
      for (size_t i = 0; i < a.size(); ++i) err = std::max(err, std::abs(a[i] - b[i] - f[i]));
      EXPECT_LT(err, 1e-12) << router_name(router) << " " << name;
    };
    check(acc.inp, before.inp, fresh.inp, "dinp");
    check(acc.router, before.router, fresh.router, "drouter");
    check(acc.fc, before.fc, fresh.fc, "dfc");
    check(acc.proj, before.proj, fresh.proj, "dproj");
  }
}

// The point of the check: a broken routing-weight gradient must fail it by a wide margin. The
// router's gradient only flows through the logits, so drouter = dlogits^T inp; build dlogits in
// the test from the naive expert outputs, correctly and in three realistic broken ways.
TEST(Moe, GradCheckCatchesBrokenRoutingGradient) {
  const MoeShape s = shape(8, 5, 3, 4, 2, RouterKind::softmax_topk, GluKind::geglu, 0.0);
  Problem p = make_problem(s, 300);
  MoeCache<double> cache(s.N, s.C, s.H, s.E, s.K);
  std::vector<double> out(size_t(s.N) * s.C);
  forward(out, cache, p);
  Grads g(s);
  backward(g, p.dout, cache, p, 1.0);
  const NaiveResult ref = naive_moe(p.inp, p.router, p.fc, p.proj, s);

  // dlogits variants -> drouter candidates.
  enum Variant { correct, no_softmax_backward, selected_only };
  auto drouter = [&](Variant v) {
    std::vector<double> dr(size_t(s.E) * s.C, 0.0);
    for (int n = 0; n < s.N; ++n) {
      const std::vector<double>& pr = ref.probs[n];
      std::vector<double> gsel(s.E, 0.0), dl(s.E, 0.0);
      for (int k = 0; k < s.K; ++k) {
        const int e = ref.chosen[n][k];
        gsel[e] = dot(&p.dout[size_t(n) * s.C], ref.ys[n][e].data(), s.C);  // d(weight_k)
      }
      double pg = 0.0;
      for (int e = 0; e < s.E; ++e) pg += pr[e] * gsel[e];
      for (int e = 0; e < s.E; ++e) {
        const bool selected = gsel[e] != 0.0;
        if (v == correct) dl[e] = pr[e] * (gsel[e] - pg);
        if (v == no_softmax_backward) dl[e] = gsel[e];  // weights treated as if they were logits
        if (v == selected_only) dl[e] = selected ? pr[e] * (gsel[e] - pg) : 0.0;  // forgets the
        // normaliser's dependence on the unselected logits
      }
      for (int e = 0; e < s.E; ++e) {
        for (int c = 0; c < s.C; ++c) dr[size_t(e) * s.C + c] += dl[e] * p.inp[size_t(n) * s.C + c];
      }
    }
    return dr;
  };
  auto loss = [&] {
    forward(out, cache, p);
    return dot(p.dout, out);
  };
  auto check = [&](const std::vector<double>& candidate) {
    return check_gradients<double>(
        loss, {{"router", p.router.data(), candidate.data(), candidate.size()}});
  };
  // The test-side correct gradient agrees with moe_backward's, and both pass.
  const std::vector<double> dr_ok = drouter(correct);
  EXPECT_LT(max_abs_diff(dr_ok, g.router), 1e-12 * std::max(1.0, max_abs(g.router)));
  const GradCheckResult good = check(g.router);
  EXPECT_LT(good.max_rel_error, kGradTol) << good.worst;

  const GradCheckResult r_a = check(drouter(no_softmax_backward));
  std::printf("[ gradcheck ] broken: no softmax backward  max rel error %.2e\n", r_a.max_rel_error);
  EXPECT_GT(r_a.max_rel_error, 1e3 * kGradTol) << r_a.worst;
  const GradCheckResult r_b = check(drouter(selected_only));
  std::printf("[ gradcheck ] broken: selected logits only max rel error %.2e\n", r_b.max_rel_error);
  EXPECT_GT(r_b.max_rel_error, 1e3 * kGradTol) << r_b.worst;

  // Aux loss in the objective but its gradient missing (backward told aux_scale = 0).
  MoeShape sa = s;
  sa.router = RouterKind::topk_softmax;
  sa.aux_coef = 0.1;
  Problem pa = make_problem(sa, 301);
  MoeCache<double> ca(sa.N, sa.C, sa.H, sa.E, sa.K);
  forward(out, ca, pa);
  Grads without_aux(sa), with_aux(sa);
  backward(without_aux, pa.dout, ca, pa, 0.0);
  backward(with_aux, pa.dout, ca, pa, 1.0);
  auto loss_aux = [&] {
    const double aux = forward(out, ca, pa);
    return dot(pa.dout, out) + aux;
  };
  const GradCheckResult ok_aux = check_gradients<double>(
      loss_aux, {{"router", pa.router.data(), with_aux.router.data(), pa.router.size()}});
  EXPECT_LT(ok_aux.max_rel_error, kGradTol) << ok_aux.worst;
  const GradCheckResult r_c = check_gradients<double>(
      loss_aux, {{"router", pa.router.data(), without_aux.router.data(), pa.router.size()}});
  std::printf("[ gradcheck ] broken: aux gradient missing max rel error %.2e\n", r_c.max_rel_error);
  EXPECT_GT(r_c.max_rel_error, 1e3 * kGradTol) << r_c.worst;
}

// ---------------------------------------------------------------------------------------------
// Forward values.

TEST(Moe, ForwardMatchesNaive) {
  for (RouterKind router : {RouterKind::softmax_topk, RouterKind::topk_softmax}) {
    for (GluKind act : {GluKind::swiglu, GluKind::geglu}) {
      for (int K : {1, 2, 3, 4}) {
        const MoeShape s = shape(12, 6, 4, 4, K, router, act, 0.02);
        const Problem p = make_problem(s, 400 + K, 1e-3);
        MoeCache<double> cache(s.N, s.C, s.H, s.E, s.K);
        std::vector<double> out(size_t(s.N) * s.C, 123.0);  // overwritten, not accumulated
        const double aux = forward(out, cache, p);
        const NaiveResult ref = naive_moe(p.inp, p.router, p.fc, p.proj, s);
        const std::string what = std::string(router_name(router)) + " K=" + std::to_string(K);
        EXPECT_LT(max_abs_diff(out, ref.out), 1e-12 * std::max(1.0, max_abs(ref.out))) << what;
        EXPECT_NEAR(aux, ref.aux, 1e-15) << what;
        for (int n = 0; n < s.N; ++n) {
          for (int k = 0; k < K; ++k) {
            EXPECT_EQ(cache.expert[size_t(n) * K + k], ref.chosen[n][k]) << what;
            EXPECT_NEAR(cache.weight[size_t(n) * K + k], ref.weight[n][k], 1e-15) << what;
          }
        }
      }
    }
  }
}

// Grok-1 uses the selected probabilities as they are (their sum is below 1 unless K = E);
// Mixtral's weights are a softmax over the selected logits and sum to 1. Seen both in the cache
// and in the output: with all experts identical, out = (sum of weights) * expert(inp).
TEST(Moe, RoutingWeightNormalisation) {
  for (RouterKind router : {RouterKind::softmax_topk, RouterKind::topk_softmax}) {
    const MoeShape s = shape(10, 5, 3, 4, 2, router, GluKind::geglu, 0.0);
    Problem p = make_problem(s, 500);
    // Every expert a copy of expert 0.
    const size_t fc_e = size_t(2) * s.H * s.C, proj_e = size_t(s.C) * s.H;
    for (int e = 1; e < s.E; ++e) {
      std::copy_n(p.fc.begin(), fc_e, p.fc.begin() + e * fc_e);
      std::copy_n(p.proj.begin(), proj_e, p.proj.begin() + e * proj_e);
    }
    MoeCache<double> cache(s.N, s.C, s.H, s.E, s.K);
    std::vector<double> out(size_t(s.N) * s.C);
    forward(out, cache, p);
    MoeShape one = s;  // K = E = 1: the router picks expert 0 with weight 1 under both rules
    one.E = 1;
    one.K = 1;
    Problem p1 = p;
    p1.s = one;
    p1.router.assign(size_t(s.C), 0.0);
    p1.fc.resize(fc_e);
    p1.proj.resize(proj_e);
    MoeCache<double> c1(s.N, s.C, s.H, 1, 1);
    std::vector<double> expert0(size_t(s.N) * s.C);
    forward(expert0, c1, p1);

    double min_sum = INFINITY, max_sum = 0.0, out_err = 0.0;
    for (int n = 0; n < s.N; ++n) {
      const double sum = cache.weight[size_t(n) * 2] + cache.weight[size_t(n) * 2 + 1];
      EXPECT_GE(cache.weight[size_t(n) * 2], cache.weight[size_t(n) * 2 + 1]);  // best first
      min_sum = std::min(min_sum, sum);
      max_sum = std::max(max_sum, sum);
      for (int c = 0; c < s.C; ++c) {
        out_err = std::max(out_err,
                           std::abs(out[size_t(n) * s.C + c] - sum * expert0[size_t(n) * s.C + c]));
      }
      if (router == RouterKind::softmax_topk) {
        for (int k = 0; k < 2; ++k) {  // the weights are the full-softmax probabilities
          const size_t i = size_t(n) * 2 + k;
          EXPECT_EQ(cache.weight[i], cache.probs[size_t(n) * s.E + cache.expert[i]]);
        }
      }
    }
    std::printf("[ routing   ] %s: weight sums in [%.4f, %.4f]\n", router_name(router), min_sum,
                max_sum);
    EXPECT_LT(out_err, 1e-13);
    if (router == RouterKind::softmax_topk) {
      EXPECT_LT(max_sum, 1.0 - 1e-3);  // not renormalised
      EXPECT_GT(min_sum, 0.5);         // the top two of four always hold more than half
    } else {
      EXPECT_NEAR(min_sum, 1.0, 1e-15);
      EXPECT_NEAR(max_sum, 1.0, 1e-15);
    }
  }
}

// Exactly equal logits (small dyadic values: every product and sum is exact in any order, so
// BLAS cannot break the tie by rounding) go to the lower expert index, every time.
TEST(Moe, TiesGoToLowerIndex) {
  const int C = 2, E = 4, H = 2;
  // router rows give logits  e0: 0,  e1: x0 + x1,  e2: x0/2 + 2 x1,  e3: x0.
  const std::vector<double> router = {0, 0, 1, 1, 0.5, 2, 1, 0};
  const std::vector<double> inp = {
      1.0, 0.5,    // logits (0, 1.5, 1.5, 1):   e1 = e2 tie for first
      1.0, -0.25,  // logits (0, 0.75, 0, 1):    e3, e1, then e0 = e2 tie for third
      0.0, 0.0,    // logits all 0:              four-way tie
  };
  const std::vector<std::vector<int>> expect_order = {{1, 2, 3, 0}, {3, 1, 0, 2}, {0, 1, 2, 3}};
  Rng rng(600);
  for (RouterKind r : {RouterKind::softmax_topk, RouterKind::topk_softmax}) {
    for (int K = 1; K <= E; ++K) {
      Problem p;
      p.s = shape(3, C, H, E, K, r, GluKind::swiglu, 0.0);
      p.inp = inp;
      p.router = router;
      p.fc = randn(size_t(E) * 2 * H * C, rng, 0.5);
      p.proj = randn(size_t(E) * C * H, rng, 0.5);
      MoeCache<double> cache(3, C, H, E, K);
      std::vector<double> out1(3 * C), out2(3 * C);
      forward(out1, cache, p);
      for (int n = 0; n < 3; ++n) {
        for (int k = 0; k < K; ++k) {
          EXPECT_EQ(cache.expert[size_t(n) * K + k], expect_order[n][k])
              << router_name(r) << " K=" << K << " token " << n << " choice " << k;
        }
      }
      const std::vector<int> first(cache.expert.begin(), cache.expert.begin() + 3 * K);
      forward(out2, cache, p);
      EXPECT_EQ(out1, out2);  // bit for bit
      EXPECT_TRUE(std::equal(first.begin(), first.end(), cache.expert.begin()));
      const NaiveResult ref = naive_moe(p.inp, p.router, p.fc, p.proj, p.s);
      EXPECT_LT(max_abs_diff(out1, ref.out), 1e-13) << router_name(r) << " K=" << K;
    }
  }
}

// aux = coef * E * sum_e f_e P_e by hand. E = 2, router = identity, so the logits are the
// inputs: tokens 0 and 1 have p = (3/4, 1/4) (logits ln 3, 0), token 2 has p = (1/5, 4/5)
// (logits 0, ln 4). P = (1.7/3, 1.3/3).
//   K = 1: f = (2/3, 1/3), aux = coef * 2 * (2/3 * 1.7/3 + 1/3 * 1.3/3) = coef * 9.4/9.
//   K = 2 = E: f = (1/2, 1/2), aux = coef * 2 * (1/2) * (P_0 + P_1) = coef.
TEST(Moe, AuxLossByHand) {
  const double l3 = std::log(3.0), l4 = std::log(4.0);
  Rng rng(700);
  for (RouterKind r : {RouterKind::softmax_topk, RouterKind::topk_softmax}) {
    for (int K : {1, 2}) {
      for (double coef : {0.0, 0.01}) {
        Problem p;
        p.s = shape(3, 2, 2, 2, K, r, GluKind::geglu, coef);
        p.inp = {l3, 0, l3, 0, 0, l4};
        p.router = {1, 0, 0, 1};
        p.fc = randn(2 * 2 * 2 * 2, rng);
        p.proj = randn(2 * 2 * 2, rng);
        MoeCache<double> cache(3, 2, 2, 2, K);
        std::vector<double> out(6);
        const double aux = forward(out, cache, p);
        const double expect = coef * (K == 1 ? 9.4 / 9.0 : 1.0);
        EXPECT_NEAR(aux, expect, 1e-15) << router_name(r) << " K=" << K << " coef=" << coef;
        EXPECT_NEAR(cache.mean_prob[0], 1.7 / 3, 1e-15);
        EXPECT_NEAR(cache.fraction[0], K == 1 ? 2.0 / 3 : 0.5, 1e-15);
      }
    }
  }
}

// A cache sized for 12 tokens serves 5: after a 12-token step, a 5-token step gives what a cache
// sized exactly for 5 gives, and its gradients pass the check. Out-of-range N and mismatched
// shapes are errors.
TEST(Moe, CacheServesFewerTokens) {
  for (RouterKind r : {RouterKind::softmax_topk, RouterKind::topk_softmax}) {
    const MoeShape big = shape(12, 5, 3, 4, 2, r, GluKind::swiglu, 0.1);
    MoeShape small = big;
    small.N = 5;
    const Problem pb = make_problem(big, 800), ps = make_problem(small, 801);
    MoeCache<double> cache(12, 5, 3, 4, 2), exact(5, 5, 3, 4, 2);
    std::vector<double> out_b(12 * 5), out_s(5 * 5), out_e(5 * 5);
    forward(out_b, cache, pb);
    Grads gb(big);
    backward(gb, pb.dout, cache, pb, 1.0);

    const double aux_s = forward(out_s, cache, ps);
    Grads gs(small);
    backward(gs, ps.dout, cache, ps, 1.0);
    const double aux_e = forward(out_e, exact, ps);
    Grads ge(small);
    backward(ge, ps.dout, exact, ps, 1.0);
    EXPECT_LT(max_abs_diff(out_s, out_e), 1e-14);
    EXPECT_NEAR(aux_s, aux_e, 1e-16);
    EXPECT_LT(max_abs_diff(gs.inp, ge.inp), 1e-13);
    EXPECT_LT(max_abs_diff(gs.router, ge.router), 1e-13);
    EXPECT_LT(max_abs_diff(gs.fc, ge.fc), 1e-13);
    EXPECT_LT(max_abs_diff(gs.proj, ge.proj), 1e-13);

    const GradCheckResult res = full_check(ps, cache, 1.0);
    EXPECT_LT(res.max_rel_error, kGradTol) << res.worst;

    // Errors: N beyond max_N, shape mismatch, backward after a forward of another N.
    MoeCache<double> tiny(4, 5, 3, 4, 2);
    EXPECT_THROW(forward(out_s, tiny, ps), Error);
    Problem wrong = ps;
    wrong.s.H = 2;
    EXPECT_THROW(forward(out_s, cache, wrong), Error);
    forward(out_b, cache, pb);
    EXPECT_THROW(backward(gs, ps.dout, cache, ps, 1.0), Error);
    EXPECT_THROW(MoeCache<double>(4, 5, 3, 2, 3), Error);  // K > E
  }
}

// ---------------------------------------------------------------------------------------------
// Float against double: the training precision agrees with the checked one. Inputs are drawn
// in float and widened; the routing margin keeps float rounding from changing a choice.

TEST(Moe, FloatVsDouble) {
  for (RouterKind r : {RouterKind::softmax_topk, RouterKind::topk_softmax}) {
    const MoeShape s = shape(32, 16, 12, 4, 2, r, GluKind::swiglu, 0.01);
    const Problem p = make_problem(s, 900, 1e-2, /*float_exact=*/true);
    MoeCache<double> cd(s.N, s.C, s.H, s.E, s.K);
    MoeCache<float> cf(s.N, s.C, s.H, s.E, s.K);
    std::vector<double> out(size_t(s.N) * s.C);
    const double aux = forward(out, cd, p);
    Grads g(s);
    backward(g, p.dout, cd, p, 1.0);

    const auto finp = to_float(p.inp), frouter = to_float(p.router), ffc = to_float(p.fc),
               fproj = to_float(p.proj), fdout = to_float(p.dout);
    std::vector<float> fout(out.size()), fdinp(g.inp.size()), fdrouter(g.router.size()),
        fdfc(g.fc.size()), fdproj(g.proj.size());
    const double faux =
        moe_forward(fout.data(), cf, finp.data(), frouter.data(), ffc.data(), fproj.data(), s);
    MoeScratch<float> fscratch(cf.max_N, cf.C, cf.H, cf.E, cf.K);
    moe_backward(fdinp.data(), fdrouter.data(), fdfc.data(), fdproj.data(), fdout.data(), cf,
                 fscratch, finp.data(), frouter.data(), ffc.data(), fproj.data(), s, 1.0f);

    EXPECT_TRUE(std::equal(cd.expert.begin(), cd.expert.end(), cf.expert.begin()));
    const double e_out = max_abs_diff(to_double(fout), out) / max_abs(out);
    const double e_aux = std::abs(faux - aux) / aux;
    const double e_inp = max_abs_diff(to_double(fdinp), g.inp) / max_abs(g.inp);
    const double e_router = max_abs_diff(to_double(fdrouter), g.router) / max_abs(g.router);
    const double e_fc = max_abs_diff(to_double(fdfc), g.fc) / max_abs(g.fc);
    const double e_proj = max_abs_diff(to_double(fdproj), g.proj) / max_abs(g.proj);
    std::printf(
        "[ float/dbl ] moe %s: out %.1e, aux %.1e, dinp %.1e, drouter %.1e, dfc %.1e, dproj %.1e "
        "(rel to max)\n",
        router_name(r), e_out, e_aux, e_inp, e_router, e_fc, e_proj);
    EXPECT_LT(e_out, 1e-5);
    EXPECT_LT(e_aux, 1e-5);
    EXPECT_LT(e_inp, 1e-5);
    EXPECT_LT(e_router, 1e-5);
    EXPECT_LT(e_fc, 1e-5);
    EXPECT_LT(e_proj, 1e-5);
  }
}

}  // namespace
}  // namespace wdlab
