#include "optim/grad_clip.h"

#include <algorithm>
#include <cmath>

namespace wdlab {

namespace {

double sum_of_squares(const float* x, size_t n) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    sum += v * v;
  }
  return sum;
}

}  // namespace

double l2_norm(const float* x, size_t n) {
  return std::sqrt(sum_of_squares(x, n));
}

double clip_grad_norm(float* grads, size_t n, double max_norm, WorkerPool* pool) {
  // Slices per worker; a fixed array keeps the step free of allocations.
  constexpr int kMaxWorkers = 64;
  const size_t K = pool == nullptr ? 1 : static_cast<size_t>(std::min(pool->size(), kMaxWorkers));
  double partial[kMaxWorkers] = {};
  if (K == 1) {
    partial[0] = sum_of_squares(grads, n);
  } else {
    pool->run([&](int w) {
      const size_t k = static_cast<size_t>(w);
      if (k >= K) return;
      const IndexRange r = part_of(n, k, K);
      partial[k] = sum_of_squares(grads + r.begin, r.size());
    });
  }
  double sum = 0.0;
  for (size_t k = 0; k < K; ++k) sum += partial[k];
  const double norm = std::sqrt(sum);
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
