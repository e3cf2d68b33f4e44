// wdlab_bench: training-step throughput of Transformer<float> for the GPT-2, LLaMA and Mixtral
// presets at the issue-5 shapes, next to the sgemm peak measured in the same run (bench/README.md).
//
//   wdlab_bench [--quick] [--families gpt2,llama,mixtral,grok1,modular]
//               [--shapes tiny,small,base,large,quickstart,modular] [--pairs family:shape,...]
//               [--threads 1,2] [--steps N] [--warmup N] [--no-sweep] [--out results.json]
//   wdlab_bench --models models.json [--shapes ...] [--families ...]   resolved architectures,
//                                                                      read by torch_bench.py
//   wdlab_bench --dump-run RUN_DIR --out PREFIX    a sweep run's batches, for torch_sweep.py
//
// The parent process only orchestrates: every measurement runs in a fresh child (the binary
// re-executed with --one or --peak) so each configuration's peak RSS (ru_maxrss) is its own and
// no thread pool or allocator state carries over. Children print "RESULT <json>" on stdout.
//
// One step, as the trainer runs it (lib/run/trainer.cpp), timed in three parts:
//   forward    model.forward(tokens, targets, B, T, nullptr)           (no dropout)
//   backward   model.zero_grad(); model.backward()
//   optimizer  clip_grad_norm(grads, 1.0); AdamW step (decoupled, selective, weight_decay 0.1)
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <cblas.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/gemm.h"
#include "core/rng.h"
#include "core/subnormals.h"
#include "data/dataset.h"
#include "data/modular_arithmetic.h"
#include "data/synthetic_cache.h"
#include "io/atomic_file.h"
#include "layers/cross_entropy.h"
#include "model/step_cost.h"
#include "model/transformer.h"
#include "optim/grad_clip.h"
#include "optim/optimizer.h"
#include "optim/param_groups.h"
#include "run/config.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kVocab = 256;
constexpr double kLr = 1e-3;
constexpr uint64_t kSeed = 1337;

// ---------------------------------------------------------------------------------------------
// Shapes and step counts.

struct Shape {
  std::string name;
  int B, T, L, C, NH;
  int warmup, steps;              // full run
  int quick_warmup, quick_steps;  // --quick
  int sweep_steps;                // side-by-side pair, full run (quick: quick_steps)
  // Shapes that are a preset's own run (issue 15), not the family at the benchmark's sizes:
  // "quickstart" = the GPT-2 / LLaMA presets at their tiny scale as configs/sweeps/quickstart.json
  // runs them (vocabulary 64 of the synthetic language); "modular" = configs/modular.json at its
  // grokking scale (sequences of 4, the full training set as the batch, loss on the answer only).
  std::vector<std::string> only_families;  // empty: every family
};

constexpr const char* kModularPreset = "modular";
constexpr const char* kModularScale = "grokking";

// The modular task's batch: every training equation (train.batch_size is at least the set).
int modular_batch() {
  const json cfg = wdlab::resolve_config(wdlab::load_preset(kModularPreset), kModularScale, {});
  const wdlab::RunConfig rc = wdlab::parse_run_config(cfg);
  const wdlab::TokenDataset data = wdlab::make_modular_dataset(rc.data.modular, rc.seed);
  return data.batch_size(rc.train.batch_size);
}

const std::vector<Shape>& all_shapes() {
  static const std::vector<Shape> shapes = {
      {"tiny", 8, 64, 2, 64, 4, 10, 100, 5, 30, 100, {}},
      {"small", 16, 128, 4, 128, 4, 5, 40, 3, 20, 40, {}},
      {"base", 16, 256, 6, 256, 8, 2, 20, 2, 20, 10, {}},
      {"large", 8, 512, 8, 512, 8, 1, 20, 1, 20, 5, {}},
      {"quickstart", 8, 64, 2, 64, 4, 10, 100, 5, 30, 100, {"gpt2", "llama"}},
      {"modular", modular_batch(), 4, 1, 64, 4, 5, 50, 3, 30, 50, {kModularPreset}},
  };
  return shapes;
}

const Shape& find_shape(const std::string& name) {
  for (const Shape& s : all_shapes())
    if (s.name == name) return s;
  throw std::runtime_error("unknown shape '" + name +
                           "' (tiny, small, base, large, quickstart, modular)");
}

bool runs_on(const Shape& s, const std::string& family) {
  if (s.only_families.empty()) return family != kModularPreset;
  return std::find(s.only_families.begin(), s.only_families.end(), family) != s.only_families.end();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

// The preset's architecture at the benchmark's sizes: the preset resolved at its "tiny" scale,
// then model.{block_size, n_layer, d_model, n_head} overridden. A preset with grouped-query
// attention keeps its query:kv head ratio (Mixtral 4:1; Grok-1's 6:1 leaves one kv head at 4 or
// 8 heads) and an explicit head_dim (Grok-1) becomes d_model / n_head. The preset-run shapes
// (quickstart, modular) keep the preset's own sizes and vocabulary. Dropout off, vocab 256 at the
// benchmark's sizes; optimizer as the preset, with AdamW decoupled selective decay 0.1 and grad
// clip 1.0 forced.
wdlab::RunConfig make_run_config(const std::string& family, const Shape& s) {
  const json preset = wdlab::load_preset(family);
  const std::vector<std::string> optim = {
      "model.dropout=0",
      "optim.name=adam",
      "optim.weight_decay=0.1",
      "optim.decay_mode=decoupled",
      "optim.decay_scope=selective",
      "optim.grad_clip=1.0",
  };
  if (!s.only_families.empty()) {
    const std::string scale = family == kModularPreset ? kModularScale : "tiny";
    std::vector<std::string> overrides = optim;
    overrides.push_back("train.batch_size=" + std::to_string(s.B));
    wdlab::RunConfig rc = wdlab::parse_run_config(wdlab::resolve_config(preset, scale, overrides));
    rc.model.vocab_size =
        family == kModularPreset ? rc.data.modular.modulus + 2 : rc.data.synthetic.vocab_size;
    wdlab::validate(rc.model);
    return rc;
  }
  const json tiny = wdlab::resolve_config(preset, "tiny", {});
  const int tiny_heads = tiny["model"]["n_head"].get<int>();
  const int tiny_kv = tiny["model"]["n_kv_head"].get<int>();
  std::vector<std::string> overrides = {
      "model.block_size=" + std::to_string(s.T), "model.n_layer=" + std::to_string(s.L),
      "model.d_model=" + std::to_string(s.C),    "model.n_head=" + std::to_string(s.NH),
      "train.batch_size=" + std::to_string(s.B),
  };
  overrides.insert(overrides.end(), optim.begin(), optim.end());
  if (tiny_kv > 0) {
    const int ratio = std::max(1, tiny_heads / tiny_kv);
    overrides.push_back("model.n_kv_head=" + std::to_string(std::max(1, s.NH / ratio)));
  }
  if (tiny["model"].value("head_dim", 0) > 0) overrides.push_back("model.head_dim=0");
  wdlab::RunConfig rc = wdlab::parse_run_config(wdlab::resolve_config(preset, "tiny", overrides));
  rc.model.vocab_size = kVocab;
  wdlab::validate(rc.model);
  return rc;
}

// Positions whose targets count in the loss: all, or (modular) only the answer's.
int graded_from(const Shape& s) {
  return s.name == "modular" ? wdlab::kModularAnswerPosition : 0;
}

json model_json(const wdlab::RunConfig& rc) {
  const wdlab::ModelConfig& m = rc.model;
  json j = rc.json["model"];
  j["vocab_size"] = m.vocab_size;
  j["n_kv_head_effective"] = m.kv_heads();
  j["head_size"] = m.head_size();
  j["ffn_hidden"] = m.ffn_hidden();
  j["describe"] = wdlab::describe(m);
  return j;
}

// ---------------------------------------------------------------------------------------------
// Small utilities.

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double rss_bytes() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) * 1024.0;  // KiB on Linux
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// CPU time (seconds) used by the whole machine and by this process (all threads) so far: the
// difference over the timed steps tells how much of the machine other processes took meanwhile
// (the cores are shared; a busy neighbour shows up here rather than as a mystery).
struct CpuTimes {
  double machine_busy = 0, self = 0;
};

CpuTimes cpu_times() {
  CpuTimes c;
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream st("/proc/stat");
  std::string cpu;
  double v[8] = {};  // user nice system idle iowait irq softirq steal
  st >> cpu;
  for (double& x : v) st >> x;
  c.machine_busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);  // all threads, ns resolution
  c.self = static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  return c;
}

void emit(const json& j) {
  std::cout << "RESULT " << j.dump() << std::endl;
}

// ---------------------------------------------------------------------------------------------
// Child: one configuration.

struct OneArgs {
  std::string family, shape;
  int threads = 1, warmup = 3, steps = 20;
  bool sync = false;
};

json run_one(const OneArgs& a) {
  const double rss_start = rss_bytes();
  wdlab::blas_set_threads(a.threads);
  const Shape& s = find_shape(a.shape);
  const wdlab::RunConfig rc = make_run_config(a.family, s);
  const int B = s.B, T = s.T, N = B * T;

  wdlab::Transformer<float> model(rc.model, B, a.threads);
  model.init_weights(kSeed);
  const double rss_model = rss_bytes();
  wdlab::DecayPlan plan =
      wdlab::build_decay_plan(model.table(), rc.optim.decay_scope, rc.optim.decay_rules);
  wdlab::Optimizer opt(model.table(), std::move(plan), rc.optim.options);
  const double rss_optimizer = rss_bytes();

  // Uniform random tokens and targets, a fresh batch for every step (drawn before timing); the
  // modular shape grades only the answer position (the others masked, as its data are).
  const int total = a.warmup + a.steps;
  const int V = rc.model.vocab_size, graded = graded_from(s);
  std::vector<int> tokens(static_cast<size_t>(total) * N), targets(tokens.size());
  wdlab::Rng rng(kSeed, wdlab::RngStream::train_batches);
  for (size_t i = 0; i < tokens.size(); ++i) {
    tokens[i] = static_cast<int>(rng.below(V));
    targets[i] = static_cast<int>(rng.below(V));
    if (static_cast<int>(i % T) < graded) targets[i] = wdlab::kMaskedTarget;
  }

  std::vector<double> fwd, bwd, optim, step;
  CpuTimes cpu0;
  double loss_first = 0, loss_last = 0, grad_norm_last = 0, rss_warm = 0;
  int64_t t_start = 0, t_end = 0;
  const wdlab::FlushSubnormals flush;  // as the trainer computes (core/subnormals.h)
  for (int i = 0; i < total; ++i) {
    if (i == a.warmup) {
      rss_warm = rss_bytes();
      if (a.sync) {  // side-by-side runs start their timed steps together
        std::cout << "READY" << std::endl;
        std::string go;
        if (!std::getline(std::cin, go))
          throw std::runtime_error("no start signal from the parent");
      }
      t_start = now_ns();
      cpu0 = cpu_times();
    }
    const int* tok = tokens.data() + static_cast<size_t>(i) * N;
    const int* tgt = targets.data() + static_cast<size_t>(i) * N;
    const auto t0 = Clock::now();
    const wdlab::ModelLoss loss = model.forward(tok, tgt, B, T, nullptr);
    const auto t1 = Clock::now();
    model.zero_grad();
    model.backward();
    const auto t2 = Clock::now();
    grad_norm_last = wdlab::clip_grad_norm(model.grads().data(), model.grads().size(),
                                           rc.optim.grad_clip, &model.workers());
    opt.step(model.params().data(), model.grads().data(), kLr, kLr, &model.workers());
    const auto t3 = Clock::now();
    if (i == 0) loss_first = loss.total();
    loss_last = loss.total();
    if (i >= a.warmup) {
      fwd.push_back(seconds(t0, t1));
      bwd.push_back(seconds(t1, t2));
      optim.push_back(seconds(t2, t3));
      step.push_back(seconds(t0, t3));
    }
  }
  t_end = now_ns();
  const CpuTimes cpu1 = cpu_times();
  if (a.warmup == 0) rss_warm = rss_bytes();

  std::vector<double> tok_s;
  for (double t : step) tok_s.push_back(N / t);
  const wdlab::StepFlops flops = wdlab::step_flops(rc.model, B, T);
  const wdlab::StepMemory mem =
      wdlab::step_memory(rc.model, B, T, static_cast<int64_t>(model.table().total()));
  const double step_med = median(step);
  double timed = 0;
  for (double t : step) timed += t;

  json j;
  j["family"] = a.family;
  j["shape"] = a.shape;
  j["threads"] = a.threads;
  j["blas_threads"] = wdlab::blas_threads();
  j["B"] = B, j["T"] = T, j["L"] = s.L, j["C"] = s.C, j["NH"] = s.NH;
  j["model"] = model_json(rc);
  j["params"] = model.table().total();
  j["warmup"] = a.warmup;
  j["steps"] = a.steps;
  j["tokens_per_step"] = N;
  j["tok_s"] = {{"median", median(tok_s)},
                {"min", *std::min_element(tok_s.begin(), tok_s.end())},
                {"max", *std::max_element(tok_s.begin(), tok_s.end())},
                {"mean", N * a.steps / timed}};
  j["ms"] = {{"step", 1e3 * step_med},
             {"forward", 1e3 * median(fwd)},
             {"backward", 1e3 * median(bwd)},
             {"optimizer", 1e3 * median(optim)}};
  j["step_s"] = step, j["forward_s"] = fwd, j["backward_s"] = bwd, j["optimizer_s"] = optim;
  j["flops"] = flops.to_json();
  j["gflops"] = flops.step() / step_med / 1e9;
  j["memory"] = mem.to_json();
  j["rss"] = {{"start", rss_start},
              {"after_model", rss_model},
              {"after_optimizer", rss_optimizer},
              {"after_warmup", rss_warm},
              {"peak", peak_rss_bytes()}};
  j["loss_first"] = loss_first, j["loss_last"] = loss_last, j["grad_norm_last"] = grad_norm_last;
  j["t_start_ns"] = t_start, j["t_end_ns"] = t_end;
  j["timed_tokens"] = static_cast<int64_t>(N) * a.steps;
  // Share of the machine's CPU time that other processes used during the timed steps (0: the
  // machine was ours; 0.5 on 2 cores: one core's worth was busy elsewhere), and our own use.
  const double wall = 1e-9 * static_cast<double>(t_end - t_start);
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  j["cpu"] = {
      {"others_share",
       std::clamp(
           (cpu1.machine_busy - cpu0.machine_busy - (cpu1.self - cpu0.self)) / (wall * cores), 0.0,
           1.0)},
      {"self_cores", (cpu1.self - cpu0.self) / wall},
      // Tokens per second of this process's own CPU time: for one thread, close to the
      // throughput on an idle machine even when neighbours take turns on the cores.
      {"tok_per_cpu_s", static_cast<double>(N) * a.steps / std::max(cpu1.self - cpu0.self, 1e-9)}};
  return j;
}

// ---------------------------------------------------------------------------------------------
// --dump-run RUN_DIR --out PREFIX: what a run of `wdlab sweep` trained and evaluated on, for the
// PyTorch loop of bench/torch_sweep.py (so that both train on the same batches): PREFIX.bin holds
// int32 [steps][2][B][T] (tokens, targets of every step, in the run's order) then
// [eval batches][2][B][T] (the validation batches); PREFIX.json the model, optimizer and schedule.
// The data are built as the run built them (through the sweep's data cache when it is there).

int dump_run(const std::filesystem::path& run_dir, const std::string& prefix) {
  std::ifstream in(run_dir / "config.json");
  if (!in) throw std::runtime_error((run_dir / "config.json").string() + ": cannot read");
  json cfg = json::parse(in);
  cfg.erase("wdlab");
  wdlab::RunConfig rc = wdlab::parse_run_config(cfg);
  if (rc.data.source != "synthetic")
    throw std::runtime_error(run_dir.string() + ": --dump-run handles synthetic data only");
  const int B = rc.train.batch_size, T = rc.model.block_size, steps = rc.train.steps;
  const std::filesystem::path cache = run_dir.parent_path() / ".cache" / "data";
  const wdlab::TokenDataset data =
      std::filesystem::is_directory(cache)
          ? wdlab::cached_synthetic_dataset(rc.data.synthetic, rc.data.language_seed,
                                            rc.data.train_tokens, rc.data.val_tokens, T, cache)
          : wdlab::make_synthetic_dataset(rc.data.synthetic, rc.data.language_seed,
                                          rc.data.train_tokens, rc.data.val_tokens, T);
  rc.model.vocab_size = data.vocab_size;
  const int evals = std::min(rc.train.eval_batches, data.val_batches_available(B, T));
  const size_t N = static_cast<size_t>(B) * T;
  std::vector<int32_t> out;
  out.reserve((static_cast<size_t>(steps) + evals) * 2 * N);
  std::vector<int> tokens(N), targets(N);
  wdlab::BatchSampler sampler(data, B, T, rc.seed);
  for (int i = 0; i < steps; ++i) {
    sampler.next(tokens.data(), targets.data());
    out.insert(out.end(), tokens.begin(), tokens.end());
    out.insert(out.end(), targets.begin(), targets.end());
  }
  for (int i = 0; i < evals; ++i) {
    data.val_batch(i, B, T, tokens.data(), targets.data());
    out.insert(out.end(), tokens.begin(), tokens.end());
    out.insert(out.end(), targets.begin(), targets.end());
  }
  wdlab::write_file_atomic(
      prefix + ".bin",
      std::string_view(reinterpret_cast<const char*>(out.data()), out.size() * sizeof(int32_t)));
  wdlab::Transformer<float> probe(rc.model, 1);  // parameter count only
  const wdlab::OptimConfig& o = rc.optim;
  json spec = {{"run", run_dir.filename().string()},
               {"family", rc.model.family},
               {"B", B},
               {"T", T},
               {"params", probe.table().total()},
               {"model", model_json(rc)},
               {"steps", steps},
               {"eval_batches", evals},
               {"eval_every", rc.train.eval_every},
               {"log_every", rc.train.log_every},
               {"optim", rc.json["optim"]}};
  spec["optim"]["lr_total"] = o.schedule.total;
  wdlab::write_file_atomic(prefix + ".json", spec.dump(1) + "\n");
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Child: sgemm rates (row-major C = A op(B), the engine's wdlab::gemm), "M,N,K,tb;..." shapes.

json run_peak(int threads, const std::string& shape_list) {
  wdlab::blas_set_threads(threads);
  json out = json::array();
  wdlab::Rng rng(7, 0);
  for (const std::string& item : split(shape_list, ';')) {
    const std::vector<std::string> f = split(item, ',');
    if (f.size() != 4) throw std::runtime_error("bad gemm shape '" + item + "'");
    const int M = std::stoi(f[0]), Nn = std::stoi(f[1]), K = std::stoi(f[2]);
    const bool tb = f[3] == "t";
    std::vector<float> A(static_cast<size_t>(M) * K), Bm(static_cast<size_t>(K) * Nn),
        Cm(static_cast<size_t>(M) * Nn);
    for (float& x : A) x = static_cast<float>(rng.uniform() - 0.5);
    for (float& x : Bm) x = static_cast<float>(rng.uniform() - 0.5);
    auto call = [&] {
      wdlab::gemm(false, tb, M, Nn, K, 1.0f, A.data(), K, Bm.data(), tb ? K : Nn, 0.0f, Cm.data(),
                  Nn);
    };
    for (int i = 0; i < 3; ++i) call();
    // Repetitions per batch so that a batch lasts >= 40 ms; 5 batches.
    const auto c0 = Clock::now();
    call();
    const double once = std::max(seconds(c0, Clock::now()), 1e-7);
    const int reps = std::max(1, static_cast<int>(0.04 / once));
    std::vector<double> rates;
    const double flop = 2.0 * M * Nn * K;
    for (int b = 0; b < 5; ++b) {
      const auto t0 = Clock::now();
      for (int r = 0; r < reps; ++r) call();
      rates.push_back(flop * reps / seconds(t0, Clock::now()) / 1e9);
    }
    out.push_back({{"M", M},
                   {"N", Nn},
                   {"K", K},
                   {"op", tb ? "A B^T" : "A B"},
                   {"gflops", median(rates)},
                   {"gflops_max", *std::max_element(rates.begin(), rates.end())}});
  }
  return {{"threads", threads}, {"shapes", out}};
}

// ---------------------------------------------------------------------------------------------
// Parent: spawning children.

std::string self_exe() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

struct Child {
  pid_t pid = -1;
  int out_fd = -1;  // child's stdout
  int in_fd = -1;   // child's stdin (sync mode), else -1
  std::string buf;  // unread output
};

Child spawn(const std::vector<std::string>& args, bool with_stdin) {
  int out[2], in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  if (with_stdin && pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::vector<std::string> argv_s = {self_exe()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    if (with_stdin) dup2(in[0], STDIN_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  Child c;
  c.pid = pid;
  c.out_fd = out[0];
  if (with_stdin) {
    close(in[0]);
    c.in_fd = in[1];
  }
  return c;
}

// Next line of the child's stdout; false at EOF.
bool read_line(Child& c, std::string& line) {
  for (;;) {
    const size_t nl = c.buf.find('\n');
    if (nl != std::string::npos) {
      line = c.buf.substr(0, nl);
      c.buf.erase(0, nl + 1);
      return true;
    }
    char tmp[65536];
    const ssize_t n = read(c.out_fd, tmp, sizeof tmp);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (c.buf.empty()) return false;
      line = std::move(c.buf);
      c.buf.clear();
      return true;
    }
    c.buf.append(tmp, static_cast<size_t>(n));
  }
}

// Reads until "RESULT <json>" (or EOF), waits for the child. A failed child gives
// {"error": ...}.
json finish(Child& c) {
  json result;
  std::string line;
  while (read_line(c, line)) {
    if (line.rfind("RESULT ", 0) == 0) result = json::parse(line.substr(7));
  }
  close(c.out_fd);
  if (c.in_fd >= 0) close(c.in_fd);
  int status = 0;
  waitpid(c.pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || result.is_null()) {
    std::string why = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                          : "exit status " + std::to_string(WEXITSTATUS(status));
    return {{"error", "child failed: " + why}};
  }
  return result;
}

bool wait_ready(Child& c) {
  std::string line;
  while (read_line(c, line))
    if (line == "READY") return true;
  return false;
}

std::vector<std::string> one_args(const std::string& family, const std::string& shape, int threads,
                                  int warmup, int steps, bool sync) {
  std::vector<std::string> a = {"--one",
                                "--family",
                                family,
                                "--shape",
                                shape,
                                "--threads",
                                std::to_string(threads),
                                "--warmup",
                                std::to_string(warmup),
                                "--steps",
                                std::to_string(steps)};
  if (sync) a.push_back("--sync");
  return a;
}

// ---------------------------------------------------------------------------------------------
// Parent: machine description.

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

json machine() {
  json m;
  // The first processor's entry of /proc/cpuinfo: name, family/model, vector extensions.
  std::string cpu, family, model, flags;
  std::istringstream info(read_file("/proc/cpuinfo"));
  for (std::string line; std::getline(info, line) && !line.empty();) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (line.rfind("model name", 0) == 0) cpu = value;
    if (line.rfind("cpu family", 0) == 0) family = value;
    if (line.rfind("model\t", 0) == 0) model = value;
    if (line.rfind("flags", 0) == 0) flags = " " + value + " ";
  }
  std::string isa;
  for (const char* f : {"avx2", "fma", "avx512f", "avx512_bf16"})
    if (flags.find(" " + std::string(f) + " ") != std::string::npos)
      isa += (isa.empty() ? "" : " ") + std::string(f);
  m["cpu"] = cpu + " (family " + family + ", model " + model + "; " + isa + ")";
  m["cores"] = std::thread::hardware_concurrency();
  m["openblas_config"] = openblas_get_config();
  m["openblas_corename"] = openblas_get_corename();
  m["openblas_default_threads"] = openblas_get_num_threads();
  for (const char* v : {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                        "OMP_NUM_THREADS", "OMP_WAIT_POLICY"}) {
    const char* val = std::getenv(v);
    m["env"][v] = val ? json(val) : json(nullptr);
  }
  std::string load = read_file("/proc/loadavg");
  while (!load.empty() && load.back() == '\n') load.pop_back();
  m["loadavg_start"] = load;
  m["mem_total_kb"] = [] {
    std::istringstream mi(read_file("/proc/meminfo"));
    std::string k;
    long v = 0;
    mi >> k >> v;
    return v;
  }();
  return m;
}

// ---------------------------------------------------------------------------------------------
// Parent.

struct ParentArgs {
  std::vector<std::string> families = {"gpt2", "llama", "mixtral"};
  std::vector<std::string> shapes;  // empty: by --quick
  std::vector<std::string> pairs;   // "family:shape"; replaces families x shapes when given
  std::vector<int> threads = {1, 2};
  bool quick = false, sweep = true;
  int steps = 0, warmup = -1;  // overrides
  std::string out, models;
};

std::string fmt_k(double x) {
  char b[32];
  if (x >= 1e4) {
    std::snprintf(b, sizeof b, "%.1fk", x / 1e3);
  } else if (x >= 1e3) {
    std::snprintf(b, sizeof b, "%.2fk", x / 1e3);
  } else {
    std::snprintf(b, sizeof b, "%.0f", x);
  }
  return b;
}

int run_parent(const ParentArgs& p) {
  std::vector<const Shape*> shapes;
  if (p.shapes.empty()) {
    for (const Shape& s : all_shapes())
      if (s.only_families.empty() && (!p.quick || s.name == "tiny" || s.name == "small"))
        shapes.push_back(&s);
  } else {
    for (const std::string& n : p.shapes) shapes.push_back(&find_shape(n));
  }
  auto warmup_of = [&](const Shape& s) {
    return p.warmup >= 0 ? p.warmup : p.quick ? s.quick_warmup : s.warmup;
  };
  auto steps_of = [&](const Shape& s) {
    return p.steps > 0 ? p.steps : p.quick ? s.quick_steps : s.steps;
  };
  auto sweep_steps_of = [&](const Shape& s) {
    return p.steps > 0 ? p.steps : p.quick ? s.quick_steps : s.sweep_steps;
  };

  // The (family, shape) configurations, in table order: --pairs as given, else every family at
  // every shape it runs on.
  std::vector<std::pair<std::string, const Shape*>> configs;
  if (!p.pairs.empty()) {
    shapes.clear();
    for (const std::string& item : p.pairs) {
      const size_t colon = item.find(':');
      if (colon == std::string::npos)
        throw std::runtime_error("--pairs: '" + item + "' is not family:shape");
      const Shape* s = &find_shape(item.substr(colon + 1));
      configs.emplace_back(item.substr(0, colon), s);
      if (std::find(shapes.begin(), shapes.end(), s) == shapes.end()) shapes.push_back(s);
    }
  } else {
    for (const std::string& f : p.families)
      for (const Shape* s : shapes)
        if (runs_on(*s, f)) configs.emplace_back(f, s);
  }

  if (!p.models.empty()) {
    json models = json::array();
    for (const auto& [f, s] : configs) {
      {
        const wdlab::RunConfig rc = make_run_config(f, *s);
        wdlab::Transformer<float> probe(rc.model, 1);  // parameter count only
        models.push_back({{"family", f},
                          {"shape", s->name},
                          {"B", s->B},
                          {"T", s->T},
                          {"params", probe.table().total()},
                          {"graded_from", graded_from(*s)},
                          {"model", model_json(rc)},
                          {"optim",
                           {{"beta1", rc.optim.options.beta1},
                            {"beta2", rc.optim.options.beta2},
                            {"eps", rc.optim.options.eps},
                            {"weight_decay", rc.optim.options.weight_decay},
                            {"grad_clip", rc.optim.grad_clip},
                            {"lr", kLr}}}});
      }
    }
    wdlab::write_file_atomic(p.models, models.dump(2) + "\n");
    std::cerr << "wrote " << p.models << "\n";
    return 0;
  }

  json results;
  results["machine"] = machine();
  results["quick"] = p.quick;
  const auto t_begin = Clock::now();

  // sgemm rates: shapes of the models' products, plus narrow and square references.
  std::vector<std::array<int, 4>> gemms = {
      {2048, 64, 64, 1}, {512, 64, 64, 1}, {1024, 1024, 1024, 0}};
  for (const Shape* s : shapes) {
    const int M = s->B * s->T, C = s->C;
    for (std::array<int, 4> g :
         {std::array<int, 4>{M, 3 * C, C, 1}, {M, 4 * C, C, 1}, {M, C, 4 * C, 1}}) {
      if (std::find(gemms.begin(), gemms.end(), g) == gemms.end()) gemms.push_back(g);
    }
  }
  std::string gemm_list;
  for (const auto& g : gemms) {
    gemm_list += std::to_string(g[0]) + "," + std::to_string(g[1]) + "," + std::to_string(g[2]) +
                 "," + (g[3] ? "t" : "n") + ";";
  }
  json peaks = json::object();
  for (int t : p.threads) {
    std::cerr << "sgemm rates, " << t << " thread(s)..." << std::endl;
    Child c = spawn({"--peak", "--threads", std::to_string(t), "--gemms", gemm_list}, false);
    json r = finish(c);
    double best = 0;
    if (r.contains("shapes")) {
      for (const json& g : r["shapes"]) best = std::max(best, g["gflops"].get<double>());
      for (const json& g : r["shapes"]) {
        std::fprintf(stderr, "  %5d x %5d x %5d  %-6s %7.1f GFLOP/s\n", g["M"].get<int>(),
                     g["N"].get<int>(), g["K"].get<int>(), g["op"].get<std::string>().c_str(),
                     g["gflops"].get<double>());
      }
    }
    r["peak_gflops"] = best;
    peaks[std::to_string(t)] = r;
  }
  results["sgemm"] = peaks;

  // Per configuration, alone on the machine (as far as this process is concerned).
  json runs = json::array();
  for (const auto& [f, s] : configs) {
    {
      for (int t : p.threads) {
        std::cerr << f << " " << s->name << " " << t << "T: " << std::flush;
        Child c = spawn(one_args(f, s->name, t, warmup_of(*s), steps_of(*s), false), false);
        json r = finish(c);
        if (r.contains("error")) {
          r["family"] = f, r["shape"] = s->name, r["threads"] = t;
          std::cerr << r["error"].get<std::string>() << std::endl;
        } else {
          const double peak = peaks[std::to_string(t)]["peak_gflops"].get<double>();
          r["peak_gflops"] = peak;
          r["fraction_of_peak"] = peak > 0 ? r["gflops"].get<double>() / peak : 0.0;
          // The sgemm rate at this model's own product shapes (best of its three).
          double shape_best = 0;
          const int M = s->B * s->T;
          for (const json& g : peaks[std::to_string(t)]["shapes"]) {
            if (g["M"].get<int>() == M && (g["K"].get<int>() == s->C || g["N"].get<int>() == s->C))
              shape_best = std::max(shape_best, g["gflops"].get<double>());
          }
          r["shape_sgemm_gflops"] = shape_best;
          std::fprintf(stderr,
                       "%s tok/s (%s-%s), fwd %.1f bwd %.1f opt %.1f ms, %.1f GFLOP/s (%.0f%% of "
                       "%.0f), RSS %.0f MB (analytic %.0f MB)\n",
                       fmt_k(r["tok_s"]["median"]).c_str(), fmt_k(r["tok_s"]["min"]).c_str(),
                       fmt_k(r["tok_s"]["max"]).c_str(), r["ms"]["forward"].get<double>(),
                       r["ms"]["backward"].get<double>(), r["ms"]["optimizer"].get<double>(),
                       r["gflops"].get<double>(), 100 * r["fraction_of_peak"].get<double>(), peak,
                       r["rss"]["peak"].get<double>() / 1e6,
                       r["memory"]["total_bytes"].get<double>() / 1e6);
        }
        runs.push_back(r);
      }
    }
  }
  results["runs"] = runs;

  // Sweep throughput: two single-threaded runs side by side, their timed steps started together.
  // Aggregate = tokens of both / (last end - first start); compared with the 2-thread run above.
  json sweeps = json::array();
  if (p.sweep) {
    for (const auto& [f, s] : configs) {
      {
        std::cerr << f << " " << s->name << " 2 x 1T side by side: " << std::flush;
        const int steps = sweep_steps_of(*s);
        Child a = spawn(one_args(f, s->name, 1, warmup_of(*s), steps, true), true);
        Child b = spawn(one_args(f, s->name, 1, warmup_of(*s), steps, true), true);
        const bool ready_a = wait_ready(a), ready_b = wait_ready(b), ready = ready_a && ready_b;
        for (Child* c : {&a, &b}) {  // GO to both, or EOF: a child without GO exits
          if (ready) {
            const char go[] = "GO\n";
            if (write(c->in_fd, go, sizeof go - 1) < 0) std::cerr << "write failed ";
          }
          close(c->in_fd);
          c->in_fd = -1;
        }
        json ra = finish(a), rb = finish(b);
        json sw = {{"family", f}, {"shape", s->name}, {"steps", steps}};
        if (!ready || ra.contains("error") || rb.contains("error")) {
          sw["error"] = "side-by-side children failed";
          std::cerr << "failed" << std::endl;
        } else {
          const double span = 1e-9 * static_cast<double>(std::max(ra["t_end_ns"].get<int64_t>(),
                                                                  rb["t_end_ns"].get<int64_t>()) -
                                                         std::min(ra["t_start_ns"].get<int64_t>(),
                                                                  rb["t_start_ns"].get<int64_t>()));
          const double tokens = ra["timed_tokens"].get<double>() + rb["timed_tokens"].get<double>();
          sw["aggregate_tok_s"] = tokens / span;
          sw["sum_of_medians_tok_s"] =
              ra["tok_s"]["median"].get<double>() + rb["tok_s"]["median"].get<double>();
          sw["each_median_tok_s"] = {ra["tok_s"]["median"], rb["tok_s"]["median"]};
          sw["each_peak_rss"] = {ra["rss"]["peak"], rb["rss"]["peak"]};
          for (const json& r : runs) {
            if (r.value("family", "") == f && r.value("shape", "") == s->name &&
                r.value("threads", 0) == 2 && r.contains("tok_s")) {
              sw["two_thread_tok_s"] = r["tok_s"]["mean"];
              sw["two_thread_median_tok_s"] = r["tok_s"]["median"];
              sw["side_by_side_over_two_thread"] =
                  sw["aggregate_tok_s"].get<double>() / r["tok_s"]["mean"].get<double>();
            }
          }
          std::cerr << fmt_k(sw["aggregate_tok_s"]) << " tok/s aggregate";
          if (sw.contains("two_thread_tok_s"))
            std::cerr << " vs " << fmt_k(sw["two_thread_tok_s"]) << " for one 2T run";
          std::cerr << std::endl;
        }
        sweeps.push_back(sw);
      }
    }
  }
  results["sweep"] = sweeps;
  std::string load = read_file("/proc/loadavg");
  while (!load.empty() && load.back() == '\n') load.pop_back();
  results["machine"]["loadavg_end"] = load;
  results["elapsed_s"] = seconds(t_begin, Clock::now());
  if (!p.out.empty()) {
    wdlab::write_file_atomic(p.out, results.dump(1) + "\n");
    std::cerr << "wrote " << p.out << "\n";
  } else {
    std::cout << results.dump(1) << "\n";
  }
  return 0;
}

int usage() {
  std::cerr << "usage: wdlab_bench [--quick] [--families a,b] [--shapes tiny,small,base,large]\n"
               "                   [--pairs family:shape,...]\n"
               "                   [--threads 1,2] [--steps N] [--warmup N] [--no-sweep]\n"
               "                   [--out FILE]\n"
               "       wdlab_bench --models FILE [--quick] [--families ...] [--shapes ...]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto value = [&](size_t& i) -> std::string {
    if (i + 1 >= args.size()) throw std::runtime_error(args[i] + " needs a value");
    return args[++i];
  };
  std::signal(SIGPIPE, SIG_IGN);  // a child that died must not take the parent with it
  try {
    spdlog::set_level(spdlog::level::warn);
    bool one = false, peak = false;
    OneArgs oa;
    ParentArgs pa;
    int peak_threads = 1;
    std::string gemm_list, dump_dir;
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a == "--one") {
        one = true;
      } else if (a == "--peak") {
        peak = true;
      } else if (a == "--family") {
        oa.family = value(i);
      } else if (a == "--shape") {
        oa.shape = value(i);
      } else if (a == "--sync") {
        oa.sync = true;
      } else if (a == "--gemms") {
        gemm_list = value(i);
      } else if (a == "--threads") {
        const std::string v = value(i);
        oa.threads = peak_threads = std::stoi(v);
        pa.threads.clear();
        for (const std::string& t : split(v, ',')) pa.threads.push_back(std::stoi(t));
      } else if (a == "--warmup") {
        oa.warmup = pa.warmup = std::stoi(value(i));
      } else if (a == "--steps") {
        oa.steps = pa.steps = std::stoi(value(i));
      } else if (a == "--families") {
        pa.families = split(value(i), ',');
      } else if (a == "--shapes") {
        pa.shapes = split(value(i), ',');
      } else if (a == "--dump-run") {
        dump_dir = value(i);
      } else if (a == "--pairs") {
        pa.pairs = split(value(i), ',');
      } else if (a == "--quick") {
        pa.quick = true;
      } else if (a == "--no-sweep") {
        pa.sweep = false;
      } else if (a == "--out") {
        pa.out = value(i);
      } else if (a == "--models") {
        pa.models = value(i);
      } else if (a == "-h" || a == "--help") {
        return usage();
      } else {
        std::cerr << "unknown argument '" << a << "'\n";
        return usage();
      }
    }
    if (!dump_dir.empty()) {
      if (pa.out.empty()) throw std::runtime_error("--dump-run needs --out PREFIX");
      return dump_run(dump_dir, pa.out);
    }
    if (one) {
      if (oa.steps < 1 || oa.warmup < 0) throw std::runtime_error("--steps >= 1, --warmup >= 0");
      emit(run_one(oa));
      return 0;
    }
    if (peak) {
      emit(run_peak(peak_threads, gemm_list));
      return 0;
    }
    return run_parent(pa);
  } catch (const std::exception& e) {
    std::cerr << "wdlab_bench: " << e.what() << "\n";
    return 1;
  }
}
