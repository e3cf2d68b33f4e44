#include "optim/grad_clip.h"

#include <cmath>

namespace wdlab {

double l2_norm(const float* x, size_t n) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    sum += v * v;
  }
  return std::sqrt(sum);
}

double clip_grad_norm(float* grads, size_t n, double max_norm) {
  const double norm = l2_norm(grads, n);
  if (max_norm <= 0.0) return norm;
  // As torch.nn.utils.clip_grad_norm_: the 1e-6 keeps the clipped norm just below max_norm.
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1.0) {
    const float s = static_cast<float>(scale);
    for (size_t i = 0; i < n; ++i) grads[i] *= s;
  }
  return norm;
}

}  // namespace wdlab
