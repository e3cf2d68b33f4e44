// Global gradient-norm clipping, as torch.nn.utils.clip_grad_norm_: if the L2 norm of all
// gradients exceeds max_norm, scale them all by max_norm / norm.
#pragma once

#include <cstddef>

#include "core/worker_pool.h"

namespace wdlab {

// L2 norm of n values, accumulated in double.
double l2_norm(const float* x, size_t n);

// Returns the norm before clipping. max_norm <= 0 disables clipping. With a pool, each worker
// sums its contiguous slice and the slices' sums are added in order: the same bits for the same
// number of workers (one worker: the plain in-order sum).
double clip_grad_norm(float* grads, size_t n, double max_norm, WorkerPool* pool = nullptr);

}  // namespace wdlab
