// Random search over a sweep spec's grid: `run_cap` distinct points drawn from the product of
// the spec's grid and zip factors, deterministically from a seed, kept in grid order. Seeds and
// presets then multiply the sample as they multiply a grid.
//
//   "method": "random", "run_cap": 20, "seed": 7
//   Factor sample = sample_points(spec.factors, 20, 7);
#pragma once

#include <cstdint>
#include <vector>

#include "sweep/spec.h"

namespace wdlab {

// The number of points in the product of `factors` (saturating at SIZE_MAX).
size_t product_size(const std::vector<Factor>& factors);

// `n` distinct points of the product, 1 <= n <= product_size(factors) (checked by the caller),
// chosen by Floyd's sampling without replacement from an Rng seeded with `seed`, in the order
// the full product would list them.
Factor sample_points(const std::vector<Factor>& factors, size_t n, uint64_t seed);

}  // namespace wdlab
