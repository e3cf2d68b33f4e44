// Token + learned position embedding (GPT-2's wte + wpe).
#pragma once

namespace wdlab {

// out (B,T,C) = wte[tokens[b,t]] + wpe[t]; tokens (B,T) in [0, V); wte (V,C), wpe (maxT,C).
// wpe may be null (no learned positions).
template <typename F>
void embedding_forward(F* out, const int* tokens, const F* wte, const F* wpe, int B, int T, int C);

// Accumulates dwte[tokens[b,t]] += dout[b,t] and dwpe[t] += dout[b,t]. dwpe may be null.
template <typename F>
void embedding_backward(F* dwte, F* dwpe, const F* dout, const int* tokens, int B, int T, int C);

}  // namespace wdlab
