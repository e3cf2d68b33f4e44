// Seed statistics: mean, sample standard deviation and standard error of the mean over a
// configuration's seeds, and the difference of two configurations with its standard error, to
// tell an effect from seed noise.
//
//   Stat a = summarize({3.51, 3.52, 3.50}), b = summarize({3.55, 3.54, 3.56});
//   Difference d = difference(a, b);   // d.delta = -0.04, d.se = 0.0082; d.within_noise = false
#pragma once

#include <string>
#include <vector>

namespace wdlab {

struct Stat {
  int n = 0;
  double mean = 0.0;
  double std = 0.0;  // sample standard deviation (n - 1); 0 for n = 1
  double se = 0.0;   // standard error of the mean, std / sqrt(n); 0 for n = 1 (unknown)
  double min = 0.0;
  double max = 0.0;
};

Stat summarize(const std::vector<double>& values);

// Mean ± standard error: "3.512 ± 0.004" (n > 1), "3.512" (n = 1), "—" (n = 0).
std::string format_stat(const Stat& s, int decimals = 3);
// The same with significant digits, for values spanning decades: "0.00012 ± 3.1e-06".
std::string format_stat_significant(const Stat& s, int digits = 3);

// Differences smaller than this many standard errors are reported as seed noise (~95%).
constexpr double kNoiseSigmas = 2.0;

// a - b over independent seeds: se = sqrt(se_a^2 + se_b^2) (unpaired; the report does not pair
// seeds). Within seed noise when |delta| < 2 se. With a single seed on either side the noise is
// unknown and there is no verdict.
struct Difference {
  double delta = 0.0;
  double se = 0.0;
  bool noise_known = false;
  bool within_noise = false;
  int seeds = 0;  // the fewer seeds of the two sides
};

Difference difference(const Stat& a, const Stat& b);

// "+0.130 ± 0.010", "-0.021 ± 0.015 (within noise)", "-0.040 (1 seed: no noise estimate)".
std::string format_difference(const Difference& d, int decimals = 3);

}  // namespace wdlab
