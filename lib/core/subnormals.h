// Subnormal floats (|x| < 2^-126 ≈ 1.2e-38) take a slow microcode path on x86: an sgemm whose
// operands hold many of them runs 10-20x slower. They do arise in training: a Grok-1 tiny run
// with coupled L2 slowed from ~6.5k to ~400 tokens/s mid-run, with the same final loss to every
// printed digit once subnormals were flushed. wdlab therefore computes with subnormals flushed
// to zero (inputs and results: x86 FTZ + DAZ, Arm FZ), on the calling thread for the lifetime of
// a FlushSubnormals guard, and on the WorkerPool threads, which take the caller's mode with each
// task. The mode is fixed, so results stay the same bits from run to run.
//
//   { FlushSubnormals flush;  ... train ... }   // previous mode restored on exit
#pragma once

#include <cstdint>

namespace wdlab {

// The thread's floating-point control bits that decide subnormal handling (opaque).
struct FloatMode {
  uint64_t bits = 0;
};

FloatMode current_float_mode();
void set_float_mode(FloatMode mode);
// True when this thread flushes subnormal inputs and results to zero (false where unsupported).
bool flushing_subnormals();

class FlushSubnormals {
 public:
  FlushSubnormals();
  ~FlushSubnormals();
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;

 private:
  FloatMode saved_;
};

}  // namespace wdlab
