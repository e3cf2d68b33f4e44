#include "report/findings.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace wdlab {

namespace {

bool has_result(const Variant& v) {
  return v.final_val.n > 0;
}

std::string lr_note(const PresetVariants& p, bool& lr_varies) {
  std::map<std::string, std::set<double>> by_mode;
  std::set<double> all;
  for (const Variant& v : p.variants) {
    if (!has_result(v) || !std::isfinite(v.lr)) continue;
    by_mode[v.decay_mode].insert(v.lr);
    all.insert(v.lr);
  }
  lr_varies = all.size() > 1;
  if (all.empty()) return "";
  if (all.size() == 1) return fmt::format("lr not tuned per mode (lr = {} for all)", *all.begin());
  std::vector<std::string> parts;
  bool every_mode_tuned = true;
  for (const auto& [mode, lrs] : by_mode) {
    if (mode == "none") continue;
    every_mode_tuned = every_mode_tuned && lrs.size() > 1;
    std::vector<std::string> values;
    for (double lr : lrs) values.push_back(fmt::format("{}", lr));
    parts.push_back(fmt::format("{} {{{}}}", mode, fmt::join(values, ", ")));
  }
  return fmt::format("{}: each option at its best (λ, lr); lr tried: {}",
                     every_mode_tuned ? "lr tuned per mode" : "lr not tuned for every mode",
                     fmt::join(parts, "; "));
}

const Variant* same_but_scope(const PresetVariants& p, const Variant& v, const std::string& scope) {
  for (const Variant& u : p.variants) {
    if (&u == &v || u.decay_scope != scope || u.decay_mode != v.decay_mode || !has_result(u))
      continue;
    std::vector<Assignment> a, b;
    for (const Assignment& x : v.axes) {
      if (x.key != "optim.decay_scope") a.push_back(x);
    }
    for (const Assignment& x : u.axes) {
      if (x.key != "optim.decay_scope") b.push_back(x);
    }
    const bool same = a.size() == b.size() &&
                      std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) {
                        return x.key == y.key && x.value == y.value;
                      });
    if (same) return &u;
  }
  return nullptr;
}

const OptionBest* best_of_mode(const PresetFindings& f, const std::string& mode) {
  for (const OptionBest& o : f.ranking) {
    if (o.best->decay_mode == mode) return &o;  // the ranking is sorted: the first is the best
  }
  return nullptr;
}

}  // namespace

std::string comparison_sentence(const std::string& winner, const std::string& loser,
                                const Difference& d, const std::string& what) {
  if (!d.noise_known)
    return fmt::format(
        "{} is lower than {} by {:.3f} nats ({}; 1 seed: no noise estimate, "
        "no verdict)",
        winner, loser, d.delta, what);
  if (d.within_noise)
    return fmt::format("{} and {} are within noise: {:.3f} ± {:.3f} nats apart ({}, {} seeds)",
                       winner, loser, d.delta, d.se, what, d.seeds);
  return fmt::format("{} beats {} by {:.3f} ± {:.3f} nats ({}, {} seeds)", winner, loser, d.delta,
                     d.se, what, d.seeds);
}

PresetFindings preset_findings(const PresetVariants& p) {
  PresetFindings f;
  f.preset = p.preset;
  bool lr_varies = false;
  f.lr_note = lr_note(p, lr_varies);

  std::map<std::string, OptionBest> best;
  for (const Variant& v : p.variants) {
    if (!has_result(v)) continue;
    OptionBest& o = best[option_of(v)];
    o.option = option_of(v);
    ++o.tried;
    if (!o.best || v.final_val.mean < o.best->final_val.mean) o.best = &v;
  }
  for (const auto& [option, o] : best) f.ranking.push_back(o);
  std::stable_sort(f.ranking.begin(), f.ranking.end(),
                   [](const OptionBest& a, const OptionBest& b) {
                     return a.best->final_val.mean < b.best->final_val.mean;
                   });
  if (f.ranking.empty()) return f;

  // A against B, worded with the lower mean as the winner.
  auto compare = [&](const Variant& a, const Variant& b, const std::string& a_name,
                     const std::string& b_name) {
    const bool a_wins = a.final_val.mean <= b.final_val.mean;
    const Variant& w = a_wins ? a : b;
    const Variant& l = a_wins ? b : a;
    return comparison_sentence(a_wins ? a_name : b_name, a_wins ? b_name : a_name,
                               difference(l.final_val, w.final_val));
  };
  auto at_best = [&](const OptionBest& o) {
    if (o.option == "none") return std::string("no decay");
    const std::string d = describe_variant(*o.best, lr_varies);
    return o.tried > 1 ? d + " (its best of " + std::to_string(o.tried) + ")" : d;
  };

  const OptionBest* none = nullptr;
  for (const OptionBest& o : f.ranking) {
    if (o.option == "none") none = &o;
  }
  const OptionBest* best_decay = nullptr;
  for (const OptionBest& o : f.ranking) {
    if (o.option != "none") {
      best_decay = &o;
      break;
    }
  }
  if (none && best_decay)
    f.sentences.push_back(
        compare(*best_decay->best, *none->best, at_best(*best_decay), at_best(*none)));

  const OptionBest* dec = best_of_mode(f, "decoupled");
  const OptionBest* cou = best_of_mode(f, "coupled");
  if (dec && cou) {
    const std::string cou_name = fmt::format(
        "coupled L2 at its best λ ({}{}{})", short_number(cou->best->weight_decay),
        lr_varies ? ", lr " + short_number(cou->best->lr) : "", ", " + cou->best->decay_scope);
    f.sentences.push_back(compare(*dec->best, *cou->best, at_best(*dec), cou_name));
  }

  // Scope at the same λ: each mode's best selective configuration against its uniform twin.
  for (const std::string mode : {"decoupled", "coupled"}) {
    const Variant* sel = nullptr;
    for (const OptionBest& o : f.ranking) {
      if (o.option == mode + "/selective") sel = o.best;
    }
    if (!sel) continue;
    const Variant* uni = same_but_scope(p, *sel, "uniform");
    // No uniform run at the best selective λ: the best selective configuration that has one.
    if (!uni) {
      for (const Variant& v : p.variants) {
        if (v.decay_mode != mode || v.decay_scope != "selective" || v.final_val.n == 0) continue;
        const Variant* twin = same_but_scope(p, v, "uniform");
        if (!twin || twin->final_val.n == 0) continue;
        if (!uni || v.final_val.mean < sel->final_val.mean) sel = &v, uni = twin;
      }
    }
    if (!uni) continue;
    const Difference d = difference(uni->final_val, sel->final_val);
    const std::string where = describe_variant(*sel, lr_varies, false);
    std::string s;
    if (!d.noise_known) {
      s = fmt::format(
          "{}: uniform scope {} {:.3f} nats against selective at the same λ (1 seed: "
          "no noise estimate, no verdict)",
          where, d.delta >= 0 ? "is worse by" : "is better by", std::fabs(d.delta));
    } else if (d.within_noise) {
      s = fmt::format(
          "{}: uniform and selective scope are within noise at the same λ ({:+.3f} "
          "± {:.3f} nats, {} seeds)",
          where, d.delta, d.se, d.seeds);
    } else {
      s = fmt::format(
          "{}: uniform scope {} {:.3f} ± {:.3f} nats against selective at the same λ "
          "(final val loss, {} seeds)",
          where, d.delta > 0 ? "costs" : "gains", std::fabs(d.delta), d.se, d.seeds);
    }
    f.sentences.push_back(s);
  }
  // A diverged seed says something about the configuration, though its loss is not averaged.
  for (const Variant& v : p.variants) {
    if (v.diverged == 0) continue;
    f.sentences.push_back(fmt::format(
        "{} diverged in {} of {} seeds ({})", describe_variant(v, lr_varies), v.diverged,
        v.runs.size(),
        v.finished ? "its mean is over the finished seeds" : "left out of the ranking"));
  }
  for (std::string& s : f.sentences) s = p.preset + ": " + s;
  return f;
}

TextTable ranking_table(const PresetFindings& f) {
  TextTable t;
  t.columns = {"rank",           "option",        "its best λ",       "lr",    "configs tried",
               "final val loss", "best val loss", "step of best val", "seeds", "Δ final val vs #1"};
  if (f.ranking.empty()) return t;
  const Variant& top = *f.ranking.front().best;
  for (size_t i = 0; i < f.ranking.size(); ++i) {
    const OptionBest& o = f.ranking[i];
    const Variant& v = *o.best;
    std::string delta = "—";
    if (i > 0) delta = format_difference(difference(v.final_val, top.final_val));
    t.rows.push_back({std::to_string(i + 1), option_words(o.option),
                      o.option == "none" ? "— (no decay)" : short_number(v.weight_decay),
                      std::isfinite(v.lr) ? short_number(v.lr) : "—", std::to_string(o.tried),
                      format_stat(v.final_val), format_stat(v.best_val),
                      v.best_step.n ? fmt::format("{:.0f}", v.best_step.mean) : "—",
                      std::to_string(v.final_val.n), delta});
  }
  return t;
}

}  // namespace wdlab
