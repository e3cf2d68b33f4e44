// File format of an entry (native byte order; the key pins the machine kind that wrote it):
//   "wdlab-synthetic-cache 1\n"
//   key "\n"                                   (one line, synthetic_cache_key)
//   u64 train count, u64 val count, u64 k      (k = the language's order)
//   f64 entropy rate, f64 prefix_entropies[k]
//   i32 train[train count], i32 val[val count]
//   u32 CRC-32C of every byte above
#include "data/synthetic_cache.h"

#include <gnu/libc-version.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include "core/build_info.h"
#include "core/error.h"
#include "core/sha256.h"
#include "io/atomic_file.h"
#include "io/crc32c.h"

namespace wdlab {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kMagic = "wdlab-synthetic-cache 1\n";

// What, besides the inputs, decides the bits of the streams: the code that computes them and
// the CPU paths it takes (libm's exp and the multiversioned loops pick theirs by CPU).
std::string build_identity() {
  const BuildInfo& b = build_info();
  std::string id = fmt::format("wdlab {} git {}", b.version, b.git_commit);
  if (b.git_dirty || b.git_commit == "unknown") {
    // Uncommitted changes may change the generator without changing the commit.
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    const auto size = ec ? 0 : fs::file_size(exe, ec);
    const auto time = ec ? 0 : fs::last_write_time(exe, ec).time_since_epoch().count();
    id += fmt::format(" dirty exe {} {} {}", exe.string(), size, time);
  }
  id += " cpu";
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) id += " avx512f";
  if (__builtin_cpu_supports("avx2")) id += " avx2";
  if (__builtin_cpu_supports("fma")) id += " fma";
#else
  id += " other";
#endif
  id += fmt::format(" glibc {}", gnu_get_libc_version());
  return id;
}

template <typename T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

template <typename T>
void put_array(std::string& out, const std::vector<T>& v) {
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// Reads fixed-size values from a byte string; any read past the end makes ok() false.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  T get() {
    T value{};
    if (!take(&value, sizeof value)) ok_ = false;
    return value;
  }
  template <typename T>
  bool get_array(std::vector<T>& v, uint64_t n) {
    if (n > (bytes_.size() - pos_) / sizeof(T)) return ok_ = false;
    v.resize(n);
    return take(v.data(), n * sizeof(T));
  }
  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }

 private:
  bool take(void* dst, size_t n) {
    if (bytes_.size() - pos_ < n) return false;
    std::memcpy(dst, bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::string serialize(const std::string& key, const SyntheticStreams& s) {
  std::string out(kMagic);
  out += key;
  out += '\n';
  put<uint64_t>(out, s.train.size());
  put<uint64_t>(out, s.val.size());
  put<uint64_t>(out, s.prefix_entropies.size());
  put<double>(out, s.entropy_rate);
  put_array(out, s.prefix_entropies);
  static_assert(sizeof(int) == 4, "tokens are stored as 32-bit integers");
  put_array(out, s.train);
  put_array(out, s.val);
  put<uint32_t>(out, crc32c(out.data(), out.size()));
  return out;
}

// The streams of a valid entry for `key`, or nullopt (and why, for the log).
std::optional<SyntheticStreams> parse(std::string_view bytes, const std::string& key,
                                      const SyntheticLanguageOptions& options, size_t train_tokens,
                                      size_t val_tokens, std::string& why) {
  const std::string head = std::string(kMagic) + key + "\n";
  if (bytes.size() < head.size() + sizeof(uint32_t) || bytes.substr(0, head.size()) != head) {
    why = bytes.starts_with(kMagic) ? "another key" : "not a cache entry";
    return std::nullopt;
  }
  uint32_t stored_crc = 0;
  std::memcpy(&stored_crc, bytes.data() + bytes.size() - sizeof stored_crc, sizeof stored_crc);
  const std::string_view body = bytes.substr(0, bytes.size() - sizeof stored_crc);
  if (crc32c(body.data(), body.size()) != stored_crc) {
    why = "checksum mismatch";
    return std::nullopt;
  }
  Reader r(body.substr(head.size()));
  SyntheticStreams s;
  const uint64_t n_train = r.get<uint64_t>(), n_val = r.get<uint64_t>(), k = r.get<uint64_t>();
  s.entropy_rate = r.get<double>();
  if (!r.ok() || n_train != train_tokens || n_val != val_tokens ||
      k != static_cast<uint64_t>(options.order) || !r.get_array(s.prefix_entropies, k) ||
      !r.get_array(s.train, n_train) || !r.get_array(s.val, n_val) ||
      r.pos() != body.size() - head.size()) {
    why = "sizes do not match";
    return std::nullopt;
  }
  for (const std::vector<int>* v : {&s.train, &s.val}) {
    for (int t : *v) {
      if (t < 0 || t >= options.vocab_size) {
        why = "token out of range";
        return std::nullopt;
      }
    }
  }
  if (!std::isfinite(s.entropy_rate)) {
    why = "entropy not finite";
    return std::nullopt;
  }
  return s;
}

}  // namespace

std::string_view to_string(CacheOutcome outcome) {
  switch (outcome) {
    case CacheOutcome::hit:
      return "read";
    case CacheOutcome::built:
      return "built and stored";
    case CacheOutcome::rebuilt:
      return "rebuilt (the entry was unusable) and stored";
    case CacheOutcome::unwritable:
      return "built (not stored)";
  }
  return "?";
}

std::string synthetic_cache_key(const SyntheticLanguageOptions& o, uint64_t language_seed,
                                size_t train_tokens, size_t val_tokens) {
  return fmt::format(
      "synthetic streams: vocab_size {} order {} rank {} temperature {:a} language_seed {} "
      "train_tokens {} val_tokens {}; {}",
      o.vocab_size, o.order, o.rank, o.temperature, language_seed, train_tokens, val_tokens,
      build_identity());
}

fs::path synthetic_cache_file(const fs::path& cache_dir, std::string_view key) {
  return cache_dir / ("synthetic-" + sha256_hex(key).substr(0, 24) + ".bin");
}

TokenDataset cached_synthetic_dataset(const SyntheticLanguageOptions& options,
                                      uint64_t language_seed, size_t train_tokens,
                                      size_t val_tokens, int T, const fs::path& cache_dir,
                                      CacheOutcome* outcome) {
  check_synthetic_sizes(train_tokens, val_tokens, T);
  const std::string key = synthetic_cache_key(options, language_seed, train_tokens, val_tokens);
  const fs::path file = synthetic_cache_file(cache_dir, key);
  CacheOutcome how = CacheOutcome::built;
  std::string why;
  {
    std::ifstream in(file, std::ios::binary);
    if (in) {
      const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      std::optional<SyntheticStreams> s = parse(bytes, key, options, train_tokens, val_tokens, why);
      if (s) {
        spdlog::info("data: synthetic streams read from the cache {}", file.string());
        if (outcome) *outcome = CacheOutcome::hit;
        return synthetic_dataset_from(options, language_seed, std::move(*s), T);
      }
      how = CacheOutcome::rebuilt;
      spdlog::warn("data cache {}: unusable ({}); building the data again", file.string(), why);
    }
  }
  SyntheticStreams s = sample_synthetic_streams(options, language_seed, train_tokens, val_tokens);
  try {
    std::error_code ec;
    fs::create_directories(cache_dir, ec);
    WD_CHECK(!ec, "{}: cannot create: {}", cache_dir.string(), ec.message());
    write_file_atomic(file, serialize(key, s));
    spdlog::info("data: synthetic streams {} in the cache {}", to_string(how), file.string());
  } catch (const std::exception& e) {
    how = CacheOutcome::unwritable;
    spdlog::warn("data cache not written ({}); the run goes on without it", e.what());
  }
  if (outcome) *outcome = how;
  return synthetic_dataset_from(options, language_seed, std::move(s), T);
}

}  // namespace wdlab
