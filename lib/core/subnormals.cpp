#include "core/subnormals.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace wdlab {
namespace {
#if defined(__x86_64__) || defined(__i386__)
constexpr uint64_t kFlushBits = 0x8040;  // MXCSR: FTZ (bit 15) | DAZ (bit 6)
uint64_t read_bits() {
  return _mm_getcsr();
}
void write_bits(uint64_t bits) {
  _mm_setcsr(static_cast<unsigned>(bits));
}
#elif defined(__aarch64__)
constexpr uint64_t kFlushBits = uint64_t{1} << 24;  // FPCR: FZ
uint64_t read_bits() {
  return __builtin_aarch64_get_fpcr64();
}
void write_bits(uint64_t bits) {
  __builtin_aarch64_set_fpcr64(bits);
}
#else
constexpr uint64_t kFlushBits = 0;  // unknown architecture: subnormals stay as they are
uint64_t read_bits() {
  return 0;
}
void write_bits(uint64_t) {}
#endif
}  // namespace

FloatMode current_float_mode() {
  return {read_bits()};
}
void set_float_mode(FloatMode mode) {
  if (read_bits() != mode.bits) write_bits(mode.bits);
}
bool flushing_subnormals() {
  return kFlushBits != 0 && (read_bits() & kFlushBits) == kFlushBits;
}

FlushSubnormals::FlushSubnormals() : saved_(current_float_mode()) {
  set_float_mode({saved_.bits | kFlushBits});
}
FlushSubnormals::~FlushSubnormals() {
  set_float_mode(saved_);
}

}  // namespace wdlab
