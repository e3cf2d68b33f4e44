// Tests of the synthetic language (probabilities, stationary distribution, entropies checked
// against independent computations and against samples) and of the token datasets.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "data/synthetic_language.h"

namespace wdlab {
namespace {

// The default language (V=64, order 3, rank 16, temperature 0.5), built once for the whole file.
const SyntheticLanguage& default_language() {
  static const SyntheticLanguage* lang = [] {
    const auto t0 = std::chrono::steady_clock::now();
    auto* l = new SyntheticLanguage(SyntheticLanguageOptions{}, 1234);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf(
        "default language: entropy rate %.4f nats (%.3f ln V), floor(64) %.4f (%.3f ln V), "
        "prefix %.4f %.4f %.4f, %d power iterations, built in %.0f ms\n",
        l->entropy_rate(), l->entropy_rate() / std::log(64.0), l->window_floor(64),
        l->window_floor(64) / std::log(64.0), l->prefix_entropies()[0], l->prefix_entropies()[1],
        l->prefix_entropies()[2], l->power_iterations(), ms);
    return l;
  }();
  return *lang;
}

// 200k tokens of the default language, sampled once.
const std::vector<int>& default_sample() {
  static const std::vector<int> tokens = [] {
    Rng rng(99, RngStream::corpus);
    return default_language().sample(200000, rng);
  }();
  return tokens;
}

// P(c|s) of the process: the stored float row renormalised in double.
std::vector<double> row(const SyntheticLanguage& lang, size_t s) {
  const int V = lang.vocab_size();
  const float* p = lang.next_token_probs(s);
  double total = 0.0;
  for (int c = 0; c < V; ++c) total += p[c];
  std::vector<double> q(V);
  for (int c = 0; c < V; ++c) q[c] = p[c] / total;
  return q;
}

double entropy(const std::vector<double>& p) {
  double total = std::accumulate(p.begin(), p.end(), 0.0), h = 0.0;
  for (double x : p) {
    if (x > 0) h -= x / total * std::log(x / total);
  }
  return h;
}

size_t ipow(size_t b, int e) {
  size_t r = 1;
  while (e-- > 0) r *= b;
  return r;
}

// State after context state s emits token c (x_{t-1} is the least significant digit).
size_t shift(size_t s, int c, int V, int order) {
  return static_cast<size_t>(c) + V * (s % ipow(V, order - 1));
}

// Mean of -log P(x_t | x_{t-k..t-1}) over the sample, with a batch-means standard error.
void empirical_surprisal(const SyntheticLanguage& lang, const std::vector<int>& x, double* mean,
                         double* stderr_) {
  const int V = lang.vocab_size(), k = lang.order();
  std::vector<double> s;
  for (size_t t = k; t < x.size(); ++t) {
    size_t state = 0;
    for (int j = 1; j <= k; ++j) state += x[t - j] * ipow(V, j - 1);
    s.push_back(-std::log(row(lang, state)[x[t]]));
  }
  const size_t batches = 100, per = s.size() / batches;
  std::vector<double> means(batches, 0.0);
  for (size_t b = 0; b < batches; ++b) {
    for (size_t i = 0; i < per; ++i) means[b] += s[b * per + i] / per;
  }
  *mean = std::accumulate(means.begin(), means.end(), 0.0) / batches;
  double var = 0.0;
  for (double m : means) var += (m - *mean) * (m - *mean) / (batches - 1);
  *stderr_ = std::sqrt(var / batches);
}

// Plug-in conditional entropy H(X_t | previous `ctx` tokens) from counts of the sample.
double empirical_conditional_entropy(const std::vector<int>& x, int V, int ctx) {
  const size_t cells = ipow(V, ctx + 1);
  std::vector<double> joint(cells, 0.0), marg(cells / V, 0.0);
  double n = 0;
  for (size_t t = ctx; t < x.size(); ++t) {
    size_t key = 0;
    for (int j = ctx; j >= 0; --j) key = key * V + x[t - j];
    joint[key] += 1;
    marg[key / V] += 1;
    n += 1;
  }
  double h = 0.0;
  for (size_t key = 0; key < cells; ++key) {
    if (joint[key] > 0) h -= joint[key] / n * std::log(joint[key] / marg[key / V]);
  }
  return h;
}

template <typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no wdlab::Error thrown>";
}

// ------------------------------------------------------------------------------------------------
// Synthetic language: the table and the stationary distribution

TEST(SyntheticLanguage, RowsAreDistributions) {
  const SyntheticLanguage& lang = default_language();
  ASSERT_EQ(lang.num_states(), size_t{64 * 64 * 64});
  for (size_t s = 0; s < lang.num_states(); ++s) {
    const float* p = lang.next_token_probs(s);
    double total = 0.0;
    for (int c = 0; c < 64; ++c) {
      ASSERT_GE(p[c], 0.0f);
      total += p[c];
    }
    ASSERT_NEAR(total, 1.0, 1e-5) << "state " << s;
  }
}

TEST(SyntheticLanguage, StationaryIsANormalisedFixedPoint) {
  const SyntheticLanguage& lang = default_language();
  const int V = 64, k = 3;
  const std::vector<double>& pi = lang.stationary();
  ASSERT_EQ(pi.size(), lang.num_states());
  double total = 0.0;
  for (double x : pi) {
    ASSERT_GE(x, 0.0);
    total += x;
  }
  EXPECT_NEAR(total, 1.0, 1e-12);
  // One step of the chain, written the other way round (scatter from each state).
  std::vector<double> next(pi.size(), 0.0);
  for (size_t s = 0; s < pi.size(); ++s) {
    const std::vector<double> q = row(lang, s);
    for (int c = 0; c < V; ++c) next[shift(s, c, V, k)] += pi[s] * q[c];
  }
  double l1 = 0.0;
  for (size_t s = 0; s < pi.size(); ++s) l1 += std::abs(next[s] - pi[s]);
  EXPECT_LT(l1, 1e-12);
  // Not uniform: the language has structure.
  const auto [lo, hi] = std::minmax_element(pi.begin(), pi.end());
  EXPECT_GT(*hi / *lo, 10.0);
}

// ------------------------------------------------------------------------------------------------
// Entropies

TEST(SyntheticLanguage, DefaultLanguageIsLearnableButNotTrivial) {
  const SyntheticLanguage& lang = default_language();
  const double lnV = std::log(64.0);
  EXPECT_GT(lang.entropy_rate(), 0.4 * lnV);
  EXPECT_LT(lang.entropy_rate(), 0.7 * lnV);
  // Conditioning never hurts: ln V >= H(X0) >= H(X1|X0) >= H(X2|X0,X1) >= H.
  const std::vector<double>& pre = lang.prefix_entropies();
  ASSERT_EQ(pre.size(), 3u);
  EXPECT_LE(pre[0], lnV + 1e-12);
  EXPECT_GT(pre[0], pre[1]);
  EXPECT_GT(pre[1], pre[2]);
  EXPECT_GT(pre[2], lang.entropy_rate());
}

TEST(SyntheticLanguage, EntropyRateMatchesSampleSurprisal) {
  const SyntheticLanguage& lang = default_language();
  double mean = 0.0, se = 0.0;
  empirical_surprisal(lang, default_sample(), &mean, &se);
  EXPECT_LT(se, 0.01);
  EXPECT_NEAR(mean, lang.entropy_rate(), 4.0 * se)
      << "empirical " << mean << " +- " << se << " vs " << lang.entropy_rate();
}

TEST(SyntheticLanguage, PrefixEntropiesMatchSampleCounts) {
  const SyntheticLanguage& lang = default_language();
  const std::vector<int>& x = default_sample();
  // Plug-in estimates are biased low by about (cells - contexts) / (2n): 0.0002 and 0.01 nats.
  EXPECT_NEAR(empirical_conditional_entropy(x, 64, 0), lang.prefix_entropies()[0], 0.01);
  EXPECT_NEAR(empirical_conditional_entropy(x, 64, 1), lang.prefix_entropies()[1], 0.03);
}

TEST(SyntheticLanguage, BigramModelCannotReachTheFloor) {
  // With only the previous token the best achievable loss is far above the entropy rate, so a
  // model has to attend back all k positions.
  const SyntheticLanguage& lang = default_language();
  const double bigram = empirical_conditional_entropy(default_sample(), 64, 1);
  EXPECT_GT(bigram, lang.entropy_rate() + 0.5) << bigram << " vs " << lang.entropy_rate();
}

// V=3, order 2 (9 contexts): stationary distribution by solving pi (P - I) = 0, sum pi = 1 with
// Gaussian elimination, then every entropy by enumeration.
TEST(SyntheticLanguage, TinyLanguageMatchesLinearSolve) {
  const int V = 3, k = 2, N = 9;
  const SyntheticLanguage lang({.vocab_size = V, .order = k, .rank = 4, .temperature = 0.7}, 7);
  ASSERT_EQ(lang.num_states(), size_t{N});
  // Rows 0..N-2: (P^T - I) pi = 0; last row: sum pi = 1.
  std::vector<std::vector<long double>> a(N, std::vector<long double>(N + 1, 0.0L));
  for (int s = 0; s < N; ++s) {
    const std::vector<double> q = row(lang, s);
    for (int c = 0; c < V; ++c) {
      const size_t t = shift(s, c, V, k);
      if (static_cast<int>(t) < N - 1) a[t][s] += q[c];
    }
    if (s < N - 1) a[s][s] -= 1.0L;
    a[N - 1][s] = 1.0L;
  }
  a[N - 1][N] = 1.0L;
  for (int col = 0; col < N; ++col) {
    int piv = col;
    for (int r = col + 1; r < N; ++r) {
      if (std::abs(a[r][col]) > std::abs(a[piv][col])) piv = r;
    }
    std::swap(a[col], a[piv]);
    for (int r = 0; r < N; ++r) {
      if (r == col) continue;
      const long double f = a[r][col] / a[col][col];
      for (int c = col; c <= N; ++c) a[r][c] -= f * a[col][c];
    }
  }
  std::vector<double> pi(N);
  for (int s = 0; s < N; ++s) pi[s] = static_cast<double>(a[s][N] / a[s][s]);
  for (int s = 0; s < N; ++s) EXPECT_NEAR(lang.stationary()[s], pi[s], 1e-12) << "state " << s;

  double rate = 0.0;
  for (int s = 0; s < N; ++s) rate += pi[s] * entropy(row(lang, s));
  EXPECT_NEAR(lang.entropy_rate(), rate, 1e-9);

  // Joint law of three consecutive tokens (x0, x1, x2); state of (x0, x1) is x1 + V x0.
  std::vector<double> p1(V, 0.0), p2(V * V, 0.0), p3(V * V * V, 0.0);
  for (int x0 = 0; x0 < V; ++x0) {
    for (int x1 = 0; x1 < V; ++x1) {
      const std::vector<double> q = row(lang, x1 + V * x0);
      for (int x2 = 0; x2 < V; ++x2) {
        const double p = pi[x1 + V * x0] * q[x2];
        p3[(x0 * V + x1) * V + x2] += p;
        p2[x1 * V + x2] += p;  // the last two of three tokens: stationarity check below
        p1[x2] += p;
      }
    }
  }
  // By stationarity the (x1, x2) pair has the law of a context.
  for (int x1 = 0; x1 < V; ++x1) {
    for (int x2 = 0; x2 < V; ++x2) EXPECT_NEAR(p2[x1 * V + x2], pi[x2 + V * x1], 1e-12);
  }
  const double h1 = entropy(p1), h2 = entropy(p2), h3 = entropy(p3);
  ASSERT_EQ(lang.prefix_entropies().size(), 2u);
  EXPECT_NEAR(lang.prefix_entropies()[0], h1, 1e-9);
  EXPECT_NEAR(lang.prefix_entropies()[1], h2 - h1, 1e-9);
  EXPECT_NEAR(h3 - h2, rate, 1e-9);  // H(X2 | X0, X1) is the entropy rate of an order-2 chain
  EXPECT_NEAR(lang.window_floor(5), (h1 + (h2 - h1) + 3 * rate) / 5, 1e-9);
}

// Order 1, V=2: a two-state chain with stationary law pi0 = P(0|1) / (P(1|0) + P(0|1)).
TEST(SyntheticLanguage, TwoStateChainClosedForm) {
  for (uint64_t seed : {1, 2, 3}) {
    const SyntheticLanguage lang({.vocab_size = 2, .order = 1, .rank = 3, .temperature = 0.4},
                                 seed);
    const std::vector<double> q0 = row(lang, 0), q1 = row(lang, 1);
    const double pi0 = q1[0] / (q0[1] + q1[0]), pi1 = 1.0 - pi0;
    const auto h2 = [](double p) { return -p * std::log(p) - (1 - p) * std::log(1 - p); };
    EXPECT_NEAR(lang.stationary()[0], pi0, 1e-12);
    EXPECT_NEAR(lang.entropy_rate(), pi0 * h2(q0[0]) + pi1 * h2(q1[0]), 1e-12);
    ASSERT_EQ(lang.prefix_entropies().size(), 1u);
    EXPECT_NEAR(lang.prefix_entropies()[0], h2(pi0), 1e-12);
    EXPECT_NEAR(lang.window_floor(4), (h2(pi0) + 3 * lang.entropy_rate()) / 4, 1e-12);
  }
}

TEST(SyntheticLanguage, EntropyBoundedByLogVAndApproachesItAtHighTemperature) {
  for (int V : {2, 5, 16}) {
    for (int order : {1, 2}) {
      const double lnV = std::log(static_cast<double>(V));
      const SyntheticLanguage cold({.vocab_size = V, .order = order, .temperature = 0.5}, 11);
      const SyntheticLanguage hot({.vocab_size = V, .order = order, .temperature = 1e4}, 11);
      EXPECT_LT(cold.entropy_rate(), lnV - 0.01);
      EXPECT_LE(hot.entropy_rate(), lnV + 1e-12);
      EXPECT_NEAR(hot.entropy_rate(), lnV, 1e-6);
      EXPECT_GT(hot.entropy_rate(), cold.entropy_rate());
      for (double h : hot.prefix_entropies()) EXPECT_NEAR(h, lnV, 1e-6);
    }
  }
}

TEST(SyntheticLanguage, WindowFloor) {
  const SyntheticLanguage& lang = default_language();
  const std::vector<double>& pre = lang.prefix_entropies();
  const double H = lang.entropy_rate();
  EXPECT_DOUBLE_EQ(lang.window_floor(1), pre[0]);
  EXPECT_NEAR(lang.window_floor(2), (pre[0] + pre[1]) / 2, 1e-12);
  EXPECT_NEAR(lang.window_floor(64), (pre[0] + pre[1] + pre[2] + 61 * H) / 64, 1e-12);
  double previous = lang.window_floor(1);
  for (int T = 2; T <= 512; ++T) {
    const double f = lang.window_floor(T);
    EXPECT_LT(f, previous) << "T=" << T;
    EXPECT_GT(f, H);
    previous = f;
  }
  EXPECT_NEAR(lang.window_floor(1000000), H, 1e-5);
  EXPECT_NE(error_message([&] { lang.window_floor(0); }).find("T"), std::string::npos);
}

// ------------------------------------------------------------------------------------------------
// Sampling

TEST(SyntheticLanguage, SampleLengthAndRange) {
  const SyntheticLanguage lang({.vocab_size = 5, .order = 3, .rank = 4}, 3);
  for (size_t n : {0, 1, 2, 3, 4, 1000}) {
    Rng rng(5);
    const std::vector<int> x = lang.sample(n, rng);
    ASSERT_EQ(x.size(), n);
    for (int t : x) {
      ASSERT_GE(t, 0);
      ASSERT_LT(t, 5);
    }
  }
  // A shorter sample is a prefix of a longer one from the same generator state.
  Rng a(8), b(8);
  const std::vector<int> short_x = lang.sample(2, a), long_x = lang.sample(50, b);
  EXPECT_TRUE(std::equal(short_x.begin(), short_x.end(), long_x.begin()));
}

// The first k tokens are a context drawn from pi, oldest first (state = x1 + V x0).
TEST(SyntheticLanguage, FirstContextIsStationary) {
  const int V = 3, k = 2, draws = 60000;
  const SyntheticLanguage lang({.vocab_size = V, .order = k, .rank = 4, .temperature = 0.4}, 21);
  std::vector<double> counts(9, 0.0);
  Rng rng(4);
  for (int i = 0; i < draws; ++i) {
    const std::vector<int> x = lang.sample(2, rng);
    counts[x[1] + V * x[0]] += 1;
  }
  double max_asym = 0.0;
  for (int s = 0; s < 9; ++s) {
    const double p = lang.stationary()[s];
    const double se = std::sqrt(p * (1 - p) / draws);
    EXPECT_NEAR(counts[s] / draws, p, 5 * se + 1e-4) << "state " << s;
    // The reversed reading (x0 + V x1) would be a different distribution: the test can tell.
    const int rev = (s / V) + V * (s % V);
    max_asym = std::max(max_asym, std::abs(p - lang.stationary()[rev]) / se);
  }
  EXPECT_GT(max_asym, 10.0);
}

TEST(SyntheticLanguage, DeterministicFromSeed) {
  const SyntheticLanguageOptions opt{.vocab_size = 16, .order = 2, .rank = 8};
  const SyntheticLanguage a(opt, 42), b(opt, 42), c(opt, 43);
  EXPECT_EQ(a.entropy_rate(), b.entropy_rate());
  EXPECT_NE(a.entropy_rate(), c.entropy_rate());
  EXPECT_TRUE(std::equal(a.next_token_probs(0), a.next_token_probs(0) + 16 * 16 * 16,
                         b.next_token_probs(0)));
  Rng r1(5), r2(5), r3(6);
  const std::vector<int> x1 = a.sample(5000, r1), x2 = a.sample(5000, r2), x3 = a.sample(5000, r3);
  EXPECT_EQ(x1, x2);
  EXPECT_NE(x1, x3);
  Rng r4(5);
  EXPECT_NE(x1, c.sample(5000, r4));  // same sampling seed, different language
}

TEST(SyntheticLanguage, ValidatesOptions) {
  const auto msg = [](SyntheticLanguageOptions o) {
    return error_message([&] { SyntheticLanguage lang(o, 1); });
  };
  EXPECT_NE(msg({.vocab_size = 1}).find("data.synthetic.vocab_size"), std::string::npos);
  EXPECT_NE(msg({.vocab_size = 4097}).find("data.synthetic.vocab_size"), std::string::npos);
  EXPECT_NE(msg({.order = 0}).find("data.synthetic.order"), std::string::npos);
  EXPECT_NE(msg({.vocab_size = 64, .order = 4}).find("data.synthetic.order"), std::string::npos);
  EXPECT_NE(msg({.rank = 0}).find("data.synthetic.rank"), std::string::npos);
  EXPECT_NE(msg({.temperature = 0.0}).find("data.synthetic.temperature"), std::string::npos);
  EXPECT_NE(msg({.temperature = -1.0}).find("data.synthetic.temperature"), std::string::npos);
  EXPECT_NE(msg({.temperature = NAN}).find("data.synthetic.temperature"), std::string::npos);
  // 2^22 contexts is allowed, one more digit is not.
  EXPECT_NE(msg({.vocab_size = 2, .order = 23}).find("data.synthetic.order"), std::string::npos);
  // A chain that mixes far too slowly is reported, quickly, instead of spinning.
  EXPECT_NE(msg({.vocab_size = 16, .order = 2, .temperature = 0.02}).find("temperature"),
            std::string::npos);
}

// ------------------------------------------------------------------------------------------------
// Datasets

std::vector<int> iota_stream(int n) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

TEST(BatchSampler, WindowsAreShiftedSlicesWithUniformOffsets) {
  const int B = 4, T = 5;
  const std::vector<int> stream = iota_stream(T + 3);  // offsets 0, 1, 2
  BatchSampler sampler(stream, B, T, 77);
  std::vector<int> tokens(B * T), targets(B * T);
  std::vector<int> seen(3, 0);
  for (int step = 0; step < 300; ++step) {
    sampler.next(tokens.data(), targets.data());
    for (int b = 0; b < B; ++b) {
      const int off = tokens[b * T];
      ASSERT_GE(off, 0);
      ASSERT_LE(off, 2);
      ++seen[off];
      for (int t = 0; t < T; ++t) {
        ASSERT_EQ(tokens[b * T + t], off + t);
        ASSERT_EQ(targets[b * T + t], off + t + 1);
      }
    }
  }
  for (int n : seen) EXPECT_NEAR(n, 400, 80);  // 1200 draws over 3 offsets
}

TEST(BatchSampler, DeterministicFromSeed) {
  const std::vector<int> stream = iota_stream(10000);
  const int B = 3, T = 8;
  BatchSampler a(stream, B, T, 1), b(stream, B, T, 1), c(stream, B, T, 2);
  std::vector<int> ta(B * T), ya(B * T), tb(B * T), yb(B * T), tc(B * T), yc(B * T);
  bool differs = false;
  for (int step = 0; step < 20; ++step) {
    a.next(ta.data(), ya.data());
    b.next(tb.data(), yb.data());
    c.next(tc.data(), yc.data());
    ASSERT_EQ(ta, tb);
    ASSERT_EQ(ya, yb);
    differs = differs || ta != tc;
  }
  EXPECT_TRUE(differs);
}

TEST(BatchSampler, RejectsShortStream) {
  const std::vector<int> stream = iota_stream(8);
  EXPECT_NE(error_message([&] { BatchSampler s(stream, 2, 8, 1); }).find("T+1 = 9"),
            std::string::npos);
  EXPECT_NO_THROW(BatchSampler(stream, 2, 7, 1));
}

TEST(TokenDataset, ValidationBatches) {
  TokenDataset data;
  data.val = iota_stream(1000);
  const int B = 3, T = 9;  // 100 windows of 10 tokens -> 33 batches
  ASSERT_EQ(data.val_batches_available(B, T), 33);
  std::vector<int> tokens(B * T), targets(B * T), again(B * T), again_y(B * T);
  std::set<int> starts;
  int last_end = -1;
  for (int i = 0; i < 33; ++i) {
    data.val_batch(i, B, T, tokens.data(), targets.data());
    data.val_batch(i, B, T, again.data(), again_y.data());
    EXPECT_EQ(tokens, again);
    EXPECT_EQ(targets, again_y);
    for (int b = 0; b < B; ++b) {
      const int off = tokens[b * T];
      for (int t = 0; t < T; ++t) {
        ASSERT_EQ(tokens[b * T + t], off + t);
        ASSERT_EQ(targets[b * T + t], off + t + 1);
      }
      EXPECT_GT(off, last_end);  // windows of T+1 tokens, increasing, never overlapping
      last_end = off + T;
      EXPECT_LT(last_end, 1000);
      starts.insert(off);
    }
  }
  EXPECT_EQ(starts.size(), 99u);
  EXPECT_EQ(*starts.begin(), 0);
  EXPECT_EQ(*starts.rbegin(), 1000 - T - 1);  // evenly spread over the whole stream
  EXPECT_THROW(data.val_batch(33, B, T, tokens.data(), targets.data()), Error);
  EXPECT_THROW(data.val_batch(-1, B, T, tokens.data(), targets.data()), Error);

  // Too few windows for one batch: still one batch.
  TokenDataset small;
  small.val = iota_stream(25);
  EXPECT_EQ(small.val_batches_available(4, 9), 1);
  std::vector<int> small_tokens(4 * 9), small_targets(4 * 9);
  small.val_batch(0, 4, 9, small_tokens.data(), small_targets.data());
  EXPECT_EQ(small_tokens[0], 0);
  EXPECT_EQ(small_tokens[3 * 9], 25 - 10);
  EXPECT_EQ(small_targets[3 * 9 + 8], 24);
}

TEST(TokenDataset, SyntheticDataset) {
  const SyntheticLanguageOptions opt{.vocab_size = 8, .order = 2, .rank = 4};
  const TokenDataset a = make_synthetic_dataset(opt, 5, 20000, 3000, 16);
  const TokenDataset b = make_synthetic_dataset(opt, 5, 20000, 3000, 16);
  const TokenDataset c = make_synthetic_dataset(opt, 6, 20000, 3000, 16);
  const SyntheticLanguage lang(opt, 5);
  EXPECT_EQ(a.vocab_size, 8);
  EXPECT_EQ(a.train.size(), 20000u);
  EXPECT_EQ(a.val.size(), 3000u);
  ASSERT_TRUE(a.entropy_rate.has_value());
  ASSERT_TRUE(a.window_floor.has_value());
  EXPECT_EQ(*a.entropy_rate, lang.entropy_rate());
  EXPECT_EQ(*a.window_floor, lang.window_floor(16));
  EXPECT_NE(a.description.find("synthetic"), std::string::npos);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.val, b.val);
  EXPECT_NE(a.train, c.train);
  // The training stream is the language sampled from Rng(seed, corpus); validation is another
  // stream, not a copy or a continuation of it.
  Rng corpus(5, RngStream::corpus);
  EXPECT_EQ(a.train, lang.sample(20000, corpus));
  EXPECT_FALSE(std::equal(a.val.begin(), a.val.end(), a.train.begin()));
  EXPECT_NE(error_message([&] { make_synthetic_dataset(opt, 5, 16, 3000, 16); }).find("train"),
            std::string::npos);
}

class TextDataset : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("wdlab_test_data_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(TextDataset, BytesAndSplit) {
  std::string bytes;
  for (int i = 0; i < 1000; ++i) bytes.push_back(static_cast<char>((i * 37) % 256));
  const std::string path = write("corpus.bin", bytes);
  const TokenDataset d = load_text_dataset(path, 0.1, 16);
  EXPECT_EQ(d.vocab_size, 256);
  ASSERT_EQ(d.train.size(), 900u);
  ASSERT_EQ(d.val.size(), 100u);
  for (int i = 0; i < 1000; ++i) {
    const int token = i < 900 ? d.train[i] : d.val[i - 900];
    ASSERT_EQ(token, (i * 37) % 256) << i;  // bytes >= 128 stay positive
  }
  EXPECT_FALSE(d.entropy_rate.has_value());
  EXPECT_FALSE(d.window_floor.has_value());
  EXPECT_NE(d.description.find(path), std::string::npos);
}

TEST_F(TextDataset, Errors) {
  const std::string missing = (dir_ / "no_such_file.txt").string();
  EXPECT_NE(error_message([&] { load_text_dataset(missing, 0.1, 8); }).find(missing),
            std::string::npos);
  const std::string dir = dir_.string();
  EXPECT_NE(error_message([&] { load_text_dataset(dir, 0.1, 8); }).find(dir), std::string::npos);
  // 100 bytes, 10% validation = 10 tokens: fine for T=9, too short for T=10.
  const std::string small = write("small.txt", std::string(100, 'a'));
  EXPECT_NO_THROW(load_text_dataset(small, 0.1, 9));
  const std::string msg = error_message([&] { load_text_dataset(small, 0.1, 10); });
  EXPECT_NE(msg.find(small), std::string::npos);
  EXPECT_NE(msg.find("too short"), std::string::npos);
  const std::string empty = write("empty.txt", "");
  EXPECT_NE(error_message([&] { load_text_dataset(empty, 0.5, 1); }).find(empty),
            std::string::npos);
  for (double f : {0.0, 1.0, -0.2, 1.5}) {
    EXPECT_NE(error_message([&] { load_text_dataset(small, f, 4); }).find("val_fraction"),
              std::string::npos);
  }
}

// A device or a FIFO never ends: read as a corpus it would hang the run. Only regular files of
// at most kMaxTextBytes are read (text_file_size only stats the path, so a FIFO cannot block
// this test; the CLI test opens one under a timeout).
TEST_F(TextDataset, OnlyRegularFilesUpToTheBound) {
  const std::string zero = error_message([] { load_text_dataset("/dev/zero", 0.1, 8); });
  EXPECT_NE(zero.find("data.path: '/dev/zero' is not a regular file"), std::string::npos) << zero;

  const std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string fifo_msg = error_message([&] { text_file_size(fifo); });
  EXPECT_NE(fifo_msg.find("'" + fifo + "' is not a regular file"), std::string::npos) << fifo_msg;

  // A sparse file one byte above the bound: refused before anything is read.
  const std::string big = write("big.txt", "");
  std::filesystem::resize_file(big, kMaxTextBytes + 1);
  const std::string big_msg = error_message([&] { load_text_dataset(big, 0.1, 8); });
  EXPECT_NE(big_msg.find(fmt::format("'{}' is {} bytes, above the byte-level loader's limit of {} "
                                     "bytes (1 GiB)",
                                     big, kMaxTextBytes + 1, kMaxTextBytes)),
            std::string::npos)
      << big_msg;
  std::filesystem::resize_file(big, 1000);
  EXPECT_EQ(text_file_size(big), 1000u);
}

}  // namespace
}  // namespace wdlab
