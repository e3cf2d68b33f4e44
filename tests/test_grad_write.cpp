// GradWrite::overwrite (layers/grad_write.h) must give the bits of zero-filling the gradient and
// accumulating into it, the form it replaces: checked for GELU and both GLU kinds, with inputs
// that make some gradients exactly -0 (a zero dout times a negative derivative), which the
// accumulating form turns into +0.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/rng.h"
#include "layers/gelu.h"
#include "layers/glu.h"

namespace wdlab {
namespace {

std::vector<float> draw(size_t n, Rng& rng, double scale) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(scale * rng.normal());
  return v;
}

// Every third dout exactly zero: the products with negative derivatives are -0.
std::vector<float> dout_with_zeros(size_t n, Rng& rng) {
  std::vector<float> d = draw(n, rng, 1.0);
  for (size_t i = 0; i < n; i += 3) d[i] = 0.0f;
  return d;
}

void expect_same_bits(const std::vector<float>& got, const std::vector<float>& want,
                      const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
      << what << ": overwrite differs from zero-fill then accumulate";
}

TEST(GradWrite, GeluOverwriteIsZeroFillThenAccumulate) {
  Rng rng(11);
  const size_t n = 1000;
  const std::vector<float> x = draw(n, rng, 3.0), d = dout_with_zeros(n, rng);
  std::vector<float> want(n, 0.0f), got = draw(n, rng, 1.0);  // got starts as garbage
  gelu_backward(want.data(), d.data(), x.data(), n);
  gelu_backward(got.data(), d.data(), x.data(), n, GradWrite::overwrite);
  expect_same_bits(got, want, "gelu");
  // The -0 case happened: some product was -0 and the result is +0 as with accumulation.
  bool negative_zero_product = false;
  for (size_t i = 0; i < n; i += 3) negative_zero_product |= x[i] < -1.0f;
  EXPECT_TRUE(negative_zero_product);
}

TEST(GradWrite, GluOverwriteIsZeroFillThenAccumulate) {
  Rng rng(12);
  const int N = 7, H = 37;
  for (GluKind kind : {GluKind::swiglu, GluKind::geglu}) {
    const std::vector<float> x = draw(static_cast<size_t>(N) * 2 * H, rng, 3.0);
    const std::vector<float> d = dout_with_zeros(static_cast<size_t>(N) * H, rng);
    std::vector<float> want(x.size(), 0.0f), got = draw(x.size(), rng, 1.0);
    glu_backward(want.data(), d.data(), x.data(), N, H, kind);
    glu_backward(got.data(), d.data(), x.data(), N, H, kind, GradWrite::overwrite);
    expect_same_bits(got, want, kind == GluKind::swiglu ? "swiglu" : "geglu");
  }
}

}  // namespace
}  // namespace wdlab
