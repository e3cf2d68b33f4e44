#include "data/dataset.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/synthetic_language.h"
#include "layers/cross_entropy.h"

namespace wdlab {
namespace {

// The validation stream of a synthetic dataset: the corpus stream id with a high bit set, so it
// is independent of the training stream and cannot collide with another RngStream id.
constexpr uint64_t kValCorpusStream =
    (uint64_t{1} << 32) | static_cast<uint64_t>(RngStream::corpus);

void copy_window(const std::vector<int>& stream, size_t offset, int T, int* tokens, int* targets) {
  std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(offset), T, tokens);
  std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(offset) + 1, T, targets);
}

}  // namespace

// Validation windows are T+1 tokens long and do not overlap: the stream holds
// W = size / (T+1) of them, i.e. max(1, W / B) batches. The count*B windows of all batches sit at
// evenly spaced offsets floor(w * (size - T - 1) / (count*B - 1)), so they cover the whole stream
// and are non-overlapping whenever the stream holds them (spacing >= T+1); a stream with fewer than
// B windows still gives one batch, of overlapping windows.
int TokenDataset::val_batches_available(int B, int T) const {
  WD_CHECK(B >= 1 && T >= 1, "val_batches_available: B and T must be positive, got B={} T={}", B,
           T);
  const size_t windows = val.size() / (static_cast<size_t>(T) + 1);
  const size_t batches = windows / static_cast<size_t>(B);
  return static_cast<int>(std::clamp<size_t>(batches, 1, static_cast<size_t>(INT32_MAX)));
}

void TokenDataset::val_batch(int i, int B, int T, int* tokens, int* targets) const {
  WD_CHECK(B >= 1 && T >= 1, "val_batch: B and T must be positive, got B={} T={}", B, T);
  WD_CHECK(val.size() >= static_cast<size_t>(T) + 1,
           "val_batch: the validation stream has {} tokens, fewer than T+1 = {}", val.size(),
           T + 1);
  const int count = val_batches_available(B, T);
  WD_CHECK(i >= 0 && i < count, "val_batch: batch index {} out of range [0, {})", i, count);
  const uint64_t windows = static_cast<uint64_t>(count) * static_cast<uint64_t>(B);
  const uint64_t span = val.size() - static_cast<uint64_t>(T) - 1;  // last valid offset
  for (int b = 0; b < B; ++b) {
    const uint64_t w = static_cast<uint64_t>(i) * static_cast<uint64_t>(B) + b;
    // w * span fits in 64 bits for any stream that fits in memory (< 2^31 windows x 2^32 tokens).
    const uint64_t offset = windows > 1 ? w * span / (windows - 1) : 0;
    copy_window(val, offset, T, tokens + static_cast<size_t>(b) * T,
                targets + static_cast<size_t>(b) * T);
  }
}

void ExampleSet::copy(const std::vector<int>& set, int i, int* tokens, int* targets) const {
  const int T = length - 1;
  const int* e = set.data() + static_cast<size_t>(i) * length;
  std::copy_n(e, T, tokens);
  for (int t = 0; t < T; ++t) targets[t] = t >= graded_from ? e[t + 1] : kMaskedTarget;
}

void ExampleSet::batch(const std::vector<int>& set, int first, int n, int* tokens,
                       int* targets) const {
  WD_CHECK(first >= 0 && n >= 0 && first + n <= count(set),
           "ExampleSet::batch: examples [{}, {}) out of range [0, {})", first, first + n,
           count(set));
  const size_t T = static_cast<size_t>(length) - 1;
  for (int b = 0; b < n; ++b) copy(set, first + b, tokens + b * T, targets + b * T);
}

int TokenDataset::batch_size(int B) const {
  return examples ? std::min(B, examples->train_count()) : B;
}

BatchSampler::BatchSampler(const TokenDataset& data, int B, int T, uint64_t seed)
    : BatchSampler(data.examples ? data.examples->train : data.train, B,
                   data.examples ? data.examples->length - 1 : T, seed) {
  if (data.examples) {
    WD_CHECK(T == data.examples->length - 1,
             "BatchSampler: examples of {} tokens are read as windows of {}, not {}",
             data.examples->length, data.examples->length - 1, T);
    WD_CHECK(B <= data.examples->train_count(),
             "BatchSampler: a batch of {} exceeds the {} training examples (see "
             "TokenDataset::batch_size)",
             B, data.examples->train_count());
    examples_ = &*data.examples;
  }
}

BatchSampler::BatchSampler(const std::vector<int>& stream, int B, int T, uint64_t seed)
    : stream_(stream), B_(B), T_(T), rng_(seed, RngStream::train_batches) {
  WD_CHECK(B >= 1, "BatchSampler: batch size must be positive, got {}", B);
  WD_CHECK(T >= 1, "BatchSampler: window length T must be positive, got {}", T);
  WD_CHECK(stream.size() >= static_cast<size_t>(T) + 1,
           "BatchSampler: the training stream has {} tokens, fewer than T+1 = {} needed for one "
           "window",
           stream.size(), T + 1);
}

void BatchSampler::next(int* tokens, int* targets) {
  if (examples_) {
    const int n = examples_->train_count();
    if (B_ == n) {
      examples_->batch(examples_->train, 0, n, tokens, targets);  // full batch
      return;
    }
    for (int b = 0; b < B_; ++b) {
      const int i = static_cast<int>(rng_.below(static_cast<uint64_t>(n)));
      examples_->copy(examples_->train, i, tokens + static_cast<size_t>(b) * T_,
                      targets + static_cast<size_t>(b) * T_);
    }
    return;
  }
  // Offsets uniform in [0, size - T - 1]: every window of T+1 tokens is equally likely.
  const uint64_t n_offsets = stream_.size() - static_cast<uint64_t>(T_);
  for (int b = 0; b < B_; ++b) {
    const size_t offset = static_cast<size_t>(rng_.below(n_offsets));
    copy_window(stream_, offset, T_, tokens + static_cast<size_t>(b) * T_,
                targets + static_cast<size_t>(b) * T_);
  }
}

void check_synthetic_sizes(size_t train_tokens, size_t val_tokens, int T) {
  WD_CHECK(T >= 1, "make_synthetic_dataset: window length T must be positive, got {}", T);
  WD_CHECK(train_tokens >= static_cast<size_t>(T) + 1,
           "data.train_tokens: must be at least T+1 = {}, got {}", T + 1, train_tokens);
  WD_CHECK(val_tokens >= static_cast<size_t>(T) + 1,
           "data.val_tokens: must be at least T+1 = {}, got {}", T + 1, val_tokens);
}

SyntheticStreams sample_synthetic_streams(const SyntheticLanguageOptions& options,
                                          uint64_t language_seed, size_t train_tokens,
                                          size_t val_tokens) {
  const SyntheticLanguage language(options, language_seed);
  SyntheticStreams out;
  Rng train_rng(language_seed, RngStream::corpus);
  Rng val_rng(language_seed, kValCorpusStream);
  out.train = language.sample(train_tokens, train_rng);
  out.val = language.sample(val_tokens, val_rng);
  out.entropy_rate = language.entropy_rate();
  out.prefix_entropies = language.prefix_entropies();
  return out;
}

TokenDataset synthetic_dataset_from(const SyntheticLanguageOptions& options, uint64_t language_seed,
                                    SyntheticStreams streams, int T) {
  TokenDataset data;
  data.vocab_size = options.vocab_size;
  const size_t train_tokens = streams.train.size(), val_tokens = streams.val.size();
  data.train = std::move(streams.train);
  data.val = std::move(streams.val);
  data.entropy_rate = streams.entropy_rate;
  data.window_floor = synthetic_window_floor(streams.prefix_entropies, streams.entropy_rate, T);
  data.description = fmt::format(
      "synthetic order-{} V={} rank={} temperature={} seed={}: {} train / {} val tokens, "
      "entropy rate {:.4f} nats, floor(T={}) {:.4f} nats (ln V = {:.4f})",
      options.order, options.vocab_size, options.rank, options.temperature, language_seed,
      train_tokens, val_tokens, streams.entropy_rate, T, *data.window_floor,
      std::log(static_cast<double>(options.vocab_size)));
  return data;
}

TokenDataset make_synthetic_dataset(const SyntheticLanguageOptions& options, uint64_t language_seed,
                                    size_t train_tokens, size_t val_tokens, int T) {
  check_synthetic_sizes(train_tokens, val_tokens, T);
  return synthetic_dataset_from(
      options, language_seed,
      sample_synthetic_streams(options, language_seed, train_tokens, val_tokens), T);
}

uint64_t text_file_size(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);  // follows symlinks
  WD_CHECK(status.type() != fs::file_type::not_found, "data.path: cannot open '{}': no such file",
           path);
  WD_CHECK(!ec, "data.path: cannot open '{}': {}", path, ec.message());
  WD_CHECK(status.type() != fs::file_type::directory, "data.path: '{}' is a directory, not a file",
           path);
  WD_CHECK(status.type() == fs::file_type::regular,
           "data.path: '{}' is not a regular file (a device, FIFO or socket); data.source=text "
           "reads a regular file",
           path);
  const uint64_t size = fs::file_size(path, ec);
  WD_CHECK(!ec, "data.path: cannot read the size of '{}': {}", path, ec.message());
  WD_CHECK(size <= kMaxTextBytes,
           "data.path: '{}' is {} bytes, above the byte-level loader's limit of {} bytes (1 GiB)",
           path, size, kMaxTextBytes);
  return size;
}

TokenDataset load_text_dataset(const std::string& path, double val_fraction, int T) {
  WD_CHECK(val_fraction > 0.0 && val_fraction < 1.0,
           "data.val_fraction: must be in (0, 1), got {} (dataset '{}')", val_fraction, path);
  WD_CHECK(T >= 1, "load_text_dataset: window length T must be positive, got {}", T);
  const uint64_t size = text_file_size(path);
  std::ifstream in(path, std::ios::binary);
  WD_CHECK(in.is_open(), "data.path: cannot open '{}': {}", path, std::strerror(errno));
  // Exactly the bytes stat() reported: a file that grows meanwhile is not read on and on.
  std::vector<char> bytes(size);
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  WD_CHECK(static_cast<uint64_t>(in.gcount()) == size,
           "data.path: error reading '{}': got {} of its {} bytes", path, in.gcount(), size);

  const size_t n = bytes.size();
  const size_t n_val = static_cast<size_t>(std::llround(static_cast<double>(n) * val_fraction));
  const size_t n_train = n - std::min(n, n_val);
  const size_t need = static_cast<size_t>(T) + 1;
  WD_CHECK(n_train >= need && n_val >= need,
           "data.path: '{}' is too short: {} bytes split by val_fraction {} into {} train and {} "
           "validation tokens, each split needs at least T+1 = {}",
           path, n, val_fraction, n_train, n_val, need);

  TokenDataset data;
  data.vocab_size = 256;
  data.train.reserve(n_train);
  data.val.reserve(n_val);
  for (size_t i = 0; i < n; ++i) {
    const int token = static_cast<unsigned char>(bytes[i]);
    (i < n_train ? data.train : data.val).push_back(token);
  }
  data.description =
      fmt::format("bytes of {} ({} train / {} val tokens, vocab 256)", path, n_train, n_val);
  return data;
}

}  // namespace wdlab
