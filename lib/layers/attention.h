// Causal self-attention over a fused QKV tensor: multi-head, grouped-query or multi-query
// (n_kv_head < n_head), optionally restricted to a sliding window, optionally with a soft-cap on
// the attention logits.
//
// qkv (B,T,(NH + 2*NKV)*HS): per token the NH query heads, then the NKV key heads, then the NKV
// value heads, each HS wide. Query head h reads key/value head h / (NH/NKV). Scores are
// q.k / sqrt(HS); with softcap > 0 they become softcap * tanh(score / softcap) before masking
// (Grok-1: 30). Position t attends to positions max(0, t - window)..t (window = 0: all of 0..t;
// Mistral's sliding window W sees W+1 positions including itself). Each (b,h) is a few strided
// gemm calls on the qkv rows, so no reshuffling copies are needed.
#pragma once

namespace wdlab {

struct AttentionShape {
  int B = 1, T = 1;
  int NH = 1;            // query heads
  int NKV = 1;           // key/value heads; divides NH
  int HS = 1;            // head size
  int window = 0;        // 0: dense causal; > 0: attend to the previous `window` positions and self
  double softcap = 0.0;  // 0: off

  int qkv_width() const { return (NH + 2 * NKV) * HS; }
  int out_width() const { return NH * HS; }
};

// out (B,T,NH*HS) holds the heads side by side (ready for the output projection);
// att (B,NH,T,T) receives the softmax probabilities (masked entries are exactly 0), which
// backward needs. With a soft-cap, softcap_grad (B,NH,T,T doubles; required) receives the cap's
// derivative 1 - tanh^2(S / cap) at the visible entries: backward needs it, and keeping it costs
// less than recomputing the raw scores and their tanh (the same bits either way).
template <typename F>
void attention_forward(F* out, F* att, const F* qkv, const AttentionShape& s,
                       double* softcap_grad = nullptr);

// Accumulates dqkv (B,T,(NH+2NKV)*HS). scratch must hold T*T elements; it is overwritten.
// softcap_grad: forward's (only read with a soft-cap).
template <typename F>
void attention_backward(F* dqkv, F* scratch, const F* dout, const F* qkv, const F* att,
                        const AttentionShape& s, const double* softcap_grad = nullptr);

}  // namespace wdlab
