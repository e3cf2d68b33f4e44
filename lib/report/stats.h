// Seed statistics: mean and sample standard deviation over a configuration's seeds, and the
// difference of two configurations with its standard error, to tell an effect from seed noise.
//
//   Stat a = summarize({3.51, 3.52, 3.50}), b = summarize({3.55, 3.54, 3.56});
//   Difference d = difference(a, b);   // d.delta = -0.04; d.within_noise = false
#pragma once

#include <string>
#include <vector>

namespace wdlab {

struct Stat {
  int n = 0;
  double mean = 0.0;
  double std = 0.0;  // sample standard deviation (n - 1); 0 for n = 1
  double min = 0.0;
  double max = 0.0;
};

Stat summarize(const std::vector<double>& values);

// "3.512 ± 0.004" (n > 1), "3.512" (n = 1), "—" (n = 0).
std::string format_stat(const Stat& s, int decimals = 3);
// The same with significant digits, for values spanning decades: "0.00012 ± 3.1e-06".
std::string format_stat_significant(const Stat& s, int digits = 3);

// a - b. se = sqrt(sa^2/na + sb^2/nb), the standard error of the difference of the means; the
// difference is within seed noise when |delta| < 2 se. With a single seed on either side the
// noise is unknown.
struct Difference {
  double delta = 0.0;
  double se = 0.0;
  bool noise_known = false;
  bool within_noise = false;
};

Difference difference(const Stat& a, const Stat& b);

// "-0.021 (within seed noise, se 0.015)", "+0.130", "-0.040 (1 seed: noise unknown)".
std::string format_difference(const Difference& d, int decimals = 3);

}  // namespace wdlab
