// Subnormals are flushed to zero wherever wdlab trains: under a FlushSubnormals guard, on the
// WorkerPool threads (which take the caller's mode per task), and inside TrainStep.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/subnormals.h"
#include "core/worker_pool.h"
#include "test_util.h"

namespace wdlab {
namespace {

#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)
constexpr bool kSupported = true;
#else
constexpr bool kSupported = false;
#endif

// A subnormal input times one (DAZ / FZ) and a product that underflows into the subnormal range
// (FTZ): both are zero when flushing, both non-zero otherwise.
bool arithmetic_flushes() {
  volatile float subnormal = 1e-39f, one = 1.0f, a = 1e-30f, b = 1e-10f;
  return subnormal * one == 0.0f && a * b == 0.0f;
}
bool arithmetic_keeps_subnormals() {
  volatile float subnormal = 1e-39f, one = 1.0f, a = 1e-30f, b = 1e-10f;
  return subnormal * one != 0.0f && a * b != 0.0f;
}

TEST(Subnormals, GuardFlushesAndRestores) {
  if (!kSupported) GTEST_SKIP() << "no known control bits on this architecture";
  ASSERT_FALSE(flushing_subnormals()) << "threads start in the IEEE default mode";
  EXPECT_TRUE(arithmetic_keeps_subnormals());
  {
    const FlushSubnormals flush;
    EXPECT_TRUE(flushing_subnormals());
    EXPECT_TRUE(arithmetic_flushes());
  }
  EXPECT_FALSE(flushing_subnormals());
  EXPECT_TRUE(arithmetic_keeps_subnormals());
}

TEST(Subnormals, WorkerPoolThreadsTakeTheCallersMode) {
  if (!kSupported) GTEST_SKIP() << "no known control bits on this architecture";
  WorkerPool pool(3);
  std::vector<int> flushing(3, -1);
  auto record = [&](int w) { flushing[static_cast<size_t>(w)] = arithmetic_flushes() ? 1 : 0; };
  {
    const FlushSubnormals flush;
    pool.run(record);
    EXPECT_EQ(flushing, (std::vector<int>{1, 1, 1}));
  }
  pool.run(record);  // and back to the caller's default mode
  EXPECT_EQ(flushing, (std::vector<int>{0, 0, 0}));
}

}  // namespace
}  // namespace wdlab
