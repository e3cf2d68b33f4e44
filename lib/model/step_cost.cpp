// The FLOP and memory formulas of one training step (step_cost.h).
#include "model/step_cost.h"

#include <algorithm>

namespace wdlab {
namespace {

struct Dims {
  double B, T, N, C, L, NH, NKV, HS, QW, OW, H, FW, V, E, K;
  bool moe, seq;
};

Dims dims(const ModelConfig& c, int B, int T) {
  Dims d{};
  d.B = B, d.T = T, d.N = static_cast<double>(B) * T;
  d.C = c.d_model, d.L = c.n_layer, d.NH = c.n_head, d.NKV = c.kv_heads(), d.HS = c.head_size();
  d.QW = (d.NH + 2 * d.NKV) * d.HS, d.OW = d.NH * d.HS;
  d.H = c.ffn_hidden(), d.FW = c.gated() ? 2 * d.H : d.H;
  d.V = c.vocab_size, d.E = c.moe.n_expert, d.K = c.moe.top_k;
  d.moe = c.is_moe(), d.seq = c.block == BlockKind::sequential;
  return d;
}

}  // namespace

nlohmann::json StepFlops::to_json() const {
  return {{"qkv", qkv},       {"attention", attention}, {"out_proj", out_proj}, {"ffn", ffn},
          {"router", router}, {"head", head},           {"forward", forward()}, {"step", step()}};
}

nlohmann::json StepMemory::to_json() const {
  return {{"params", params},
          {"state_bytes", state_bytes},
          {"activation_bytes", activation_bytes},
          {"backward_bytes", backward_bytes},
          {"attention_bytes", attention_bytes},
          {"total_bytes", total()}};
}

double parameter_count(const ModelConfig& c) {
  const Dims d = dims(c, 1, c.block_size);
  const double norm = c.norm == NormKind::layernorm && c.norm_bias ? 2 * d.C : d.C;
  double block = norm + d.QW * d.C + d.C * d.OW + (c.bias ? d.QW + d.C : 0.0);
  if (c.norm_placement == NormPlacement::sandwich) block += 2 * norm;  // after each sublayer
  if (d.seq) block += norm;                                            // before the MLP
  if (d.moe) {
    block += d.E * d.C + d.E * (d.FW * d.C + d.C * d.H);  // router, experts
  } else {
    block += d.FW * d.C + d.C * d.H + (c.bias ? d.FW + d.C : 0.0);
  }
  double top = d.V * d.C + norm;  // token embedding, final norm
  if (c.positions == PositionKind::learned) top += static_cast<double>(c.block_size) * d.C;
  if (!c.tie_embeddings) top += d.V * d.C;  // the output head
  return top + d.L * block;
}

StepFlops step_flops(const ModelConfig& c, int B, int T) {
  const Dims d = dims(c, B, T);
  StepFlops f;
  f.qkv = d.L * 2 * d.N * d.C * d.QW;
  f.attention = d.L * 2 * (2 * d.B * d.NH * d.T * d.T * d.HS);
  f.out_proj = d.L * 2 * d.N * d.OW * d.C;
  if (d.moe) {
    f.router = d.L * 2 * d.N * d.C * d.E;
    f.ffn = d.L * 2 * d.N * d.K * (d.C * d.FW + d.H * d.C);
  } else {
    f.ffn = d.L * 2 * d.N * (d.C * d.FW + d.H * d.C);
  }
  f.head = 2 * d.N * d.C * d.V;
  return f;
}

StepMemory step_memory(const ModelConfig& c, int B, int T, int64_t params) {
  const Dims d = dims(c, B, T);
  const double NC = d.N * d.C, scores = d.B * d.NH * d.T * d.T;
  // Attention probabilities, and with a soft-cap the cap's derivative (doubles: two floats each).
  const double kept_scores = scores * (c.attn_softcap > 0.0 ? 3.0 : 1.0);
  double layer = NC + 2 * d.N             // norm1 output and stats
                 + d.N * d.QW             // fused QKV
                 + kept_scores            // attention probabilities (and soft-cap derivative)
                 + d.N * d.OW             // attention output (projection input)
                 + NC;                    // block output
  if (d.seq) layer += NC + NC + 2 * d.N;  // residual after attention, norm2 output and stats
  if (d.moe) {
    layer += 2 * d.N * d.E + 3 * d.N * d.K + d.N * d.K * (d.C + d.FW + d.H + d.C);
  } else {
    layer += d.N * (d.FW + d.H);
  }
  const double top = NC + NC + 2 * d.N + d.N * d.V;
  const double widest = d.moe ? d.N * d.K * (d.C + d.FW + d.H) : d.N * std::max(d.QW, d.FW);
  const double backward = d.N * d.V + 2 * NC + widest + scores;

  StepMemory m;
  m.params = static_cast<double>(params);
  m.state_bytes = 16.0 * static_cast<double>(params);
  m.activation_bytes = 4.0 * (d.L * layer + top);
  m.backward_bytes = 4.0 * backward;
  m.attention_bytes = 4.0 * d.L * kept_scores;
  return m;
}

}  // namespace wdlab
