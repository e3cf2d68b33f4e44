#include "sweep/random_search.h"

#include <limits>
#include <set>

#include "core/rng.h"

namespace wdlab {

size_t product_size(const std::vector<Factor>& factors) {
  size_t n = 1;
  for (const Factor& f : factors) {
    if (f.empty()) return 0;
    if (n > std::numeric_limits<size_t>::max() / f.size())
      return std::numeric_limits<size_t>::max();
    n *= f.size();
  }
  return n;
}

Factor sample_points(const std::vector<Factor>& factors, size_t n, uint64_t seed) {
  const size_t total = product_size(factors);
  // Floyd: one draw per chosen point, no list of all points.
  Rng rng(seed, /*stream=*/0x72616e646f6dULL);  // "random": not a training stream
  std::set<size_t> chosen;
  for (size_t j = total - n; j < total; ++j) {
    const size_t t = rng.below(j + 1);
    chosen.insert(chosen.contains(t) ? j : t);
  }
  Factor points;
  for (size_t index : chosen) {
    // Mixed radix, the first factor varying slowest, as the full product lists them.
    Point p;
    size_t stride = total;
    for (const Factor& f : factors) {
      stride /= f.size();
      const Point& part = f[(index / stride) % f.size()];
      p.insert(p.end(), part.begin(), part.end());
    }
    points.push_back(std::move(p));
  }
  return points;
}

}  // namespace wdlab
