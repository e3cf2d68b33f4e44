// The embedded default data: a seeded synthetic language whose exact entropy rate is known, so
// every run can report how far its validation loss is above the best any model could do.
//
// The language is an order-k Markov chain over V tokens whose next-token distribution depends on
// all k previous tokens through a random low-rank score:
//   P(x_t = c | x_{t-k..t-1}) = softmax_c( sum_j <E_j[x_{t-j}], U[c]> / temperature )
// (E_j, U drawn once from the language seed, scaled so that the logits have standard deviation
// ~1.25/temperature; see synthetic_language.cpp). Because every one of the k previous tokens
// matters, a bigram model cannot reach the floor: the model has to attend back k positions.
//
// Entropy, from the definitions (natural log, nats):
//   entropy rate   H = sum_s pi(s) H(P(.|s)), pi the stationary distribution over the V^k
//                  contexts (power iteration to convergence);
//   window floor   the expected mean cross-entropy of the true process over a window of T tokens
//                  started in the stationary distribution: positions j < k see only j tokens of
//                  context, so floor(T) = (sum_{j<k} H(X_j | X_0..X_{j-1}) + (T-k) H) / T.
//
//   SyntheticLanguage lang({.vocab_size = 64, .order = 3}, /*seed=*/1234);
//   std::vector<int> tokens = lang.sample(100000, rng);
//   double floor = lang.window_floor(64);
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wdlab {

class Rng;

struct SyntheticLanguageOptions {
  int vocab_size = 64;
  int order = 3;             // k: how many previous tokens the next one depends on
  int rank = 16;             // width of the random score embeddings
  double temperature = 0.5;  // lower = more predictable
};

class SyntheticLanguage {
 public:
  SyntheticLanguage(SyntheticLanguageOptions options, uint64_t seed);

  // Bytes a language of these options holds while it is built, at the peak: the transition
  // table (float), five per-context vectors (double) and the score tables. For estimating a
  // run's memory before building anything; options need not be valid (no overflow, no throw).
  static double build_bytes(const SyntheticLanguageOptions& options);

  int vocab_size() const { return options_.vocab_size; }
  int order() const { return options_.order; }

  // n tokens of one stationary stream (the first context drawn from the stationary distribution).
  std::vector<int> sample(size_t n, Rng& rng) const;

  double entropy_rate() const { return entropy_rate_; }
  // Expected mean cross-entropy of the true process over a window of T tokens, T >= 1.
  double window_floor(int T) const;
  // H(X_j | X_0..X_{j-1}) for j < order: the loss the true process itself has at position j.
  const std::vector<double>& prefix_entropies() const { return prefix_entropies_; }

  // Next-token distribution for a context given as a state index (sum_j x_{t-j} V^(j-1)).
  // Stored as float; the process is these values renormalised in double (each row sums to 1 to
  // ~1e-7), and the stationary distribution, the entropies and sample() all use that.
  const float* next_token_probs(size_t state) const { return &probs_[state * options_.vocab_size]; }

  // V^order contexts.
  size_t num_states() const { return num_states_; }
  // Stationary distribution over contexts (num_states entries, indexed like next_token_probs).
  const std::vector<double>& stationary() const { return stationary_; }
  // Power-iteration steps the stationary distribution took (diagnostics).
  int power_iterations() const { return power_iterations_; }

 private:
  SyntheticLanguageOptions options_;
  size_t num_states_ = 0;
  std::vector<float> probs_;        // (num_states, V)
  std::vector<double> row_sums_;    // (num_states): sum of each float row, in double
  std::vector<double> stationary_;  // (num_states)
  double entropy_rate_ = 0.0;
  std::vector<double> prefix_entropies_;
  int power_iterations_ = 0;
};

// SyntheticLanguage::window_floor from its parts (prefix_entropies has `order` entries): what a
// dataset read back from the data cache (data/synthetic_cache.h) computes its floor with.
double synthetic_window_floor(const std::vector<double>& prefix_entropies, double entropy_rate,
                              int T);

}  // namespace wdlab
