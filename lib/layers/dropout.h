// Inverted dropout: keeps each element with probability 1-p and scales it by 1/(1-p), so
// evaluation (no dropout) needs no rescaling.
#pragma once

#include <cstddef>

namespace wdlab {

class Rng;

// out = inp * mask; mask (n) receives 0 or 1/(1-p). With p == 0 it is a copy and draws nothing
// from rng.
template <typename F>
void dropout_forward(F* out, F* mask, const F* inp, size_t n, double p, Rng& rng);

// dropout_forward in two halves: draw the mask (the only part that consumes rng, so a batch
// split into shards can draw its masks in batch order and apply them in parallel), then
// out = inp * mask.
template <typename F>
void dropout_mask(F* mask, size_t n, double p, Rng& rng);
template <typename F>
void dropout_apply(F* out, const F* mask, const F* inp, size_t n);

// dinp += mask * dout
template <typename F>
void dropout_backward(F* dinp, const F* dout, const F* mask, size_t n);

}  // namespace wdlab
