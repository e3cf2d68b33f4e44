// The synthetic language: construction (random scores -> transition table), the stationary
// distribution over contexts and the entropies derived from it, and sampling.
//
// One definition of the process is used everywhere. The transition table is computed with a
// max-subtracted softmax in double and stored as float (probs_); the process is those floats
// renormalised in double, P(c|s) = probs_[s][c] / row_sums_[s] (row_sums_ differ from 1 by float
// rounding, ~1e-7). The stationary distribution, every entropy and the sampler all use exactly
// this P, so the reported entropy rate is the entropy rate of the sampled stream to double
// precision, not just to float precision.
//
// Score scaling: E_j entries are N(0, 1/(rank * order)) and U entries N(0, 1), drawn from
// Rng(seed, RngStream::language) in the order E_0, ..., E_{k-1}, U (row-major), and the logits are
//   kLogitStd * sum_j <E_j[x_{t-j}], U[c]> / temperature,
// so they have standard deviation about kLogitStd / temperature whatever the vocabulary, order and
// rank, each of the k previous tokens contributing an equal share of the variance. kLogitStd = 1.25
// is tuned so that the default language (V=64, order 3, rank 16, temperature 0.5) has an entropy
// rate of ~56% of ln V, with each context token worth ~0.4-0.6 nats: a bigram model stays ~1.2
// nats above the floor (learnable, not trivial).
#include "data/synthetic_language.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/multiversion.h"
#include "core/rng.h"

namespace wdlab {
namespace {

// Standard deviation of the logits at temperature 1 (see the top of the file).
constexpr double kLogitStd = 1.25;
constexpr size_t kMaxStates = size_t{1} << 22;
// The transition table is states x V floats; cap it at 256 MiB.
constexpr size_t kMaxTableEntries = size_t{1} << 26;
constexpr double kStationaryTolerance = 1e-13;  // L1 change between power-iteration steps
constexpr int kMaxPowerIterations = 3000;
constexpr int kRateWindow = 50;  // steps over which the convergence rate is measured

// -sum p log p of a distribution given as nonnegative weights w (normalised here by their sum).
double entropy_of(const double* w, size_t n) {
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) total += w[i];
  double h = 0.0;
  for (size_t i = 0; i < n; ++i) {
    if (w[i] > 0.0) {
      const double p = w[i] / total;
      h -= p * std::log(p);
    }
  }
  return h;
}

// Rows of the power iteration's next distribution per block: the block's slice of `next`
// (kPowerBlockRows x V doubles, 128 KiB at V = 64) stays in cache while the V source blocks
// that feed it stream past, instead of all of `next` (V^k doubles) being swept V times.
constexpr size_t kPowerBlockRows = 256;

// One block of a power-iteration step: for r in [r0, r1), next[r V .. r V + V) +=
// w_s P(.|s) over the states s = r + a M feeding it, a = 0..V-1 in that order. Every element
// sees the same operations in the same order as in a plain loop over all s in storage order
// (a outer, r inner), whatever the blocking and vector width, so the result is bit-identical to
// it (the clones differ only in how many lanes run at once; FMA contraction is off).
WD_MULTIVERSION void power_step_block(const double* __restrict stationary,
                                      const double* __restrict row_sums,
                                      const float* __restrict probs, double* __restrict next,
                                      size_t V, size_t M, size_t r0, size_t r1) {
  for (size_t a = 0; a < V; ++a) {
    for (size_t r = r0; r < r1; ++r) {
      const size_t s = r + a * M;
      const double w = stationary[s] / row_sums[s];
      const float* p = probs + s * V;
      double* out = next + r * V;
      for (size_t c = 0; c < V; ++c) out[c] += w * static_cast<double>(p[c]);
    }
  }
}

}  // namespace

SyntheticLanguage::SyntheticLanguage(SyntheticLanguageOptions options, uint64_t seed)
    : options_(options) {
  const int V = options_.vocab_size;
  const int k = options_.order;
  const int R = options_.rank;
  WD_CHECK(V >= 2 && V <= 4096, "data.synthetic.vocab_size: must be in [2, 4096], got {}", V);
  WD_CHECK(k >= 1, "data.synthetic.order: must be at least 1, got {}", k);
  WD_CHECK(R >= 1, "data.synthetic.rank: must be at least 1, got {}", R);
  WD_CHECK(std::isfinite(options_.temperature) && options_.temperature > 0.0,
           "data.synthetic.temperature: must be positive and finite, got {}", options_.temperature);
  num_states_ = 1;
  for (int j = 0; j < k; ++j) {
    WD_CHECK(num_states_ <= kMaxStates / static_cast<size_t>(V),
             "data.synthetic.order: vocab_size^order = {}^{} contexts exceeds the limit of 2^22", V,
             k);
    num_states_ *= static_cast<size_t>(V);
  }
  WD_CHECK(num_states_ <= kMaxTableEntries / static_cast<size_t>(V),
           "data.synthetic.order: the transition table ({}^{} contexts x {} tokens) exceeds the "
           "limit of 2^26 entries; lower vocab_size or order",
           V, k, V);
  const size_t Vs = static_cast<size_t>(V);

  // Random scores, drawn in a fixed order: E_0..E_{k-1} (each V x rank, row-major), then U.
  Rng rng(seed, RngStream::language);
  const double e_scale = 1.0 / std::sqrt(static_cast<double>(R) * k);
  std::vector<double> E(static_cast<size_t>(k) * Vs * R), U(Vs * R);
  for (double& e : E) e = e_scale * rng.normal();
  for (double& u : U) u = rng.normal();

  // A_j[a][c] = kLogitStd <E_j[a], U[c]> / temperature: the logit contribution of token a at
  // distance j+1.
  std::vector<double> A(static_cast<size_t>(k) * Vs * Vs);
  for (int j = 0; j < k; ++j) {
    for (size_t a = 0; a < Vs; ++a) {
      const double* e = &E[(j * Vs + a) * R];
      double* out = &A[(j * Vs + a) * Vs];
      for (size_t c = 0; c < Vs; ++c) {
        const double* u = &U[c * R];
        double dot = 0.0;
        for (int r = 0; r < R; ++r) dot += e[r] * u[r];
        out[c] = kLogitStd * dot / options_.temperature;
      }
    }
  }

  // Transition table and per-context entropies H(P(.|s)) of the float-defined process.
  probs_.resize(num_states_ * Vs);
  row_sums_.resize(num_states_);
  std::vector<double> row_entropy(num_states_);
  std::vector<double> logits(Vs), ex(Vs);
  for (size_t s = 0; s < num_states_; ++s) {
    std::fill(logits.begin(), logits.end(), 0.0);
    size_t rest = s;
    for (int j = 0; j < k; ++j) {  // digit j is x_{t-1-j}
      const double* a = &A[(j * Vs + rest % Vs) * Vs];
      rest /= Vs;
      for (size_t c = 0; c < Vs; ++c) logits[c] += a[c];
    }
    const double mx = *std::max_element(logits.begin(), logits.end());
    double z = 0.0;
    for (size_t c = 0; c < Vs; ++c) z += (ex[c] = std::exp(logits[c] - mx));
    float* p = &probs_[s * Vs];
    double row_sum = 0.0;
    for (size_t c = 0; c < Vs; ++c) {
      ex[c] /= z;  // the exact probability e_c
      p[c] = static_cast<float>(ex[c]);
      row_sum += p[c];
    }
    row_sums_[s] = row_sum;
    // H = -sum q_c log q_c for q_c = p_c / row_sum without a log per entry: with
    // p_c = e_c (1 + d_c), |d_c| <= 2^-24 for a normal float,
    //   log q_c = (logit_c - max) - log z + log1p(d_c) - log row_sum,
    // and log1p(d) = d - d^2/2 to well below double rounding.
    const double log_row_sum = std::log(row_sum);
    const double log_norm = std::log(z) + log_row_sum;
    double h = 0.0;
    for (size_t c = 0; c < Vs; ++c) {
      if (p[c] == 0.0f) continue;
      const double q = p[c] / row_sum;
      double log_q;
      if (p[c] >= std::numeric_limits<float>::min()) {
        const double d = (static_cast<double>(p[c]) - ex[c]) / ex[c];
        log_q = (logits[c] - mx) - log_norm + (d - 0.5 * d * d);
      } else {  // subnormal float: the relative rounding error is not small
        log_q = std::log(static_cast<double>(p[c])) - log_row_sum;
      }
      h -= q * log_q;
    }
    row_entropy[s] = h;
  }

  // Stationary distribution by power iteration from uniform. The next context after s and token c
  // is c + V * (s mod V^(k-1)) (the oldest token, the most significant digit, drops out), so the
  // states s = r + a V^(k-1), a = 0..V-1, all feed the block [V r, V r + V).
  const size_t M = num_states_ / Vs;
  stationary_.assign(num_states_, 1.0 / static_cast<double>(num_states_));
  std::vector<double> next(num_states_);
  double change = std::numeric_limits<double>::infinity();
  std::vector<double> changes;  // per step, to estimate the convergence rate
  int iter = 0;
  while (!(change < kStationaryTolerance)) {
    WD_CHECK(iter < kMaxPowerIterations,
             "data.synthetic: the stationary distribution did not converge after {} power "
             "iterations (L1 change {:.3g}); the chain mixes too slowly, raise "
             "data.synthetic.temperature (now {})",
             iter, change, options_.temperature);
    std::fill(next.begin(), next.end(), 0.0);
    for (size_t r0 = 0; r0 < M; r0 += kPowerBlockRows) {
      power_step_block(stationary_.data(), row_sums_.data(), probs_.data(), next.data(), Vs, M, r0,
                       std::min(M, r0 + kPowerBlockRows));
    }
    double total = 0.0;
    for (double x : next) total += x;
    change = 0.0;
    for (size_t i = 0; i < num_states_; ++i) {
      next[i] /= total;
      change += std::abs(next[i] - stationary_[i]);
    }
    stationary_.swap(next);
    ++iter;
    changes.push_back(change);
    // Fail early rather than spin: once the rate over the last kRateWindow steps says the
    // tolerance is out of reach within kMaxPowerIterations, stop.
    if (iter >= 2 * kRateWindow && change >= kStationaryTolerance) {
      const double rate = std::pow(change / changes[iter - 1 - kRateWindow], 1.0 / kRateWindow);
      const double needed = rate < 1.0 ? std::log(kStationaryTolerance / change) / std::log(rate)
                                       : std::numeric_limits<double>::infinity();
      WD_CHECK(iter + needed <= kMaxPowerIterations,
               "data.synthetic: the stationary distribution converges too slowly (L1 change {:.3g} "
               "after {} power iterations, shrinking by {:.4f} per step; ~{:.0f} more steps "
               "needed for {:.0e}, the limit is {}); the chain mixes too slowly, raise "
               "data.synthetic.temperature (now {})",
               change, iter, rate, needed, kStationaryTolerance, kMaxPowerIterations,
               options_.temperature);
    }
  }
  power_iterations_ = iter;

  entropy_rate_ = 0.0;
  for (size_t s = 0; s < num_states_; ++s) entropy_rate_ += stationary_[s] * row_entropy[s];

  // Joint entropies of m consecutive tokens, m = k..1: the marginal of pi over its m most recent
  // tokens (the low m digits); by stationarity every window of m consecutive tokens has this law.
  std::vector<double> joint_entropy(k + 1, 0.0);
  std::vector<double> marginal = stationary_;
  size_t size = num_states_;
  for (int m = k; m >= 1; --m) {
    joint_entropy[m] = entropy_of(marginal.data(), size);
    if (m == 1) break;
    const size_t smaller = size / Vs;
    for (size_t i = smaller; i < size; ++i) marginal[i % smaller] += marginal[i];
    marginal.resize(smaller);
    size = smaller;
  }
  prefix_entropies_.resize(k);
  for (int j = 0; j < k; ++j) prefix_entropies_[j] = joint_entropy[j + 1] - joint_entropy[j];
}

double SyntheticLanguage::build_bytes(const SyntheticLanguageOptions& o) {
  const double V = o.vocab_size, k = o.order, R = o.rank;
  const double states = std::pow(V, k);
  // probs_; row_sums_, row_entropy, stationary_, next and marginal (all alive at the end); A;
  // E and U.
  return 4.0 * states * V + 5.0 * 8.0 * states + 8.0 * k * V * V + 8.0 * (k + 1) * V * R;
}

double SyntheticLanguage::window_floor(int T) const {
  return synthetic_window_floor(prefix_entropies_, entropy_rate_, T);
}

double synthetic_window_floor(const std::vector<double>& prefix_entropies, double entropy_rate,
                              int T) {
  WD_CHECK(T >= 1, "window_floor: T must be at least 1, got {}", T);
  const int k = static_cast<int>(prefix_entropies.size());
  double total = 0.0;
  for (int j = 0; j < std::min(k, T); ++j) total += prefix_entropies[j];
  total += static_cast<double>(std::max(0, T - k)) * entropy_rate;
  return total / T;
}

std::vector<int> SyntheticLanguage::sample(size_t n, Rng& rng) const {
  const size_t Vs = static_cast<size_t>(options_.vocab_size);
  const int k = options_.order;
  std::vector<int> out;
  out.reserve(n);
  if (n == 0) return out;

  // First context from the stationary distribution (which sums to 1 up to rounding).
  size_t state = 0;
  {
    const double u = rng.uniform();
    double acc = 0.0;
    for (; state < num_states_; ++state) {
      acc += stationary_[state];
      if (u < acc) break;
    }
    if (state == num_states_) {  // u fell past the rounded cumulative sum
      while (state > 0 && !(stationary_[state - 1] > 0.0)) --state;
      state = state > 0 ? state - 1 : 0;
    }
  }
  // Its tokens, oldest (most significant digit) first.
  size_t place = num_states_ / Vs;
  for (int j = 0; j < k && out.size() < n; ++j, place /= Vs) {
    out.push_back(static_cast<int>((state / place) % Vs));
  }

  const size_t M = num_states_ / Vs;
  while (out.size() < n) {
    const float* p = &probs_[state * Vs];
    const double u = rng.uniform() * row_sums_[state];
    double acc = 0.0;
    size_t c = 0, last_positive = 0;
    for (; c < Vs; ++c) {
      if (p[c] > 0.0f) last_positive = c;
      acc += p[c];
      if (u < acc) break;
    }
    if (c == Vs) c = last_positive;  // u fell past the rounded cumulative sum
    out.push_back(static_cast<int>(c));
    state = c + Vs * (state % M);
  }
  return out;
}

}  // namespace wdlab
