// Finite-difference gradient checking, shared by the layer tests and the model test.
//
// Compares analytic gradients (from a backward pass) against central differences of a scalar
// loss. To check a layer y = f(x, w), fix a random upstream gradient dout and use the loss
// L = sum(dout * y): its gradient with respect to x and w is exactly what the layer's backward
// computes from dout.
//
//   std::vector<double> x = ..., w = ..., dx(nx), dw(nw), y(ny), dout = ...;
//   auto loss = [&] { layer_forward(y.data(), x.data(), w.data()); return dot(dout, y); };
//   layer_backward(dx.data(), dw.data(), dout.data(), x.data(), w.data());  // into zeroed dx, dw
//   GradCheckResult r = check_gradients<double>(loss, {{"x", x.data(), dx.data(), nx},
//                                                      {"w", w.data(), dw.data(), nw}});
//   EXPECT_LT(r.max_rel_error, 1e-6) << r.worst;  // r.worst names the worst entry
//
// check_gradients perturbs one entry at a time in place and restores its exact original value
// afterwards, so compute the analytic gradients before calling it: the loss is free to overwrite
// forward caches and activations.
//
// Error measure. For entry i of a tensor with analytic gradient a_i and numeric gradient n_i:
//
//   rel_i = |a_i - n_i| / max(|a_i|, |n_i|, floor * G),   G = max_j max(|a_j|, |n_j|)
//
// (j over the tensor's checked entries), i.e. the ordinary relative error, except that entries much
// smaller than the tensor's largest gradient are measured against floor * G. Central differences
// carry an absolute noise of about eps * |L| / h for every entry, so the plain relative error of a
// near-zero entry (a gradient that happens to be 1e-9) is noise, not a verdict on the backward
// pass. The measure is invariant to scaling the loss, so one tolerance serves both a layer's
// sum(dout * y) and a model's mean loss.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace wdlab::test {

// One tensor the loss depends on, and its analytic gradient.
template <typename F>
struct GradTensor {
  std::string name;  // for the report
  F* value;          // perturbed in place during the check, restored exactly
  const F* grad;     // analytic dL/dvalue, same length
  size_t n;
};

struct GradCheckOptions {
  // Step of the central difference. Its error is truncation ~h^2 |L'''| plus roundoff
  // ~eps |L| / h; the sum is smallest near h = eps^(1/3) ~ 6e-6 for double, hence 1e-5 (1e-6 left
  // the roundoff of a mean loss at ~1e-6 relative on small entries). A float check needs h ~1e-2
  // and a far looser tolerance.
  double h = 1e-5;
  // Denominator floor as a fraction of the tensor's largest gradient (see the header comment).
  double floor = 1e-3;
  // 0 checks every entry; otherwise at most this many entries per tensor, evenly strided (for
  // model-sized tensors where every entry would take too long).
  size_t max_entries = 0;
};

struct GradCheckResult {
  double max_rel_error = 0.0;  // worst rel_i over all checked entries of all tensors
  std::string worst;           // e.g. "ln.weight[3]: analytic 0.12, numeric 0.1188, rel 1e-2"
  size_t checked = 0;          // entries checked
};

// sum_i a[i] * b[i], accumulated in double: the L = sum(dout * y) loss of a layer check.
template <typename F>
double dot(const F* a, const F* b, size_t n) {
  double acc = 0.0;
  for (size_t i = 0; i < n; ++i) acc += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return acc;
}
// a and b have the same length.
template <typename F>
double dot(const std::vector<F>& a, const std::vector<F>& b) {
  return dot(a.data(), b.data(), a.size());
}

template <typename F>
GradCheckResult check_gradients(const std::function<double()>& loss,
                                const std::vector<GradTensor<F>>& tensors,
                                const GradCheckOptions& options = {}) {
  GradCheckResult result;
  for (const GradTensor<F>& t : tensors) {
    const size_t stride =
        options.max_entries == 0
            ? 1
            : std::max<size_t>(1, (t.n + options.max_entries - 1) / options.max_entries);  // ceil
    std::vector<size_t> index;
    std::vector<double> numeric;
    for (size_t i = 0; i < t.n; i += stride) {
      const F saved = t.value[i];
      // Divide by the step actually taken (x + h is rounded to F), not by the nominal 2h.
      const F plus = static_cast<F>(saved + options.h), minus = static_cast<F>(saved - options.h);
      t.value[i] = plus;
      const double loss_plus = loss();
      t.value[i] = minus;
      const double loss_minus = loss();
      t.value[i] = saved;
      index.push_back(i);
      numeric.push_back((loss_plus - loss_minus) /
                        (static_cast<double>(plus) - static_cast<double>(minus)));
    }
    double scale = 0.0;  // G: the tensor's largest gradient, analytic or numeric
    for (size_t k = 0; k < index.size(); ++k) {
      scale =
          std::max({scale, std::abs(static_cast<double>(t.grad[index[k]])), std::abs(numeric[k])});
    }
    for (size_t k = 0; k < index.size(); ++k) {
      const double a = t.grad[index[k]], num = numeric[k];
      const double denom = std::max({std::abs(a), std::abs(num), options.floor * scale});
      const double rel = denom > 0.0 ? std::abs(a - num) / denom : 0.0;  // 0/0: both exactly 0
      // !(rel <= max) also catches a NaN gradient.
      if (!(rel <= result.max_rel_error)) {
        result.max_rel_error = std::isnan(rel) ? INFINITY : rel;
        char buf[160];
        std::snprintf(buf, sizeof buf, "%s[%zu]: analytic %.10g, numeric %.10g, rel %.3g",
                      t.name.c_str(), index[k], a, num, rel);
        result.worst = buf;
      }
    }
    result.checked += index.size();
  }
  return result;
}

}  // namespace wdlab::test
