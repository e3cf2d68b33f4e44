#include "layers/cross_entropy.h"
#include "core/multiversion.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "core/error.h"
#include "core/fast_math.h"

namespace wdlab {

template <typename F>
WD_MULTIVERSION CrossEntropyLoss cross_entropy_forward(F* probs, F* lse, const F* logits,
                                                       const int* targets, int N, int V,
                                                       double z_coef) {
  double total = 0.0, z_total = 0.0;
  int counted = 0, correct = 0;
  for (int n = 0; n < N; ++n) {
    const int target = targets[n];
    if (target == kMaskedTarget) {
      lse[n] = F(0);
      continue;
    }
    WD_CHECK(target >= 0 && target < V,
             "cross_entropy: target {} at row {} is outside [0, {}) and not the mask {}", target, n,
             V, kMaskedTarget);
    ++counted;
    const F* x = logits + static_cast<size_t>(n) * V;
    F* p = probs + static_cast<size_t>(n) * V;
    // probs may alias logits: read everything needed from the row before overwriting it.
    const F* argmax = std::max_element(x, x + V);  // the first largest, as torch.argmax
    const F max = *argmax;
    if (argmax - x == target) ++correct;
    const double target_logit = x[target];
    // Two loops: the exp pass vectorises, the in-order double sum would not let it.
    for (int v = 0; v < V; ++v) p[v] = exp_approx(x[v] - max);
    double sum = 0.0;
    for (int v = 0; v < V; ++v) sum += p[v];
    const F inv_sum = static_cast<F>(1.0 / sum);
    for (int v = 0; v < V; ++v) p[v] *= inv_sum;
    // -log softmax(x)[target] = logsumexp(x) - x[target], in double: finite even where the
    // target's probability underflows.
    const double log_z = static_cast<double>(max) + std::log(sum);
    lse[n] = static_cast<F>(log_z);
    total += log_z - target_logit;
    z_total += log_z * log_z;
  }
  CrossEntropyLoss loss;
  loss.counted = counted, loss.correct = correct;
  if (counted > 0) loss.ce = total / counted, loss.z_loss = z_coef * z_total / counted;
  return loss;
}

template <typename F>
WD_MULTIVERSION void cross_entropy_backward(F* dlogits, const F* probs, const F* lse,
                                            const int* targets, int N, int V, double z_coef,
                                            F scale) {
  for (int n = 0; n < N; ++n) {
    if (targets[n] == kMaskedTarget) continue;  // weight 0
    const F* p = probs + static_cast<size_t>(n) * V;
    F* d = dlogits + static_cast<size_t>(n) * V;
    // d(z_coef log^2 Z)/dlogit_v = 2 z_coef log Z p_v: the z-loss scales every probability.
    const F pscale = static_cast<F>(1.0 + 2.0 * z_coef * lse[n]);
    for (int v = 0; v < V; ++v) d[v] += scale * (pscale * p[v] - (v == targets[n] ? F(1) : F(0)));
  }
}

template CrossEntropyLoss cross_entropy_forward<float>(float*, float*, const float*, const int*,
                                                       int, int, double);
template CrossEntropyLoss cross_entropy_forward<double>(double*, double*, const double*, const int*,
                                                        int, int, double);
template void cross_entropy_backward<float>(float*, const float*, const float*, const int*, int,
                                            int, double, float);
template void cross_entropy_backward<double>(double*, const double*, const double*, const int*, int,
                                             int, double, double);

}  // namespace wdlab
