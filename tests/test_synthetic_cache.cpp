// The fast paths of the synthetic data set-up give the bits of the plain ones: the blocked,
// multiversioned power iteration against a plain loop written here, and the data cache
// (data/synthetic_cache.h) against make_synthetic_dataset without it, on a hit, on a miss and
// after every kind of damage to an entry. Nothing here depends on a committed hash: both sides
// are computed on the machine that runs the test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/synthetic_cache.h"
#include "data/synthetic_language.h"

namespace wdlab {
namespace {
namespace fs = std::filesystem;

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

void expect_same_dataset(const TokenDataset& a, const TokenDataset& b) {
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.val, b.val);
  ASSERT_TRUE(a.entropy_rate && b.entropy_rate && a.window_floor && b.window_floor);
  EXPECT_TRUE(same_bits(*a.entropy_rate, *b.entropy_rate));
  EXPECT_TRUE(same_bits(*a.window_floor, *b.window_floor));
  EXPECT_EQ(a.description, b.description);
}

// The stationary distribution as the plain power iteration computes it: states in storage
// order, one multiply and one add per element, stopped at the same tolerance.
std::vector<double> plain_stationary(const SyntheticLanguage& lang, int* iterations) {
  const size_t V = static_cast<size_t>(lang.vocab_size()), N = lang.num_states(), M = N / V;
  std::vector<double> row_sums(N);
  for (size_t s = 0; s < N; ++s) {
    const float* p = lang.next_token_probs(s);
    double sum = 0.0;
    for (size_t c = 0; c < V; ++c) sum += p[c];
    row_sums[s] = sum;
  }
  std::vector<double> pi(N, 1.0 / static_cast<double>(N)), next(N);
  double change = std::numeric_limits<double>::infinity();
  *iterations = 0;
  while (!(change < 1e-13)) {
    std::fill(next.begin(), next.end(), 0.0);
    for (size_t s = 0; s < N; ++s) {
      const double w = pi[s] / row_sums[s];
      const float* p = lang.next_token_probs(s);
      double* out = &next[(s % M) * V];
      for (size_t c = 0; c < V; ++c) out[c] += w * static_cast<double>(p[c]);
    }
    double total = 0.0;
    for (double x : next) total += x;
    change = 0.0;
    for (size_t i = 0; i < N; ++i) {
      next[i] /= total;
      change += std::abs(next[i] - pi[i]);
    }
    pi.swap(next);
    ++*iterations;
  }
  return pi;
}

TEST(SyntheticFastPath, BlockedPowerIterationIsBitIdenticalToThePlainLoop) {
  // The default language (262144 states, more than one block of rows), one whose row count is
  // not a multiple of the block, and one smaller than a block.
  for (const SyntheticLanguageOptions& o :
       {SyntheticLanguageOptions{}, SyntheticLanguageOptions{.vocab_size = 23, .order = 3},
        SyntheticLanguageOptions{.vocab_size = 7, .order = 2, .rank = 4}}) {
    const SyntheticLanguage lang(o, 1234);
    int iterations = 0;
    const std::vector<double> plain = plain_stationary(lang, &iterations);
    EXPECT_EQ(lang.power_iterations(), iterations) << "V=" << o.vocab_size;
    EXPECT_TRUE(same_bits(lang.stationary(), plain)) << "V=" << o.vocab_size;
  }
}

class SyntheticCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wdlab_synthetic_cache_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  TokenDataset cached(CacheOutcome* how, int T = 16) {
    return cached_synthetic_dataset(options_, seed_, train_, val_, T, dir_, how);
  }
  TokenDataset plain(int T = 16) {
    return make_synthetic_dataset(options_, seed_, train_, val_, T);
  }
  fs::path entry() const {
    return synthetic_cache_file(dir_, synthetic_cache_key(options_, seed_, train_, val_));
  }
  std::string read_entry() const {
    std::ifstream in(entry(), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  void write_entry(const std::string& bytes) const {
    std::ofstream(entry(), std::ios::binary | std::ios::trunc) << bytes;
  }

  fs::path dir_;
  SyntheticLanguageOptions options_{.vocab_size = 16, .order = 3, .rank = 8, .temperature = 0.5};
  uint64_t seed_ = 99;
  size_t train_ = 3000, val_ = 1000;
};

TEST_F(SyntheticCache, MissThenHitGiveThePlainDataBitForBit) {
  const TokenDataset reference = plain();
  CacheOutcome how{};
  expect_same_dataset(cached(&how), reference);
  EXPECT_EQ(how, CacheOutcome::built);
  ASSERT_TRUE(fs::is_regular_file(entry()));
  expect_same_dataset(cached(&how), reference);
  EXPECT_EQ(how, CacheOutcome::hit);
  // Another window length: the floor is computed again, from the cached entropies.
  expect_same_dataset(cached(&how, 5), plain(5));
  EXPECT_EQ(how, CacheOutcome::hit);
}

TEST_F(SyntheticCache, TheDefaultLanguageToo) {
  options_ = SyntheticLanguageOptions{};
  seed_ = 1234, train_ = 16384, val_ = 32768;
  const TokenDataset reference = plain(64);
  CacheOutcome how{};
  expect_same_dataset(cached(&how, 64), reference);
  EXPECT_EQ(how, CacheOutcome::built);
  expect_same_dataset(cached(&how, 64), reference);
  EXPECT_EQ(how, CacheOutcome::hit);
}

TEST_F(SyntheticCache, EveryInputIsPartOfTheKey) {
  const std::string key = synthetic_cache_key(options_, seed_, train_, val_);
  auto other = [&](SyntheticLanguageOptions o, uint64_t seed, size_t train, size_t val) {
    return synthetic_cache_key(o, seed, train, val) != key;
  };
  SyntheticLanguageOptions o = options_;
  o.vocab_size++;
  EXPECT_TRUE(other(o, seed_, train_, val_));
  o = options_, o.order++;
  EXPECT_TRUE(other(o, seed_, train_, val_));
  o = options_, o.rank++;
  EXPECT_TRUE(other(o, seed_, train_, val_));
  o = options_, o.temperature = std::nextafter(o.temperature, 1.0);
  EXPECT_TRUE(other(o, seed_, train_, val_));
  EXPECT_TRUE(other(options_, seed_ + 1, train_, val_));
  EXPECT_TRUE(other(options_, seed_, train_ + 1, val_));
  EXPECT_TRUE(other(options_, seed_, train_, val_ + 1));
  EXPECT_NE(synthetic_cache_file(dir_, key),
            synthetic_cache_file(dir_, synthetic_cache_key(options_, seed_ + 1, train_, val_)));
}

TEST_F(SyntheticCache, ADamagedEntryIsRebuiltNeverTrusted) {
  const TokenDataset reference = plain();
  CacheOutcome how{};
  cached(&how);
  const std::string good = read_entry();
  ASSERT_GT(good.size(), 100u);

  std::vector<std::pair<std::string, std::string>> damaged = {
      {"empty", ""},
      {"truncated", good.substr(0, good.size() / 2)},
      {"one byte short", good.substr(0, good.size() - 1)},
      {"one byte more", good + "x"},
      {"another key",
       [&] {
         std::string b = good;
         b[good.find('\n') + 5] ^= 1;  // inside the key line
         return b;
       }()},
  };
  for (size_t pos : {good.size() / 3, good.size() - 10, good.size() - 1}) {
    std::string b = good;
    b[pos] ^= 0x10;  // a token, an entropy or the checksum
    damaged.emplace_back("bit flip at " + std::to_string(pos), b);
  }
  for (const auto& [what, bytes] : damaged) {
    write_entry(bytes);
    expect_same_dataset(cached(&how), reference);
    EXPECT_EQ(how, CacheOutcome::rebuilt) << what;
    EXPECT_EQ(read_entry(), good) << what << ": the entry is stored again, whole";
  }
}

TEST_F(SyntheticCache, AnUnwritableCacheOnlyCostsTime) {
  fs::create_directories(dir_.parent_path());
  std::ofstream(dir_) << "a file where the cache directory should be";
  CacheOutcome how{};
  expect_same_dataset(cached(&how), plain());
  EXPECT_EQ(how, CacheOutcome::unwritable);
}

TEST_F(SyntheticCache, ConcurrentRunsAllGetTheSameData) {
  const TokenDataset reference = plain();
  std::vector<TokenDataset> got(4);
  std::vector<std::thread> threads;
  for (TokenDataset& g : got) threads.emplace_back([&] { g = cached(nullptr); });
  for (std::thread& t : threads) t.join();
  for (const TokenDataset& g : got) expect_same_dataset(g, reference);
  CacheOutcome how{};
  expect_same_dataset(cached(&how), reference);
  EXPECT_EQ(how, CacheOutcome::hit);
  // No temporary files are left behind.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace wdlab
