#include "report/gradient_rise.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "report/kind_curves.h"

namespace wdlab {
namespace {
using nlohmann::json;

constexpr double kEndFraction = 0.05;   // G_end: the last 5 % of the steps
constexpr double kRiseThreshold = 1.2;  // a rise: G_end at least 20 % above G_min

// What a run was, apart from the seed, its name and its decay scaling.
json comparable_config(const Variant& v) {
  for (const RunResult* r : v.runs) {
    if (!r->config.is_object()) continue;
    json c = r->config;
    c.erase("name");
    c.erase("seed");
    c.erase("wdlab");
    if (c.contains("optim") && c["optim"].is_object()) c["optim"].erase("decay_scaling");
    return c;
  }
  return nullptr;
}

std::string scaling_of(const Variant& v) {
  for (const RunResult* r : v.runs) {
    const json s = r->config_value("optim.decay_scaling");
    if (s.is_string()) return s.get<std::string>();
  }
  return "";
}

// G_end / G_min of a curve, and the step where the lowest window starts.
struct Rise {
  double ratio = NAN;
  double min_step = NAN;
  double second_half = NAN;  // G_end over the window that starts at the run's midpoint
};

Rise rise_of_curve(const Curve& curve, double last_step) {
  const std::vector<double>& v = curve.value;
  Rise r;
  if (v.size() < 2 || curve.step.size() != v.size()) return r;
  const size_t k = std::max<size_t>(
      1, std::count_if(curve.step.begin(), curve.step.end(),
                       [&](double s) { return s > (1.0 - kEndFraction) * last_step; }));
  if (k >= v.size()) return {1.0, curve.step.front()};
  double end = 0.0;
  for (size_t j = v.size() - k; j < v.size(); ++j) end += v[j];
  end /= static_cast<double>(k);
  double lowest = INFINITY;
  for (size_t i = 0; i + k <= v.size(); ++i) {
    double sum = 0.0;
    for (size_t j = i; j < i + k; ++j) sum += v[j];
    if (sum / static_cast<double>(k) < lowest) {
      lowest = sum / static_cast<double>(k);
      r.min_step = curve.step[i];
    }
  }
  if (lowest > 0.0) r.ratio = end / lowest;
  const size_t mid = static_cast<size_t>(
      std::lower_bound(curve.step.begin(), curve.step.end(), 0.5 * last_step) - curve.step.begin());
  if (mid + k <= v.size()) {
    double sum = 0.0;
    for (size_t j = mid; j < mid + k; ++j) sum += v[j];
    if (sum > 0.0) r.second_half = end / (sum / static_cast<double>(k));
  }
  return r;
}

// The rise of every finished run's `key` curve; where its lowest window starts in `min_step`,
// the rise over the second half in `half`.
Stat rise_of(const Variant& v, const std::string& key, Stat* min_step = nullptr,
             Stat* half = nullptr) {
  std::vector<double> ratios, steps, halves;
  for (const RunResult* r : v.runs) {
    if (r->status != "finished") continue;
    const auto it = r->curves.find(key);
    if (it == r->curves.end() || it->second.step.empty()) continue;
    const double last = r->summary_number("steps");
    const Rise rise =
        rise_of_curve(it->second, std::isfinite(last) ? last : it->second.step.back());
    if (!std::isfinite(rise.ratio)) continue;
    ratios.push_back(rise.ratio);
    steps.push_back(rise.min_step);
    if (std::isfinite(rise.second_half)) halves.push_back(rise.second_half);
  }
  if (min_step) *min_step = summarize(steps);
  if (half) *half = summarize(halves);
  return summarize(ratios);
}

std::vector<std::string> grad_keys(const Variant& a, const Variant& b) {
  std::vector<std::string> keys = {"grad_norm"};
  for (const std::string& kind : parameter_kinds()) {
    const std::string key = "grad_norm." + kind;
    bool present = false;
    for (const Variant* v : {&a, &b}) {
      for (const RunResult* r : v->runs) present = present || r->curves.contains(key);
    }
    if (present) keys.push_back(key);
  }
  return keys;
}

std::string ratio_text(const Stat& s) {
  return s.n > 1 ? fmt::format("{:.2f} ± {:.2f}×", s.mean, s.se) : fmt::format("{:.2f}×", s.mean);
}

void judge(RisePair& p) {
  const Stat& w = p.adamw_rise.front().second;
  const Stat& c = p.adamc_rise.front().second;
  const bool noise_known = w.n > 1 && c.n > 1;
  // The paper's rise is one near the end: the gradient norm falls, then climbs again once the
  // schedule is low. A norm that climbs from the first steps on (lowest window early) is
  // another phenomenon (here: over-fitting a finite training set), whatever its ratio.
  const bool late = p.adamw_min_step.n > 0 && p.adamw_min_step.mean >= 0.5 * p.steps;
  const bool adamw_rises = w.n > 0 && w.mean >= kRiseThreshold && late &&
                           (!noise_known || w.mean - 1.0 > kNoiseSigmas * w.se);
  const Difference d = difference(w, c);
  const bool adamc_lower = d.delta > 0 && (!d.noise_known || !d.within_noise);
  const bool halved = c.mean - 1.0 <= 0.5 * (w.mean - 1.0);
  // Without a late minimum, what is left of the claim: does AdamW's norm climb faster over the
  // second half than AdamC's?
  const Stat& wh = p.adamw_half;
  const Difference dh = difference(wh, p.adamc_half);
  const bool half_effect = wh.n > 0 && wh.mean >= kRiseThreshold &&
                           (wh.n < 2 || wh.mean - 1.0 > kNoiseSigmas * wh.se) && dh.delta > 0 &&
                           (!dh.noise_known || !dh.within_noise);
  if (adamw_rises && adamc_lower && halved) {
    p.verdict = "reproduced";
  } else if ((adamw_rises && adamc_lower) || (!late && half_effect)) {
    p.verdict = "partly";
  } else {
    p.verdict = "not reproduced";
  }
  std::string why;
  if (!late && w.n > 0)
    why = fmt::format(
        " (no late rise: AdamW's gradient norm is lowest at step {:.0f} of {:.0f} and grows "
        "from there; over the second half it grows {} under AdamW and {} under AdamC)",
        p.adamw_min_step.mean, p.steps, ratio_text(wh), ratio_text(p.adamc_half));
  else if (!adamw_rises)
    why = fmt::format(" (AdamW's gradient norm does not rise by {:.0f} % beyond noise here)",
                      100 * (kRiseThreshold - 1));
  else if (!adamc_lower)
    why = " (AdamC's rise is not smaller beyond noise)";
  else if (!halved)
    why = " (AdamC reduces the rise, but by less than half)";
  p.sentence = fmt::format(
      "{}, {}: **{}**{} — gradient norm at the end / its minimum: AdamW {}, {} {} "
      "(difference {}); final val loss {} minus AdamW {}; {} seeds",
      p.preset, describe_variant(*p.adamw, true), p.verdict, why, ratio_text(w),
      scaling_of(*p.adamc) == "adamc_all" ? "AdamC (all decayed tensors)" : "AdamC", ratio_text(c),
      format_difference(d, 2), scaling_of(*p.adamc), format_difference(p.val), std::min(w.n, c.n));
}

}  // namespace

double rise_ratio(const Curve& curve, double last_step) {
  return rise_of_curve(curve, last_step).ratio;
}

std::vector<RisePair> gradient_rise_pairs(const std::vector<PresetVariants>& presets) {
  std::vector<RisePair> out;
  for (const PresetVariants& p : presets) {
    for (const Variant& w : p.variants) {
      if (w.decay_mode != "decoupled" || scaling_of(w) != "lr") continue;
      const json wc = comparable_config(w);
      if (wc.is_null()) continue;
      for (const Variant& c : p.variants) {
        const std::string s = scaling_of(c);
        if (c.decay_mode != "decoupled" || (s != "adamc" && s != "adamc_all")) continue;
        if (comparable_config(c) != wc) continue;
        RisePair pair;
        pair.preset = p.preset;
        pair.adamw = &w;
        pair.adamc = &c;
        for (const std::string& key : grad_keys(w, c)) {
          const bool total = key == "grad_norm";
          pair.adamw_rise.emplace_back(key, rise_of(w, key, total ? &pair.adamw_min_step : nullptr,
                                                    total ? &pair.adamw_half : nullptr));
          pair.adamc_rise.emplace_back(key, rise_of(c, key, total ? &pair.adamc_min_step : nullptr,
                                                    total ? &pair.adamc_half : nullptr));
        }
        pair.val = difference(c.final_val, w.final_val);
        for (const RunResult* r : w.runs) {
          const double steps = r->summary_number("steps");
          if (std::isfinite(steps)) pair.steps = std::max(pair.steps, steps);
        }
        judge(pair);
        out.push_back(std::move(pair));
      }
    }
  }
  return out;
}

}  // namespace wdlab
