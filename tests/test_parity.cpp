// Parity with PyTorch (issue 3): for every family and every weight-decay variant, wdlab trains 20
// steps from the weights and on the batches that tools/parity/gen_parity.py recorded in
// tests/fixtures/parity/<family>/, and must reproduce the PyTorch run: every step's objective,
// cross-entropy, z-loss, balance loss and gradient norm, the learning rate and decay of every
// step, the final per-tensor L2 norms and the final loss, each within 1e-4 relative.
//
// The training step is the trainer's own (lib/run/train_step.h), so the fixtures check its order
// (schedule index, clipping before coupled λ·w, lr_peak) too. The config is built as a run's is:
// the fixture's model and optim sections on top of default_config(), through resolve_config and
// parse_run_config, so the run config's validation applies to them.
//
// Three effects documented in tools/parity/README.md ("Tolerances") make some numbers depend on
// rounding alone. Each is detected from the run's own data and widens only what it explains:
//   1. GPT-2/3 c_attn.bias: its key rows have a zero gradient and Adam amplifies the noise.
//   2. Coupled Adam: a decayed weight whose clipped gradient cancels λ·w at step 0 (GPT-3).
//   3. MoE: a routing near-tie (router_margin below the run's own drift); never met so far.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "model/transformer.h"
#include "optim/grad_clip.h"
#include "optim/optimizer.h"
#include "optim/param_groups.h"
#include "run/config.h"
#include "run/train_step.h"

namespace wdlab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The tolerance, relative, for every compared number.
constexpr double kRelTol = 1e-4;
// Largest relative loss difference still taken for fp32 rounding (effect 3): 30 times the
// largest measured (3.0e-7 over all families and variants, the GPT-3 effect-2 runs aside).
constexpr double kRoundingDrift = 1e-5;

const fs::path kFixtureRoot = fs::path(WDLAB_SOURCE_DIR "/tests/fixtures/parity");

const std::vector<std::string> kFamilies = {"gpt2",  "gpt3",    "llama",  "palm",
                                            "grok1", "mistral", "mixtral"};
// gen_parity.py variants(), in its order.
const std::vector<std::string> kVariants = {
    "adam_none_selective",      "adam_coupled_selective",     "adamw_lr_selective",
    "adamw_schedule_selective", "adamw_lr_squared_selective", "adamc_selective",
    "adam_none_uniform",        "adam_coupled_uniform",       "adamw_lr_uniform",
    "adamw_schedule_uniform",   "adamw_lr_squared_uniform",   "adamc_uniform",
    "sgd_coupled_selective"};

double rel_err(double got, double want) {
  if (got == want) return 0.0;
  return std::abs(got - want) / std::max(std::abs(want), 1e-30);
}

const json& fixture(const std::string& family) {
  static std::map<std::string, json> cache;
  auto it = cache.find(family);
  if (it == cache.end()) {
    std::ifstream in(kFixtureRoot / family / "fixture.json");
    if (!in) throw std::runtime_error("cannot open " + (kFixtureRoot / family).string());
    it = cache.emplace(family, json::parse(in)).first;
  }
  return it->second;
}

const json& variant_of(const json& fx, const std::string& name) {
  for (const json& v : fx["variants"])
    if (v["name"] == name) return v;
  throw std::runtime_error(
      fmt::format("{}: no variant '{}'", fx["family"].get<std::string>(), name));
}

// default_config() <- the fixture's model section, the variant's optim settings, and the
// fixture's batch size and step count (the schedule's total), validated as any run config.
RunConfig run_config(const json& fx, const json& variant) {
  const json preset = {{"name", "parity-" + fx["family"].get<std::string>()},
                       {"config",
                        {{"model", fx["config"]["model"]},
                         {"optim", variant["optim"]},
                         {"train", {{"batch_size", fx["batch_size"]}, {"steps", fx["steps"]}}}}}};
  RunConfig run = parse_run_config(resolve_config(preset, "", {}));
  run.model.vocab_size = fx["vocab_size"].get<int>();
  return run;
}

// Rows [begin, end) of the key block in a fused c_attn.bias ([queries; keys; values]).
struct KeyRows {
  size_t row;  // table row of the c_attn.bias tensor
  size_t begin, end;
};

// A decayed coordinate whose first coupled-Adam step is decided by rounding (effect 2): the
// effective gradient is forced to `geff` at step 0.
struct ForcedFirstStep {
  size_t offset;
  float geff;
};

// One C++ training run, and what the checks need from it.
struct CppRun {
  std::vector<ModelLoss> losses;
  std::vector<double> lr, decay, grad_norm;
  std::vector<double> final_norms;  // per table row
  double final_loss_batch0 = 0.0;
  // Effect 1, per table row (0 for tensors without key-bias rows): W = ||K - K_ref|| of the key
  // rows, ||K_ref||, and the norm of the other (query and value) rows; and the largest
  // max|g_key| / max|g_query,value| seen at any step.
  std::vector<double> key_walk, key_ref_norm, query_value_norm;
  double key_grad_ratio = 0.0;
  // Effect 2 (main run only): step-0 coordinates whose first step rounding decides.
  std::vector<size_t> sensitive;
  std::vector<double> sensitive_g;     // their clipped loss gradient g
  std::vector<double> sensitive_geff;  // and g + λw
};

class ParityRun {
 public:
  ParityRun(const std::string& family, const std::string& variant)
      : fx_(fixture(family)), var_(variant_of(fx_, variant)), run_(run_config(fx_, var_)) {
    B_ = fx_["batch_size"].get<int>();
    T_ = fx_["seq_len"].get<int>();
    steps_ = fx_["steps"].get<int>();
    for (const json& b : fx_["batches"]) {
      std::vector<int> tokens, targets;
      for (const json& row : b["tokens"])
        for (const json& t : row) tokens.push_back(t.get<int>());
      for (const json& row : b["targets"])
        for (const json& t : row) targets.push_back(t.get<int>());
      tokens_.push_back(std::move(tokens));
      targets_.push_back(std::move(targets));
    }
  }

  const json& fx() const { return fx_; }
  const json& var() const { return var_; }
  const RunConfig& config() const { return run_; }
  int steps() const { return steps_; }

  std::unique_ptr<Transformer<float>> load() const {
    auto model = std::make_unique<Transformer<float>>(run_.model, B_);
    load_safetensors(kFixtureRoot / fx_["family"].get<std::string>() / "init.safetensors",
                     model->table(), model->params().data());
    return model;
  }

  DecayPlan plan(const ParamTable& table) const {
    return build_decay_plan(table, run_.optim.decay_scope, run_.optim.decay_rules);
  }

  // Key rows of every c_attn.bias (GPT-2/3 have attention biases; the others none).
  std::vector<KeyRows> key_rows(const ParamTable& table) const {
    std::vector<KeyRows> out;
    const size_t q = static_cast<size_t>(run_.model.n_head) * run_.model.head_size();
    const size_t k = static_cast<size_t>(run_.model.kv_heads()) * run_.model.head_size();
    for (size_t i = 0; i < table.size(); ++i)
      if (table[i].name.ends_with(".attn.c_attn.bias")) out.push_back({i, q, q + k});
    return out;
  }

  CppRun train(const std::vector<ForcedFirstStep>& forced = {}) const {
    CppRun r;
    auto model = load();
    const ParamTable& table = model->table();
    Optimizer opt(table, plan(table), run_.optim.options);
    const OptimizerOptions& o = run_.optim.options;
    const bool coupled_adam =
        o.kind == OptimizerKind::adam && o.decay_mode == DecayMode::coupled && o.weight_decay > 0.0;
    const std::vector<KeyRows> keys = key_rows(table);
    // Effect 1: the key rows as exact arithmetic would leave them. Their loss gradient is zero,
    // so Adam's update m / (sqrt(v) + eps) is 0 and only a decoupled shrink moves them.
    std::vector<float> init = model->params();
    std::vector<double> key_ref_scale(table.size(), 1.0);

    // The trainer's step (lib/run/train_step.h); the hook sees the clipped gradient before the
    // optimizer, which is where effects 1 and 2 are measured (and effect 2 forced).
    TrainStep step(*model, opt, run_.optim.schedule, run_.optim.grad_clip);
    step.set_gradient_hook([&](int t, std::vector<float>& g) {
      for (const KeyRows& k : keys) {
        const ParamInfo& p = table[k.row];
        double gk = 0.0, gqv = 0.0;
        for (size_t i = 0; i < p.numel; ++i) {
          const double a = std::abs(g[p.offset + i]);
          if (i >= k.begin && i < k.end) {
            gk = std::max(gk, a);
          } else {
            gqv = std::max(gqv, a);
          }
        }
        r.key_grad_ratio = std::max(r.key_grad_ratio, gk / std::max(gqv, 1e-30));
      }
      if (t == 1 && coupled_adam) {
        const DecayPlan& pl = opt.plan();
        for (size_t row = 0; row < table.size(); ++row) {
          if (!pl.decays[row]) continue;
          const ParamInfo& p = table[row];
          for (size_t i = p.offset; i < p.offset + p.numel; ++i) {
            const double geff = g[i] + static_cast<float>(o.weight_decay) * model->params()[i];
            if (std::abs(geff) <= kGradAgreement * std::abs(g[i])) {
              r.sensitive.push_back(i);
              r.sensitive_g.push_back(g[i]);
              r.sensitive_geff.push_back(geff);
            }
          }
        }
        for (const ForcedFirstStep& f : forced) {
          const float lw = static_cast<float>(o.weight_decay) * model->params()[f.offset];
          g[f.offset] = f.geff - lw;  // the optimizer adds λ·w back
        }
      }
    });
    for (int s = 0; s < steps_; ++s) {
      const StepResult sr =
          step.run(s + 1, tokens_[s].data(), targets_[s].data(), B_, T_, /*dropout_rng=*/nullptr);
      if (sr.diverged) throw std::runtime_error(fmt::format("diverged at update {}", s + 1));
      for (size_t row = 0; row < table.size(); ++row) {
        if (!opt.plan().decays[row] || o.decay_mode != DecayMode::decoupled) continue;
        // adamc: the tensors outside the normalized set shrink by lr_t·λ.
        const bool by_scaling = !is_adamc(o.decay_scaling) || opt.adamc_tensors()[row];
        key_ref_scale[row] *=
            1.0 - (by_scaling ? decoupled_decay_step(o, sr.lr, run_.optim.schedule.peak)
                              : sr.lr * o.weight_decay);
      }
      r.losses.push_back(sr.loss);
      r.lr.push_back(sr.lr);
      r.decay.push_back(sr.decay_step);
      r.grad_norm.push_back(sr.grad_norm);
    }

    const std::vector<float>& w = model->params();
    r.key_walk.assign(table.size(), 0.0);
    r.key_ref_norm.assign(table.size(), 0.0);
    r.query_value_norm.assign(table.size(), 0.0);
    for (const KeyRows& k : keys) {
      const ParamInfo& p = table[k.row];
      double walk = 0.0, ref = 0.0, qv = 0.0;
      for (size_t i = 0; i < p.numel; ++i) {
        const double x = w[p.offset + i];
        if (i >= k.begin && i < k.end) {
          const double x_ref = key_ref_scale[k.row] * init[p.offset + i];
          walk += (x - x_ref) * (x - x_ref);
          ref += x_ref * x_ref;
        } else {
          qv += x * x;
        }
      }
      r.key_walk[k.row] = std::sqrt(walk);
      r.key_ref_norm[k.row] = std::sqrt(ref);
      r.query_value_norm[k.row] = std::sqrt(qv);
    }
    for (const ParamInfo& p : table) r.final_norms.push_back(l2_norm(w.data() + p.offset, p.numel));
    r.final_loss_batch0 =
        model->forward(tokens_[0].data(), targets_[0].data(), B_, T_, nullptr).total();
    return r;
  }

  // Effect 2: how closely (relative) a gradient coordinate of wdlab and PyTorch agree. Measured:
  // grad norms within 3e-6 relative; a single coordinate can be a few times worse where it is
  // itself a small sum, hence 1e-5. When |g + λw| <= this * |g|, the sign of g + λw, and so the
  // direction of the first Adam step, is decided by rounding.
  static constexpr double kGradAgreement = 1e-5;

 private:
  const json& fx_;
  const json& var_;
  RunConfig run_;
  int B_ = 0, T_ = 0, steps_ = 0;
  std::vector<std::vector<int>> tokens_, targets_;
};

// Mismatches are collected and reported together, the worst first, so that one failure shows
// the whole picture (a forward bug fails step 0; a backward or optimizer bug step 1 on).
class Mismatches {
 public:
  void check(const std::string& what, double got, double want, double tol_rel = kRelTol) {
    const double e = rel_err(got, want);
    max_ = std::max(max_, e);
    if (!(e <= tol_rel))
      items_.push_back(
          {e, fmt::format("{}: wdlab {:.9g}, PyTorch {:.9g}, rel err {:.2e} (tol {:.0e})", what,
                          got, want, e, tol_rel)});
  }
  // want within [lo, hi] (the span of wdlab's runs) widened by slack.
  void check_within(const std::string& what, double lo, double hi, double want, double slack) {
    const double e = want < lo ? lo - want : want > hi ? want - hi : 0.0;
    if (!(e <= slack))
      items_.push_back({e / std::abs(want),
                        fmt::format("{}: PyTorch {:.9g} outside wdlab's [{:.9g}, {:.9g}] ± {:.2e}",
                                    what, want, lo, hi, slack)});
  }
  double max() const { return max_; }
  bool empty() const { return items_.empty(); }
  std::string report() const {
    auto sorted = items_;
    std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.first > b.first; });
    std::string out = fmt::format("{} mismatches; the worst:\n", sorted.size());
    for (size_t i = 0; i < std::min<size_t>(sorted.size(), 12); ++i)
      out += "  " + sorted[i].second + "\n";
    return out;
  }

 private:
  std::vector<std::pair<double, std::string>> items_;
  double max_ = 0.0;
};

struct Case {
  std::string family, variant;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.family << "/" << c.variant;
}

class Parity : public ::testing::TestWithParam<Case> {};

TEST_P(Parity, TrainsLikePyTorch) {
  const Case& c = GetParam();
  const ParityRun pr(c.family, c.variant);
  const json& fx = pr.fx();
  const json& var = pr.var();
  const int steps = pr.steps();
  ASSERT_EQ(var["loss"].size(), static_cast<size_t>(steps));

  // The model the fixture describes: derived sizes, tensor table, decay groups.
  {
    const ModelConfig& m = pr.config().model;
    EXPECT_EQ(m.ffn_hidden(), fx["derived"]["ffn_hidden"].get<int>());
    EXPECT_EQ(m.head_size(), fx["derived"]["head_dim"].get<int>());
    EXPECT_EQ(m.kv_heads(), fx["derived"]["n_kv_head"].get<int>());
    const auto model = pr.load();  // load_safetensors checks every name and shape
    const ParamTable& table = model->table();
    const DecayPlan plan = pr.plan(table);
    ASSERT_EQ(table.size(), fx["params"].size());
    for (const json& p : fx["params"]) {  // by name: the MoE tables list tensors in another order
      const std::string name = p["name"].get<std::string>();
      const auto row = table.find(name);
      ASSERT_TRUE(row.has_value()) << name;
      EXPECT_EQ(std::string(to_string(table[*row].kind)), p["kind"].get<std::string>()) << name;
      const bool decays = pr.config().optim.decay_scope == DecayScope::uniform ||
                          p["decayed_if_selective"].get<bool>();
      EXPECT_EQ(static_cast<bool>(plan.decays[*row]), decays) << name;
    }
  }

  const CppRun run = pr.train();
  const auto model = pr.load();
  const ParamTable& table = model->table();
  Mismatches loss_mm, norm_mm, other_mm;

  // Effect 3 (MoE routing near-ties). router_margin[s] is the smallest gap between the k-th and
  // (k+1)-th routing candidate over all tokens and layers at step s. The run's own drift is the
  // largest relative objective error of the steps before; a token's router value can stray about
  // sqrt(N) = 6 times further than the mean over N = 32 tokens that the loss is, hence x10. From
  // the first step whose margin is below that drift, wdlab may route one token differently
  // and the runs part ways: only the steps before it are compared. A drift above kRoundingDrift
  // is no longer rounding, and earns no exception. With the committed fixtures this never
  // triggers (smallest margin 1.9e-5, drift x10 at most 3e-6).
  int compare_steps = steps;
  double max_norm = 0.0;  // strictly compared tensors
  if (var.contains("router_margin")) {
    double drift = 0.0;  // over the steps before s, all of which are compared
    for (int s = 0; s < steps; ++s) {
      if (drift <= kRoundingDrift && var["router_margin"][s].get<double>() < 10.0 * drift) {
        compare_steps = s;
        std::cout << fmt::format(
            "[ note ] {}/{}: routing near-tie at step {} (margin {:.2e} < "
            "10 x drift {:.2e}); steps {}.. and final norms not compared\n",
            c.family, c.variant, s, var["router_margin"][s].get<double>(), drift, s);
        break;
      }
      drift = std::max(drift, rel_err(run.losses[s].total(), var["loss"][s].get<double>()));
    }
  }

  // Effect 2: coupled Adam, a decayed coordinate whose clipped gradient cancels λ·w at step 0
  // to within rounding (GPT-3 h.1.mlp.c_proj.weight[459]: g = -7.387e-3, λw = +7.387e-3).
  // The first Adam step is m̂ / sqrt(v̂) ~ sign(g + λw), so rounding decides a ±lr step there;
  // the losses absorb it (6e-6 apart) but some 1-D tensor norms move by ~1e-4. The PyTorch
  // value of g + λw lies within ±kGradAgreement·|g| of ours, and the first step is monotonic in
  // it: rerun with it forced to both ends, and require the fixture's final norms and gradient
  // norms to lie in the span of the three runs (± 1e-4; the span is up to ±7e-4 wide for the
  // GPT-3 bias norms). The losses are still compared with the main run alone.
  std::vector<CppRun> runs = {run};
  ASSERT_LE(run.sensitive.size(), 3u) << "more rounding-sensitive first steps than expected";
  if (!run.sensitive.empty()) {
    const unsigned corners = 1u << run.sensitive.size();
    for (unsigned mask = 0; mask < corners; ++mask) {
      std::vector<ForcedFirstStep> forced;
      for (size_t j = 0; j < run.sensitive.size(); ++j) {
        const double half = ParityRun::kGradAgreement * std::abs(run.sensitive_g[j]);
        const double geff = run.sensitive_geff[j] + ((mask >> j & 1u) ? half : -half);
        forced.push_back({run.sensitive[j], static_cast<float>(geff)});
      }
      runs.push_back(pr.train(forced));
    }
    for (size_t j = 0; j < run.sensitive.size(); ++j) {
      size_t row = 0;
      while (row + 1 < table.size() && table[row + 1].offset <= run.sensitive[j]) ++row;
      std::cout << fmt::format(
          "[ note ] {}/{}: first Adam step of {}[{}] decided by rounding "
          "(g {:.4g}); final and gradient norms compared with the span of {} runs\n",
          c.family, c.variant, table[row].name, run.sensitive[j] - table[row].offset,
          run.sensitive_g[j], runs.size());
    }
  }

  for (int s = 0; s < compare_steps; ++s) {
    const std::string at = fmt::format("step {:2d} ", s);
    other_mm.check(at + "lr", run.lr[s], var["lr"][s].get<double>(), 1e-12);
    // The fixture records the shrink s_t·λ of decoupled decay (and lr·λ for coupled L2, which
    // has no per-step shrink: the step reports 0 there, and no budget accumulates).
    if (pr.config().optim.options.decay_mode == DecayMode::coupled) {
      EXPECT_EQ(run.decay[s], 0.0) << at << "decay of a coupled step";
    } else if (var["decay"][s].get<double>() != 0.0 || run.decay[s] != 0.0) {
      other_mm.check(at + "decay", run.decay[s], var["decay"][s].get<double>(), 1e-12);
    }
    loss_mm.check(at + "objective", run.losses[s].total(), var["loss"][s].get<double>());
    loss_mm.check(at + "ce", run.losses[s].ce, var["ce"][s].get<double>());
    other_mm.check(at + "z_loss", run.losses[s].z_loss, var["z_loss"][s].get<double>());
    other_mm.check(at + "aux_loss", run.losses[s].aux, var["aux_loss"][s].get<double>());
    if (runs.size() > 1) {
      double lo = run.grad_norm[s], hi = lo;
      for (const CppRun& r : runs) {
        lo = std::min(lo, r.grad_norm[s]);
        hi = std::max(hi, r.grad_norm[s]);
      }
      const double want = var["grad_norm"][s].get<double>();
      other_mm.check_within(at + "grad_norm", lo, hi, want, kRelTol * want);
    } else {
      other_mm.check(at + "grad_norm", run.grad_norm[s], var["grad_norm"][s].get<double>());
    }
  }

  if (compare_steps == steps) {
    loss_mm.check("final loss on batch 0", run.final_loss_batch0,
                  var["final_loss_batch0"].get<double>());

    // Effect 1: GPT-2/3 c_attn.bias. A key bias shifts all of a query's scores equally, so its
    // rows have an exactly zero loss gradient (checked: at rounding level at every step). Adam
    // normalises that noise into steps of up to ~lr, so the key rows random-walk away from where
    // exact arithmetic leaves them, K_ref (the initial rows, times the decoupled shrinks), by
    // W = ||K - K_ref||; PyTorch's take an independent walk of the same kind. The key rows do
    // not affect the loss, only this tensor's norm (a few 1e-3 apart). So the query and value
    // rows are taken as ours (they have real gradients and match like any tensor), the key rows
    // as anywhere within 2 W of K_ref, and the fixture's norm must lie in the range that spans:
    // sqrt(||QV||^2 + (||K_ref|| ± 2 W)^2), ± 1e-4 (about ±2 %, against 2-11 % for the crude
    // |Δ| <= W + W_torch). Measured, PyTorch's walk is at least 1.25 W in one case
    // (gpt2/adamw_schedule_selective h.1), hence 2 W. Where λ·w enters the gradient (coupled
    // decay on this tensor) or under SGD nothing is amplified, and the norm is compared strictly.
    const OptimizerOptions& o = pr.config().optim.options;
    const DecayPlan plan = pr.plan(table);
    double max_norm_walk = 0.0, max_norm_span = 0.0;
    for (size_t row = 0; row < table.size(); ++row) {
      const std::string& name = table[row].name;
      const double want = var["final_norms"][name].get<double>();
      const bool noise_walk = run.key_walk[row] > 0.0 && o.kind == OptimizerKind::adam &&
                              !(o.decay_mode == DecayMode::coupled && plan.decays[row]);
      double lo = run.final_norms[row], hi = lo;
      for (const CppRun& r : runs) {
        if (noise_walk) {
          const double qv = r.query_value_norm[row], ref = r.key_ref_norm[row];
          const double k_lo = std::max(0.0, ref - 2.0 * r.key_walk[row]);
          const double k_hi = ref + 2.0 * r.key_walk[row];
          lo = std::min(lo, std::sqrt(qv * qv + k_lo * k_lo));
          hi = std::max(hi, std::sqrt(qv * qv + k_hi * k_hi));
        } else {
          lo = std::min(lo, r.final_norms[row]);
          hi = std::max(hi, r.final_norms[row]);
        }
      }
      const double raw = rel_err(run.final_norms[row], want);  // of the main run, reported
      if (noise_walk) {
        EXPECT_LE(run.key_grad_ratio, 1e-6)
            << name << ": the key-bias gradient is not at rounding level; effect 1 does not apply";
        norm_mm.check_within("final norm " + name + " (key-bias walk)", lo, hi, want,
                             kRelTol * want);
        max_norm_walk = std::max(max_norm_walk, raw);
      } else if (runs.size() > 1) {
        norm_mm.check_within("final norm " + name, lo, hi, want, kRelTol * want);
        max_norm_span = std::max(max_norm_span, raw);
      } else {
        norm_mm.check("final norm " + name, run.final_norms[row], want);
        max_norm = std::max(max_norm, raw);
      }
    }
    if (max_norm_walk > 0.0)
      ::testing::Test::RecordProperty("max_rel_norm_err_key_bias_walk",
                                      fmt::format("{:.3e}", max_norm_walk));
    if (max_norm_span > 0.0)
      ::testing::Test::RecordProperty("max_rel_norm_err_rounding_first_step",
                                      fmt::format("{:.3e}", max_norm_span));
  }

  ::testing::Test::RecordProperty("max_rel_loss_err", fmt::format("{:.3e}", loss_mm.max()));
  ::testing::Test::RecordProperty("max_rel_norm_err", fmt::format("{:.3e}", max_norm));
  ::testing::Test::RecordProperty("compared_steps", compare_steps);
  EXPECT_TRUE(loss_mm.empty()) << "losses:\n" << loss_mm.report();
  EXPECT_TRUE(norm_mm.empty()) << "final norms:\n" << norm_mm.report();
  EXPECT_TRUE(other_mm.empty()) << "lr, decay, z/aux losses, grad norms:\n" << other_mm.report();
}

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (const std::string& f : kFamilies)
    for (const std::string& v : kVariants) out.push_back({f, v});
  return out;
}

INSTANTIATE_TEST_SUITE_P(PyTorch, Parity, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.family + "_" + info.param.variant;
                         });

// Every family's fixture holds exactly the variants above (none untested) and the format read.
TEST(ParityFixtures, HoldTheExpectedFamiliesAndVariants) {
  for (const std::string& f : kFamilies) {
    const json& fx = fixture(f);
    EXPECT_EQ(fx["format"], "wdlab-parity-1") << f;
    EXPECT_EQ(fx["family"], f);
    std::vector<std::string> names;
    for (const json& v : fx["variants"]) names.push_back(v["name"].get<std::string>());
    EXPECT_EQ(names, kVariants) << f;
    EXPECT_EQ(fx["batches"].size(), fx["steps"].get<size_t>()) << f;
  }
  size_t dirs = 0;
  for (const auto& e : fs::directory_iterator(kFixtureRoot)) dirs += e.is_directory();
  EXPECT_EQ(dirs, kFamilies.size()) << "a fixture family is not in kFamilies";
}

}  // namespace
}  // namespace wdlab
