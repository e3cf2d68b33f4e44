// Mixture-of-experts feed-forward layer with top-k routing (Grok-1, Mixtral): a bias-free router
// scores the E experts for every token, the token goes through its top-k experts (each a gated
// MLP, glu.h), and their outputs are summed with the routing weights.
//
//   softmax_topk (Grok-1): p = softmax(router logits over all E); pick the k largest p; the
//                          weights are those p as they are (not renormalised to sum 1).
//   topk_softmax (Mixtral): pick the k largest logits; weights = softmax over those k.
// Ties go to the lower expert index, so routing is deterministic.
//
// Load-balancing auxiliary loss (optional, Switch-Transformer form):
//   aux = coef * E * sum_e f_e * P_e, f_e = share of the N*k routing slots that went to expert e
//   (not differentiated), P_e = mean over tokens of softmax(router logits)_e.
//
// Weights: router (E, C); expert e's fused [gate | up] matrix fc (E, 2H, C) and output
// projection proj (E, C, H), the experts stacked contiguously.
#pragma once

#include <vector>

#include "layers/glu.h"

namespace wdlab {

enum class RouterKind { softmax_topk, topk_softmax };

struct MoeShape {
  int N = 1;  // tokens (B*T)
  int C = 1;  // model width
  int H = 1;  // expert hidden width
  int E = 1;  // experts
  int K = 1;  // experts per token, K <= E
  RouterKind router = RouterKind::softmax_topk;
  GluKind activation = GluKind::swiglu;
  double aux_coef = 0.0;
};

// Everything forward keeps for backward, sized once for the largest N: the constructor allocates
// every buffer, forward and backward allocate nothing. Forward accepts any N <= max_N with the
// C, H, E, K given here; backward must follow the forward whose results it differentiates (same
// N), and may be repeated (it only reads the forward part of the cache). No argument may alias
// another: out must not overlap inp (backward reads inp again), dinp must not overlap dout.
//
// The expert computations run on "grouped" rows: the N*K (token, expert) pairs sorted by expert,
// and within an expert by ascending token index. Expert e owns grouped rows
// offset[e] .. offset[e+1] (possibly none), so each expert is one contiguous gemm.
// Memory: (2C + 3H) * max_N*K values kept for backward plus O(max_N * (E + K)); backward's
// working space is a separate MoeScratch, which every layer of a model can share.
template <typename F>
struct MoeCache {
  MoeCache(int max_N, int C, int H, int E, int K);

  int max_N, C, H, E, K;  // as constructed
  int N = 0;              // tokens in the last forward (0: none yet)

  // Routing, row-major per token.
  std::vector<F> logits;    // (max_N, E) router logits
  std::vector<F> probs;     // (max_N, E) softmax over all E logits (both router kinds; aux P_e)
  std::vector<int> expert;  // (max_N, K) selected experts, best first (ties: lower index first)
  std::vector<F> weight;    // (max_N, K) their routing weights
  std::vector<int> slot;    // (max_N, K) grouped row of (token n, choice k)

  // Grouping.
  std::vector<int> offset;        // (E + 1) first grouped row of each expert; offset[E] = N*K
  std::vector<int> token;         // (max_N*K) token of each grouped row
  std::vector<double> fraction;   // (E) f_e: share of the N*K slots routed to expert e
  std::vector<double> mean_prob;  // (E) P_e: mean over tokens of probs(:, e)
  std::vector<double> prob_sum;   // (E) sum over tokens of probs(:, e), in double

  // Grouped activations kept for backward, max_N*K rows.
  std::vector<F> x;        // (rows, C) gathered input rows
  std::vector<F> gate_up;  // (rows, 2H) fc output, the GLU input [gate | up]
  std::vector<F> act;      // (rows, H) GLU output, the proj input
  std::vector<F> y;        // (rows, C) expert output before the routing weight

  std::vector<int> fill;  // (E) grouping counters (scratch)
};

// Backward's working space for up to max_N tokens (contents meaningless between calls).
template <typename F>
struct MoeScratch {
  MoeScratch(int max_N, int C, int H, int E, int K);

  int max_N;
  std::vector<F> dy;            // (rows, C) weight * dout per grouped row; then d(x)
  std::vector<F> dact;          // (rows, H)
  std::vector<F> dgate_up;      // (rows, 2H)
  std::vector<F> dlogits;       // (max_N, E)
  std::vector<double> dweight;  // (max_N, K) d loss / d weight
};

// out (N,C) = sum over each token's k experts of weight * expert(inp). Returns the auxiliary
// loss (0 when aux_coef is 0); the caller adds it to the training loss.
template <typename F>
double moe_forward(F* out, MoeCache<F>& cache, const F* inp, const F* router, const F* fc,
                   const F* proj, const MoeShape& s);

// Accumulates dinp (N,C), drouter (E,C), dfc (E,2H,C), dproj (E,C,H) for the loss
// sum(dout * out) + aux_scale * aux (aux_scale is the weight the caller gave the aux loss, e.g. 1).
template <typename F>
void moe_backward(F* dinp, F* drouter, F* dfc, F* dproj, const F* dout, const MoeCache<F>& cache,
                  MoeScratch<F>& scratch, const F* inp, const F* router, const F* fc, const F* proj,
                  const MoeShape& s, F aux_scale);

// One layer's forward run on a batch split into shards (one cache per shard, in batch order):
// sets every cache's fraction and mean_prob to the whole batch's and returns the whole batch's
// aux loss (0 when aux_coef is 0), so the balance loss does not depend on how the batch was split.
// Backward of shard s then takes aux_scale * N_s / N.
template <typename F>
double moe_merge_shards(const std::vector<MoeCache<F>*>& shards, double aux_coef);

}  // namespace wdlab
