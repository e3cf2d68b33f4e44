#include "layers/moe.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "core/gemm.h"

namespace wdlab {
namespace {

// Index of the largest v[e] among the experts not yet in chosen[0..k); the strict comparison
// keeps the lower index on ties. NaN values never win a comparison, so the result is always a
// valid index (the output is NaN anyway).
template <typename F>
int argmax_excluding(const F* v, int E, const int* chosen, int k) {
  int best = -1;
  for (int e = 0; e < E; ++e) {
    if (std::find(chosen, chosen + k, e) != chosen + k) continue;
    if (best < 0 || v[e] > v[best]) best = e;
  }
  return best;
}

size_t sz(int a) {
  return static_cast<size_t>(a);
}

}  // namespace

template <typename F>
MoeCache<F>::MoeCache(int max_N_, int C_, int H_, int E_, int K_)
    : max_N(max_N_), C(C_), H(H_), E(E_), K(K_) {
  WD_CHECK(max_N > 0 && C > 0 && H > 0, "moe: max_N, C, H must be positive, got {}, {}, {}", max_N,
           C, H);
  WD_CHECK(E > 0 && K > 0 && K <= E, "moe: need 1 <= top_k <= n_expert, got top_k {}, n_expert {}",
           K, E);
  const size_t rows = sz(max_N) * sz(K);
  logits.assign(sz(max_N) * sz(E), F(0));
  probs.assign(sz(max_N) * sz(E), F(0));
  expert.assign(rows, 0);
  weight.assign(rows, F(0));
  slot.assign(rows, 0);
  offset.assign(sz(E) + 1, 0);
  token.assign(rows, 0);
  fraction.assign(sz(E), 0.0);
  mean_prob.assign(sz(E), 0.0);
  prob_sum.assign(sz(E), 0.0);
  x.assign(rows * sz(C), F(0));
  gate_up.assign(rows * 2 * sz(H), F(0));
  act.assign(rows * sz(H), F(0));
  y.assign(rows * sz(C), F(0));
  fill.assign(sz(E), 0);
}

template <typename F>
MoeScratch<F>::MoeScratch(int max_N_, int C, int H, int E, int K) : max_N(max_N_) {
  const size_t rows = sz(max_N) * sz(K);
  dy.assign(rows * sz(C), F(0));
  dact.assign(rows * sz(H), F(0));
  dgate_up.assign(rows * 2 * sz(H), F(0));
  dlogits.assign(sz(max_N) * sz(E), F(0));
  dweight.assign(rows, 0.0);
}

template <typename F>
double moe_forward(F* out, MoeCache<F>& cache, const F* inp, const F* router, const F* fc,
                   const F* proj, const MoeShape& s) {
  MoeCache<F>& c = cache;
  WD_CHECK(s.N > 0 && s.N <= c.max_N, "moe_forward: N = {} outside 1..max_N = {}", s.N, c.max_N);
  WD_CHECK(s.C == c.C && s.H == c.H && s.E == c.E && s.K == c.K,
           "moe_forward: shape (C {}, H {}, E {}, K {}) differs from the cache's ({}, {}, {}, {})",
           s.C, s.H, s.E, s.K, c.C, c.H, c.E, c.K);
  const int N = s.N, C = s.C, H = s.H, E = s.E, K = s.K;
  const int rows = N * K;
  c.N = N;

  // Router logits (N,E) = inp (N,C) @ router (E,C)^T.
  gemm(false, true, N, E, C, F(1), inp, C, router, C, F(0), c.logits.data(), E);

  // Softmax over all E (double), top-k selection and routing weights.
  for (int n = 0; n < N; ++n) {
    const F* l = c.logits.data() + sz(n) * sz(E);
    F* p = c.probs.data() + sz(n) * sz(E);
    double max_l = l[0];
    for (int e = 1; e < E; ++e) max_l = std::max(max_l, static_cast<double>(l[e]));
    double sum = 0.0;
    for (int e = 0; e < E; ++e) sum += std::exp(static_cast<double>(l[e]) - max_l);
    for (int e = 0; e < E; ++e) {
      p[e] = static_cast<F>(std::exp(static_cast<double>(l[e]) - max_l) / sum);
    }

    int* chosen = c.expert.data() + sz(n) * sz(K);
    F* w = c.weight.data() + sz(n) * sz(K);
    // Grok-1 ranks the probabilities, Mixtral the logits (the same order up to rounding).
    const F* score = s.router == RouterKind::softmax_topk ? p : l;
    for (int k = 0; k < K; ++k) chosen[k] = argmax_excluding(score, E, chosen, k);
    if (s.router == RouterKind::softmax_topk) {
      for (int k = 0; k < K; ++k) w[k] = p[chosen[k]];
    } else {
      const double top = l[chosen[0]];
      double z = 0.0;
      for (int k = 0; k < K; ++k) z += std::exp(static_cast<double>(l[chosen[k]]) - top);
      for (int k = 0; k < K; ++k) {
        w[k] = static_cast<F>(std::exp(static_cast<double>(l[chosen[k]]) - top) / z);
      }
    }
  }

  // Group the (token, choice) pairs by expert, tokens ascending within an expert.
  std::fill(c.fill.begin(), c.fill.end(), 0);
  for (int i = 0; i < rows; ++i) ++c.fill[sz(c.expert[sz(i)])];
  c.offset[0] = 0;
  for (int e = 0; e < E; ++e) {
    c.offset[sz(e) + 1] = c.offset[sz(e)] + c.fill[sz(e)];
    c.fraction[sz(e)] = static_cast<double>(c.fill[sz(e)]) / rows;
  }
  std::fill(c.fill.begin(), c.fill.end(), 0);
  for (int n = 0; n < N; ++n) {
    for (int k = 0; k < K; ++k) {
      const size_t i = sz(n) * sz(K) + sz(k);
      const int e = c.expert[i];
      const int r = c.offset[sz(e)] + c.fill[sz(e)]++;
      c.slot[i] = r;
      c.token[sz(r)] = n;
      std::copy_n(inp + sz(n) * sz(C), C, c.x.data() + sz(r) * sz(C));
    }
  }

  // Experts: gate_up = x @ fc_e^T, act = glu(gate_up), y = act @ proj_e^T.
  for (int e = 0; e < E; ++e) {
    const int r0 = c.offset[sz(e)], m = c.offset[sz(e) + 1] - r0;
    if (m == 0) continue;
    gemm(false, true, m, 2 * H, C, F(1), c.x.data() + sz(r0) * sz(C), C,
         fc + sz(e) * 2 * sz(H) * sz(C), C, F(0), c.gate_up.data() + sz(r0) * 2 * sz(H), 2 * H);
  }
  glu_forward(c.act.data(), c.gate_up.data(), rows, H, s.activation);  // row-wise: all at once
  for (int e = 0; e < E; ++e) {
    const int r0 = c.offset[sz(e)], m = c.offset[sz(e) + 1] - r0;
    if (m == 0) continue;
    gemm(false, true, m, C, H, F(1), c.act.data() + sz(r0) * sz(H), H, proj + sz(e) * sz(C) * sz(H),
         H, F(0), c.y.data() + sz(r0) * sz(C), C);
  }

  // out_n = sum_k weight_{n,k} * y[slot_{n,k}], overwritten; summed in double, k in order.
  for (int n = 0; n < N; ++n) {
    F* o = out + sz(n) * sz(C);
    const F* w = c.weight.data() + sz(n) * sz(K);
    const int* sl = c.slot.data() + sz(n) * sz(K);
    for (int j = 0; j < C; ++j) {
      double acc = 0.0;
      for (int k = 0; k < K; ++k) {
        acc += static_cast<double>(w[k]) * static_cast<double>(c.y[sz(sl[k]) * sz(C) + sz(j)]);
      }
      o[j] = static_cast<F>(acc);
    }
  }

  // Load balancing: aux = coef * E * sum_e f_e P_e.
  double aux = 0.0;
  for (int e = 0; e < E; ++e) {
    double acc = 0.0;
    for (int n = 0; n < N; ++n) acc += c.probs[sz(n) * sz(E) + sz(e)];
    c.prob_sum[sz(e)] = acc;
    c.mean_prob[sz(e)] = acc / N;
    aux += c.fraction[sz(e)] * c.mean_prob[sz(e)];
  }
  return s.aux_coef == 0.0 ? 0.0 : s.aux_coef * E * aux;
}

template <typename F>
void moe_backward(F* dinp, F* drouter, F* dfc, F* dproj, const F* dout, const MoeCache<F>& cache,
                  MoeScratch<F>& scratch, const F* inp, const F* router, const F* fc, const F* proj,
                  const MoeShape& s, F aux_scale) {
  const MoeCache<F>& c = cache;
  MoeScratch<F>& t = scratch;
  WD_CHECK(c.N > 0 && s.N == c.N, "moe_backward: N = {} but the last forward had N = {}", s.N, c.N);
  WD_CHECK(s.C == c.C && s.H == c.H && s.E == c.E && s.K == c.K,
           "moe_backward: shape (C {}, H {}, E {}, K {}) differs from the cache's ({}, {}, {}, {})",
           s.C, s.H, s.E, s.K, c.C, c.H, c.E, c.K);
  WD_CHECK(s.N <= t.max_N, "moe_backward: scratch holds {} tokens, got {}", t.max_N, s.N);
  const int N = s.N, C = s.C, H = s.H, E = s.E, K = s.K;
  const int rows = N * K;

  // Expert path: dy[slot_{n,k}] = weight_{n,k} * dout_n.
  for (int n = 0; n < N; ++n) {
    const F* d = dout + sz(n) * sz(C);
    for (int k = 0; k < K; ++k) {
      const size_t i = sz(n) * sz(K) + sz(k);
      const F w = c.weight[i];
      F* dyr = t.dy.data() + sz(c.slot[i]) * sz(C);
      for (int j = 0; j < C; ++j) dyr[j] = w * d[j];
    }
  }

  // Experts backward: dproj_e += dy_e^T act_e, dact_e = dy_e proj_e.
  for (int e = 0; e < E; ++e) {
    const int r0 = c.offset[sz(e)], m = c.offset[sz(e) + 1] - r0;
    if (m == 0) continue;
    const F* dy_e = t.dy.data() + sz(r0) * sz(C);
    gemm(true, false, C, H, m, F(1), dy_e, C, c.act.data() + sz(r0) * sz(H), H, F(1),
         dproj + sz(e) * sz(C) * sz(H), H);
    gemm(false, false, m, H, C, F(1), dy_e, C, proj + sz(e) * sz(C) * sz(H), H, F(0),
         t.dact.data() + sz(r0) * sz(H), H);
  }
  // Every grouped row of dgate_up is written here first: overwrite, no zeroing pass.
  glu_backward(t.dgate_up.data(), t.dact.data(), c.gate_up.data(), rows, H, s.activation,
               GradWrite::overwrite);
  // dfc_e += dgate_up_e^T x_e; d(x)_e = dgate_up_e fc_e, written over dy (no longer needed).
  for (int e = 0; e < E; ++e) {
    const int r0 = c.offset[sz(e)], m = c.offset[sz(e) + 1] - r0;
    if (m == 0) continue;
    const F* dg_e = t.dgate_up.data() + sz(r0) * 2 * sz(H);
    const F* fc_e = fc + sz(e) * 2 * sz(H) * sz(C);
    gemm(true, false, 2 * H, C, m, F(1), dg_e, 2 * H, c.x.data() + sz(r0) * sz(C), C, F(1),
         dfc + sz(e) * 2 * sz(H) * sz(C), C);
    gemm(false, false, m, C, 2 * H, F(1), dg_e, 2 * H, fc_e, C, F(0), t.dy.data() + sz(r0) * sz(C),
         C);
  }
  // Scatter the expert-path input gradient back to the tokens (sum over k in double).
  for (int n = 0; n < N; ++n) {
    F* di = dinp + sz(n) * sz(C);
    const int* sl = c.slot.data() + sz(n) * sz(K);
    for (int j = 0; j < C; ++j) {
      double acc = 0.0;
      for (int k = 0; k < K; ++k) acc += t.dy[sz(sl[k]) * sz(C) + sz(j)];
      di[j] = static_cast<F>(di[j] + acc);
    }
  }

  // Router logits gradient, per token in double. d(weight_{n,k}) = <dout_n, y[slot_{n,k}]>.
  // The aux loss adds d(aux_scale * aux)/dp_{n,e} = aux_scale * coef * E * f_e / N (f_e is not
  // differentiated), the same for every token.
  //   softmax_topk: weight_k = p_{e_k}, so dL/dp_e = g_e = aux_e + sum_k [e_k = e] dweight_k and
  //                 dlogit_e = p_e (g_e - <p, g>).
  //   topk_softmax: weight = softmax of the selected logits, so the selected logits get
  //                 w_k (dweight_k - <w, dweight>), plus the aux term through the full softmax.
  const bool with_aux = s.aux_coef != 0.0 && aux_scale != F(0);
  const double aux_g = with_aux ? static_cast<double>(aux_scale) * s.aux_coef * E / N : 0.0;
  const bool grok = s.router == RouterKind::softmax_topk;
  for (int n = 0; n < N; ++n) {
    const F* d = dout + sz(n) * sz(C);
    const F* p = c.probs.data() + sz(n) * sz(E);
    const int* chosen = c.expert.data() + sz(n) * sz(K);
    const F* w = c.weight.data() + sz(n) * sz(K);
    const int* sl = c.slot.data() + sz(n) * sz(K);
    double* dw = t.dweight.data() + sz(n) * sz(K);
    double wdw = 0.0;  // <w, dweight>
    for (int k = 0; k < K; ++k) {
      const F* yr = c.y.data() + sz(sl[k]) * sz(C);
      double acc = 0.0;
      for (int j = 0; j < C; ++j) acc += static_cast<double>(d[j]) * static_cast<double>(yr[j]);
      dw[k] = acc;
      wdw += static_cast<double>(w[k]) * acc;
    }
    // g_e: what flows into the full softmax (aux always; the selection too for softmax_topk).
    auto g = [&](int e) {
      double v = aux_g * c.fraction[sz(e)];
      if (grok) {
        for (int k = 0; k < K; ++k) {
          if (chosen[k] == e) v += dw[k];
        }
      }
      return v;
    };
    double pg = 0.0;
    for (int e = 0; e < E; ++e) pg += static_cast<double>(p[e]) * g(e);
    F* dl = t.dlogits.data() + sz(n) * sz(E);
    for (int e = 0; e < E; ++e) {
      double v = static_cast<double>(p[e]) * (g(e) - pg);
      if (!grok) {
        for (int k = 0; k < K; ++k) {
          if (chosen[k] == e) v += static_cast<double>(w[k]) * (dw[k] - wdw);
        }
      }
      dl[e] = static_cast<F>(v);
    }
  }
  // drouter (E,C) += dlogits^T (E,N) @ inp (N,C); dinp (N,C) += dlogits (N,E) @ router (E,C).
  gemm(true, false, E, C, N, F(1), t.dlogits.data(), E, inp, C, F(1), drouter, C);
  gemm(false, false, N, C, E, F(1), t.dlogits.data(), E, router, C, F(1), dinp, C);
}

template <typename F>
double moe_merge_shards(const std::vector<MoeCache<F>*>& shards, double aux_coef) {
  WD_CHECK(!shards.empty(), "moe_merge_shards: no shards");
  const int E = shards[0]->E;
  int64_t tokens = 0, slots = 0;
  for (const MoeCache<F>* c : shards) {
    WD_CHECK(c->E == E && c->K == shards[0]->K, "moe_merge_shards: shards of different layers");
    tokens += c->N;
    slots += static_cast<int64_t>(c->N) * c->K;
  }
  double aux = 0.0;
  for (int e = 0; e < E; ++e) {
    double prob_sum = 0.0;
    int64_t routed = 0;
    for (const MoeCache<F>* c : shards) {
      prob_sum += c->prob_sum[sz(e)];
      routed += c->offset[sz(e) + 1] - c->offset[sz(e)];
    }
    const double f = static_cast<double>(routed) / static_cast<double>(slots);
    const double p = prob_sum / static_cast<double>(tokens);
    for (MoeCache<F>* c : shards) c->fraction[sz(e)] = f, c->mean_prob[sz(e)] = p;
    aux += f * p;
  }
  return aux_coef == 0.0 ? 0.0 : aux_coef * E * aux;
}

// Explicit instantiations.
template struct MoeCache<float>;
template struct MoeCache<double>;
template struct MoeScratch<float>;
template struct MoeScratch<double>;
template double moe_merge_shards<float>(const std::vector<MoeCache<float>*>&, double);
template double moe_merge_shards<double>(const std::vector<MoeCache<double>*>&, double);
template double moe_forward<float>(float*, MoeCache<float>&, const float*, const float*,
                                   const float*, const float*, const MoeShape&);
template double moe_forward<double>(double*, MoeCache<double>&, const double*, const double*,
                                    const double*, const double*, const MoeShape&);
template void moe_backward<float>(float*, float*, float*, float*, const float*,
                                  const MoeCache<float>&, MoeScratch<float>&, const float*,
                                  const float*, const float*, const float*, const MoeShape&, float);
template void moe_backward<double>(double*, double*, double*, double*, const double*,
                                   const MoeCache<double>&, MoeScratch<double>&, const double*,
                                   const double*, const double*, const double*, const MoeShape&,
                                   double);

}  // namespace wdlab
