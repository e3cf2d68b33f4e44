// Inverted dropout (dropout.h): the mask draw, applying it, and its backward.
#include "layers/dropout.h"

#include <algorithm>

#include "core/error.h"
#include "core/rng.h"

namespace wdlab {

template <typename F>
void dropout_mask(F* mask, size_t n, double p, Rng& rng) {
  WD_CHECK(p >= 0.0 && p < 1.0, "dropout: p must be in [0, 1), got {}", p);
  if (p == 0.0) {
    // No draws, so turning dropout off leaves every later use of this stream unchanged.
    std::fill(mask, mask + n, F(1));
    return;
  }
  // Keep with probability 1-p: uniform() is in [0, 1), so P(u >= p) = 1-p.
  const F keep = static_cast<F>(1.0 / (1.0 - p));
  for (size_t i = 0; i < n; ++i) mask[i] = rng.uniform() >= p ? keep : F(0);
}

template <typename F>
void dropout_apply(F* out, const F* mask, const F* inp, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = inp[i] * mask[i];
}

template <typename F>
void dropout_forward(F* out, F* mask, const F* inp, size_t n, double p, Rng& rng) {
  dropout_mask(mask, n, p, rng);
  dropout_apply(out, mask, inp, n);
}

template <typename F>
void dropout_backward(F* dinp, const F* dout, const F* mask, size_t n) {
  for (size_t i = 0; i < n; ++i) dinp[i] += mask[i] * dout[i];
}

template void dropout_forward<float>(float*, float*, const float*, size_t, double, Rng&);
template void dropout_forward<double>(double*, double*, const double*, size_t, double, Rng&);
template void dropout_mask<float>(float*, size_t, double, Rng&);
template void dropout_mask<double>(double*, size_t, double, Rng&);
template void dropout_apply<float>(float*, const float*, const float*, size_t);
template void dropout_apply<double>(double*, const double*, const double*, size_t);
template void dropout_backward<float>(float*, const float*, const float*, size_t);
template void dropout_backward<double>(double*, const double*, const double*, size_t);

}  // namespace wdlab
