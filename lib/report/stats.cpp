#include "report/stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace wdlab {

Stat summarize(const std::vector<double>& values) {
  Stat s;
  s.n = static_cast<int>(values.size());
  if (s.n == 0) return s;
  double sum = 0.0;
  for (double v : values) sum += v;
  s.mean = sum / s.n;
  double sq = 0.0;
  for (double v : values) sq += (v - s.mean) * (v - s.mean);
  s.std = s.n > 1 ? std::sqrt(sq / (s.n - 1)) : 0.0;
  s.se = s.std / std::sqrt(static_cast<double>(s.n));
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  return s;
}

std::string format_stat(const Stat& s, int decimals) {
  if (s.n == 0) return "—";
  if (s.n == 1) return fmt::format("{:.{}f}", s.mean, decimals);
  return fmt::format("{:.{}f} ± {:.{}f}", s.mean, decimals, s.se, decimals);
}

std::string format_stat_significant(const Stat& s, int digits) {
  if (s.n == 0) return "—";
  if (s.n == 1) return fmt::format("{:.{}g}", s.mean, digits);
  return fmt::format("{:.{}g} ± {:.{}g}", s.mean, digits, s.se, 2);
}

Difference difference(const Stat& a, const Stat& b) {
  Difference d;
  d.delta = a.mean - b.mean;
  d.seeds = std::min(a.n, b.n);
  d.noise_known = a.n > 1 && b.n > 1;
  if (d.noise_known) {
    d.se = std::sqrt(a.se * a.se + b.se * b.se);
    d.within_noise = std::fabs(d.delta) < kNoiseSigmas * d.se;
  }
  return d;
}

std::string format_difference(const Difference& d, int decimals) {
  std::string s = fmt::format("{:+.{}f}", d.delta, decimals);
  if (!d.noise_known) return s + " (1 seed: no noise estimate)";
  s += fmt::format(" ± {:.{}f}", d.se, decimals);
  return d.within_noise ? s + " (within noise)" : s;
}

}  // namespace wdlab
