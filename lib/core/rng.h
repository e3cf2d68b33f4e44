// Seeded random numbers that are the same on every machine and compiler: xoshiro256** seeded by
// splitmix64, with our own uniform/normal transforms (std::normal_distribution differs between
// standard libraries, so it would break bit-for-bit reproducibility).
//
// A run derives independent streams from one seed:
//   Rng init(seed, RngStream::init), batches(seed, RngStream::train_batches);
//   float w = 0.02f * init.normal();
#pragma once

#include <cstdint>

namespace wdlab {

// Stream ids keep the consumers of one seed independent of each other: adding a dropout layer
// must not change the batch order.
enum class RngStream : uint64_t {
  init = 1,
  train_batches = 2,
  dropout = 3,
  corpus = 4,
  language = 5,
  data_split = 6,  // which examples are held out (data.source=modular)
};

class Rng {
 public:
  explicit Rng(uint64_t seed, uint64_t stream = 0);
  Rng(uint64_t seed, RngStream stream) : Rng(seed, static_cast<uint64_t>(stream)) {}

  uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double uniform();
  // Uniform integer in [0, n), n > 0 (rejection sampling, no modulo bias).
  uint64_t below(uint64_t n);
  // Standard normal (Box-Muller in double precision).
  double normal();

  // Everything the sequence depends on: restoring a saved State continues it exactly (resume).
  struct State {
    uint64_t s[4] = {};
    bool has_spare = false;
    double spare = 0.0;
  };
  State state() const;
  void restore(const State& state);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace wdlab
