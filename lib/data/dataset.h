// Token streams for training and validation, from the synthetic language or from a text file
// (byte level, vocabulary 256, the last val_fraction of the file held out); or fixed-length
// examples whose loss counts only some positions (data.source=modular, data/modular_arithmetic.h).
//
//   TokenDataset data = load_dataset(config.data, seed);
//   BatchSampler sampler(data, data.batch_size(B), T, run_seed);
//   sampler.next(tokens, targets);        // random windows, order fixed by run_seed
//   data.val_batch(i, B, T, tokens, targets);  // fixed validation windows (streams)
//   data.examples->batch(data.examples->val, first, n, tokens, targets);  // examples, in order
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/rng.h"

namespace wdlab {

// Fixed-length examples in place of token streams: each one is `length` tokens, read as inputs
// 0..length-2 with targets 1..length-1, of which only those at input positions >= graded_from
// count in the loss (the others are kMaskedTarget, layers/cross_entropy.h).
struct ExampleSet {
  int length = 0;
  int graded_from = 0;
  std::vector<int> train, val;  // examples back to back

  int train_count() const { return count(train); }
  int val_count() const { return count(val); }
  int count(const std::vector<int>& set) const {
    return static_cast<int>(set.size() / static_cast<size_t>(length));
  }
  // Examples first .. first+n-1 of `set` as a batch: tokens, targets (n, length-1).
  void batch(const std::vector<int>& set, int first, int n, int* tokens, int* targets) const;
  // Example i of `set` into one row of tokens and targets.
  void copy(const std::vector<int>& set, int i, int* tokens, int* targets) const;
};

struct TokenDataset {
  std::string description;  // for logs: "synthetic order-3 V=64 ..." or "bytes of FILE"
  int vocab_size = 0;
  std::vector<int> train;  // streams (empty when the data are examples)
  std::vector<int> val;
  // Known entropy of the source (synthetic data only).
  std::optional<double> entropy_rate;
  std::optional<double> window_floor;  // for the model's window length T
  // Set for example data (data.source=modular); then train and val are empty.
  std::optional<ExampleSet> examples;

  // The batch a step trains on for a configured train.batch_size of B: B for streams; for
  // examples min(B, training examples), so a B at least the training set gives full-batch steps.
  int batch_size(int B) const;

  // Validation batch i of `count`: B windows of T+1 tokens at fixed, evenly spaced offsets of
  // the validation stream. tokens, targets (B,T).
  void val_batch(int i, int B, int T, int* tokens, int* targets) const;
  // How many distinct (B,T) validation batches the stream holds without overlap (at least 1).
  int val_batches_available(int B, int T) const;
};

// Random training windows; the order depends only on the seed.
class BatchSampler {
 public:
  BatchSampler(const std::vector<int>& stream, int B, int T, uint64_t seed);
  // Streams as above; for examples (T = length - 1): when B is the whole training set every batch
  // is that set in its order (full batch, no random draws), otherwise B examples drawn uniformly
  // with replacement, as the windows of a stream are.
  BatchSampler(const TokenDataset& data, int B, int T, uint64_t seed);
  // tokens, targets (B,T): targets are tokens shifted by one (masked where examples say so).
  void next(int* tokens, int* targets);
  // Where the order stands (checkpoints): restoring it continues with the same batches.
  Rng::State state() const { return rng_.state(); }
  void restore(const Rng::State& state) { rng_.restore(state); }

 private:
  const std::vector<int>& stream_;
  const ExampleSet* examples_ = nullptr;
  int B_, T_;
  Rng rng_;
};

struct SyntheticLanguageOptions;

// Training and validation streams sampled from the synthetic language (seeded by language_seed,
// so every run seed sees the same language and the same finite training set).
TokenDataset make_synthetic_dataset(const SyntheticLanguageOptions& options, uint64_t language_seed,
                                    size_t train_tokens, size_t val_tokens, int T);

// make_synthetic_dataset in its two halves, for the data cache (data/synthetic_cache.h): what
// depends on the language alone (the streams and entropies: expensive, cacheable), and the
// dataset made from it for a window length T (cheap). The composition is make_synthetic_dataset.
struct SyntheticStreams {
  std::vector<int> train, val;
  double entropy_rate = 0.0;
  std::vector<double> prefix_entropies;  // SyntheticLanguage::prefix_entropies (order entries)
};
void check_synthetic_sizes(size_t train_tokens, size_t val_tokens, int T);
SyntheticStreams sample_synthetic_streams(const SyntheticLanguageOptions& options,
                                          uint64_t language_seed, size_t train_tokens,
                                          size_t val_tokens);
TokenDataset synthetic_dataset_from(const SyntheticLanguageOptions& options, uint64_t language_seed,
                                    SyntheticStreams streams, int T);

// The byte-level loader reads at most this many bytes: 1 GiB (each byte becomes a 4-byte token).
inline constexpr uint64_t kMaxTextBytes = uint64_t{1} << 30;

// The size of a text dataset file, checked: a regular file (a device such as /dev/zero or a FIFO
// would be read forever) of at most kMaxTextBytes. Errors name the file and what is allowed.
uint64_t text_file_size(const std::string& path);

// Byte-level dataset from a file; errors name the file (missing, not a regular file, above
// kMaxTextBytes, unreadable, too short).
TokenDataset load_text_dataset(const std::string& path, double val_fraction, int T);

}  // namespace wdlab
