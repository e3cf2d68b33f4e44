// Causal multi-head self-attention over a fused QKV tensor.
//
// qkv (B,T,3C): for each token the C query values, then C key values, then C value values; head h
// owns channels [h*HS, (h+1)*HS) inside each third. Scores are scaled by 1/sqrt(HS); position t
// attends to positions 0..t. Each (b,h) is a handful of strided gemm calls on the qkv rows
// (lda = 3C), so no reshuffling copies are needed.
#pragma once

namespace wdlab {

// out (B,T,C) holds the heads side by side (ready for the output projection);
// att (B,NH,T,T) receives the softmax probabilities (entries above the diagonal are 0), which
// backward needs.
template <typename F>
void attention_forward(F* out, F* att, const F* qkv, int B, int T, int C, int NH);

// Accumulates dqkv (B,T,3C). scratch must hold T*T elements (the gradient of one head's
// probabilities); it is overwritten.
template <typename F>
void attention_backward(F* dqkv, F* scratch, const F* dout, const F* qkv, const F* att, int B,
                        int T, int C, int NH);

}  // namespace wdlab
