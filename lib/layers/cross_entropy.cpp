#include "layers/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "core/error.h"

namespace wdlab {

template <typename F>
double cross_entropy_forward(F* probs, const F* logits, const int* targets, int N, int V) {
  double total = 0.0;
  for (int n = 0; n < N; ++n) {
    const int target = targets[n];
    WD_CHECK(target >= 0 && target < V, "cross_entropy: target {} at row {} is outside [0, {})",
             target, n, V);
    const F* x = logits + static_cast<size_t>(n) * V;
    F* p = probs + static_cast<size_t>(n) * V;
    // probs may alias logits: read everything needed from the row before overwriting it.
    const F max = *std::max_element(x, x + V);
    const double target_logit = x[target];
    double sum = 0.0;
    for (int v = 0; v < V; ++v) {
      const double e = std::exp(static_cast<double>(x[v]) - max);
      p[v] = static_cast<F>(e);
      sum += e;
    }
    const double inv_sum = 1.0 / sum;
    for (int v = 0; v < V; ++v) p[v] = static_cast<F>(p[v] * inv_sum);
    // -log softmax(x)[target] = logsumexp(x) - x[target], in double: finite even where the
    // target's probability underflows.
    total += static_cast<double>(max) + std::log(sum) - target_logit;
  }
  return N > 0 ? total / N : 0.0;
}

template <typename F>
void cross_entropy_backward(F* dlogits, const F* probs, const int* targets, int N, int V, F scale) {
  for (int n = 0; n < N; ++n) {
    const F* p = probs + static_cast<size_t>(n) * V;
    F* d = dlogits + static_cast<size_t>(n) * V;
    for (int v = 0; v < V; ++v) d[v] += scale * (p[v] - (v == targets[n] ? F(1) : F(0)));
  }
}

template double cross_entropy_forward<float>(float*, const float*, const int*, int, int);
template double cross_entropy_forward<double>(double*, const double*, const int*, int, int);
template void cross_entropy_backward<float>(float*, const float*, const int*, int, int, float);
template void cross_entropy_backward<double>(double*, const double*, const int*, int, int, double);

}  // namespace wdlab
