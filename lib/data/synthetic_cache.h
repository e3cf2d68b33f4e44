// The synthetic language's data set-up done once per sweep instead of once per run: the sampled
// training and validation streams and the entropies (data/dataset.h's SyntheticStreams) are
// stored in a cache directory (a sweep's <dir>/.cache/data/) and read back by every later run
// with the same data inputs. Building them (the transition table and the power iteration of
// the stationary distribution) takes about a second and a half of CPU; reading them takes a
// few milliseconds. The data a run trains on are the same bits either way
// (tests/test_synthetic_cache.cpp compares the two).
//
//   TokenDataset data = cached_synthetic_dataset(options, seed, train_tokens, val_tokens, T,
//                                                sweep_dir / ".cache" / "data");
//
// An entry is one file named by a hash of its key; the key (stored in the file and compared in
// full on reading) holds every input of the streams (the language options, its seed, both
// token counts) and what could make the same inputs give other bits: the wdlab build (version
// and commit; for a build with uncommitted changes also the executable's size and time) and the
// CPU's vector extensions and C library version (libm's exp is picked by CPU). The payload ends
// with a CRC-32C. A file that is missing, damaged, truncated or of another key is ignored and
// the streams are built as without a cache, then written (atomically, under a name unique to the
// process, so concurrent runs and Slurm shards sharing the directory at most build twice). A
// cache that cannot be written only costs the time: the run goes on, with a warning.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "data/dataset.h"
#include "data/synthetic_language.h"

namespace wdlab {

// The environment variable through which `wdlab sweep` tells its runs where the cache is.
inline constexpr std::string_view kDataCacheVariable = "WDLAB_DATA_CACHE";

enum class CacheOutcome {
  hit,         // read from a valid entry
  built,       // no entry yet: built and stored
  rebuilt,     // an entry was there but damaged or of another key: built and stored again
  unwritable,  // built; the entry could not be written (warned)
};
std::string_view to_string(CacheOutcome outcome);

// make_synthetic_dataset, through the cache in cache_dir (created if missing). `outcome`, when
// given, tells how the streams were obtained.
TokenDataset cached_synthetic_dataset(const SyntheticLanguageOptions& options,
                                      uint64_t language_seed, size_t train_tokens,
                                      size_t val_tokens, int T,
                                      const std::filesystem::path& cache_dir,
                                      CacheOutcome* outcome = nullptr);

// The key text of an entry and its file (for tests and diagnostics).
std::string synthetic_cache_key(const SyntheticLanguageOptions& options, uint64_t language_seed,
                                size_t train_tokens, size_t val_tokens);
std::filesystem::path synthetic_cache_file(const std::filesystem::path& cache_dir,
                                           std::string_view key);

}  // namespace wdlab
