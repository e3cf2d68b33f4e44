// Rotary position embedding (Su et al.; LLaMA, PaLM, Grok-1, Mistral), applied in place to the
// query and key heads of a fused QKV tensor laid out as in attention.h; values are untouched.
// Within each head the channel pairs (2i, 2i+1) rotate by the angle t * theta^(-2i/HS) (Meta's
// LLaMA convention: consecutive pairs, not half-split).
#pragma once

namespace wdlab {

// cos, sin (T, HS/2): the rotation table for positions 0..T-1. HS must be even.
template <typename F>
void rope_table(F* cos, F* sin, int T, int HS, double theta);

// Rotates the NH query and NKV key heads of qkv (B,T,(NH+2NKV)*HS) in place.
template <typename F>
void rope_forward(F* qkv, const F* cos, const F* sin, int B, int T, int NH, int NKV, int HS);

// The rotation is orthogonal, so its backward rotates the gradient by the opposite angle; in
// place on dqkv (which holds d(rotated q, k) on entry and d(q, k) before rotation on exit).
// Unlike the other backward functions it transforms rather than accumulates: call it right after
// attention_backward has filled the q/k part of a zeroed dqkv.
template <typename F>
void rope_backward(F* dqkv, const F* cos, const F* sin, int B, int T, int NH, int NKV, int HS);

}  // namespace wdlab
