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
//   rel_i = max(0, |a_i - n_i| - r_i) / max(|a_i|, |n_i|, floor * G),
//   G = max_j max(|a_j|, |n_j|),   r_i = roundoff_units * eps * max(|L(x+h)|, |L(x-h)|) / 2h
//
// (j over the tensor's checked entries), i.e. the ordinary relative error, with two allowances for
// what central differences cannot resolve. They carry an absolute roundoff noise of a few
// eps * |L| / h on every entry: r_i is that band, and only the disagreement beyond it counts. And
// entries much smaller than the tensor's largest gradient are measured against floor * G. Without
// r_i a tensor whose gradients are all tiny (an MoE expert that one token reaches with a small
// routing weight: gradients ~1e-6 against roundoff ~1e-11) fails or passes with the last bits of
// the BLAS kernel. The measure is invariant to scaling the loss, so one tolerance serves both a
// layer's sum(dout * y) and a model's mean loss.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <limits>
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
  // Roundoff band of a central difference, in units of eps * max(|L(x+h)|, |L(x-h)|) / 2h: the
  // part of |analytic - numeric| below it is not counted. Measured on the whole-model checks of
  // every preset, entries with gradients below 1e-3 stay within 2.7 units (their error is
  // roundoff; larger entries' is truncation, ~h^2 |L'''|); a wrong backward term is of the order of
  // the gradient itself, many orders above the band.
  double roundoff_units = 8.0;
  // 0 checks every entry; otherwise at most this many entries per tensor, evenly strided (for
  // model-sized tensors where every entry would take too long).
  size_t max_entries = 0;
  // The discrete decisions the last loss evaluation took (e.g. Transformer::routing(): the
  // experts every token went to). Where the +h or -h evaluation decides differently from the
  // unperturbed point, the loss jumps between the two, and their difference measures the jump,
  // not the slope: such an entry is not compared but counted in `skipped` (and the worst one it
  // would have been is kept in `skipped_worst`, for a diagnosis). Unset: every entry is compared.
  std::function<std::vector<int>()> decisions;
};

struct GradCheckResult {
  double max_rel_error = 0.0;  // worst rel_i over all checked entries of all tensors
  std::string worst;           // e.g. "ln.weight[3]: analytic 0.12, numeric 0.1188, rel 1e-2"
  size_t checked = 0;          // entries compared
  size_t skipped = 0;          // entries not compared: a perturbation changed a decision
  std::string skipped_worst;   // the skipped entry with the largest rel, as `worst`
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
  double skipped_worst_rel = 0.0;
  for (const GradTensor<F>& t : tensors) {
    const size_t stride =
        options.max_entries == 0
            ? 1
            : std::max<size_t>(1, (t.n + options.max_entries - 1) / options.max_entries);  // ceil
    std::vector<size_t> index;
    std::vector<double> numeric, roundoff;
    std::vector<bool> decided_differently;
    std::vector<int> base_decisions;
    if (options.decisions) {
      loss();
      base_decisions = options.decisions();
    }
    for (size_t i = 0; i < t.n; i += stride) {
      const F saved = t.value[i];
      // Divide by the step actually taken (x + h is rounded to F), not by the nominal 2h.
      const F plus = static_cast<F>(saved + options.h), minus = static_cast<F>(saved - options.h);
      bool changed = false;
      t.value[i] = plus;
      const double loss_plus = loss();
      if (options.decisions) changed = changed || options.decisions() != base_decisions;
      t.value[i] = minus;
      const double loss_minus = loss();
      if (options.decisions) changed = changed || options.decisions() != base_decisions;
      t.value[i] = saved;
      const double step = static_cast<double>(plus) - static_cast<double>(minus);
      index.push_back(i);
      numeric.push_back((loss_plus - loss_minus) / step);
      roundoff.push_back(options.roundoff_units * std::numeric_limits<F>::epsilon() *
                         std::max(std::abs(loss_plus), std::abs(loss_minus)) / step);
      decided_differently.push_back(changed);
    }
    double scale = 0.0;  // G: the tensor's largest gradient, analytic or numeric
    for (size_t k = 0; k < index.size(); ++k) {
      if (decided_differently[k]) continue;
      scale =
          std::max({scale, std::abs(static_cast<double>(t.grad[index[k]])), std::abs(numeric[k])});
    }
    for (size_t k = 0; k < index.size(); ++k) {
      const double a = t.grad[index[k]], num = numeric[k];
      const double denom = std::max({std::abs(a), std::abs(num), options.floor * scale});
      const double excess = std::max(0.0, std::abs(a - num) - roundoff[k]);
      const double rel = denom > 0.0 ? excess / denom : 0.0;  // 0/0: both exactly 0
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s[%zu]: analytic %.10g, numeric %.10g, rel %.3g",
                    t.name.c_str(), index[k], a, num, rel);
      if (decided_differently[k]) {
        if (!(rel <= skipped_worst_rel)) skipped_worst_rel = rel, result.skipped_worst = buf;
        ++result.skipped;
        continue;
      }
      // !(rel <= max) also catches a NaN gradient.
      if (!(rel <= result.max_rel_error)) {
        result.max_rel_error = std::isnan(rel) ? INFINITY : rel;
        result.worst = buf;
      }
      ++result.checked;
    }
  }
  return result;
}

}  // namespace wdlab::test
