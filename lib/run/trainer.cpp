#include "run/trainer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "core/rng.h"
#include "core/sha256.h"
#include "core/subnormals.h"
#include "data/modular_arithmetic.h"
#include "data/synthetic_cache.h"
#include "data/synthetic_language.h"
#include "io/atomic_file.h"
#include "io/metrics_log.h"
#include "io/safetensors.h"
#include "io/tensorboard_events.h"
#include "optim/grad_clip.h"
#include "run/checkpoint.h"
#include "run/run_record.h"
#include "run/tensorboard_tags.h"
#include "run/train_step.h"

namespace wdlab {
namespace {
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string human_count(double x) {
  if (x >= 1e6) return fmt::format("{:.2f}M", x / 1e6);
  if (x >= 1e3) return fmt::format("{:.1f}k", x / 1e3);
  return fmt::format("{:.0f}", x);
}

std::string human_time(double s) {
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{:.0f}m{:02.0f}s", std::floor(s / 60), std::fmod(s, 60));
  return fmt::format("{:.0f}h{:02.0f}m", std::floor(s / 3600), std::fmod(s / 60, 60));
}

// The first step of the metrics rows in the file's first `bytes` bytes whose `key` is at least
// `threshold`, or -1: what a resumed run had already seen.
int first_step_reaching(const std::filesystem::path& path, uint64_t bytes, const char* key,
                        double threshold) {
  std::ifstream in(path, std::ios::binary);
  std::string text(bytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(bytes));
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const json row = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (row.is_object() && row.contains(key) && row[key].is_number() &&
        row[key].get<double>() >= threshold && row.contains("step")) {
      return row["step"].get<int>();
    }
  }
  return -1;
}

}  // namespace

Trainer::Trainer(RunConfig config, int threads, const std::filesystem::path& data_cache)
    : config_(std::move(config)), threads_(threads) {
  const int T = config_.model.block_size;
  if (config_.data.source == "text") {
    data_ = load_text_dataset(config_.data.path, config_.data.val_fraction, T);
  } else if (config_.data.source == "modular") {
    data_ = make_modular_dataset(config_.data.modular, config_.seed);  // the split: the run seed's
  } else if (!data_cache.empty()) {
    data_ =
        cached_synthetic_dataset(config_.data.synthetic, config_.data.language_seed,
                                 config_.data.train_tokens, config_.data.val_tokens, T, data_cache);
  } else {
    data_ = make_synthetic_dataset(config_.data.synthetic, config_.data.language_seed,
                                   config_.data.train_tokens, config_.data.val_tokens, T);
  }
  config_.model.vocab_size = data_.vocab_size;
  model_ = std::make_unique<Transformer<float>>(
      config_.model, data_.batch_size(config_.train.batch_size), threads_);
  model_->init_weights(config_.seed);
  DecayPlan plan =
      build_decay_plan(model_->table(), config_.optim.decay_scope, config_.optim.decay_rules);
  optimizer_ = std::make_unique<Optimizer>(model_->table(), std::move(plan), config_.optim.options);
}

std::string Trainer::id() const {
  return config_id(config_.json,
                   init_from_.is_null() ? std::string() : init_from_["sha256"].get<std::string>());
}

void Trainer::resume_from(const std::filesystem::path& run_dir, const json& init_from) {
  WD_CHECK(init_from_.is_null(),
           "--resume and --init-from exclude each other: a resumed run "
           "continues from its checkpoint");
  if (!init_from.is_null()) {
    const auto sha = init_from.is_object() ? init_from.find("sha256") : init_from.end();
    WD_CHECK(sha != init_from.end() && sha->is_string() && sha->get<std::string>().size() == 64,
             "{}: \"wdlab\".\"init_from\": expected {{\"path\": ..., \"sha256\": <64 hex "
             "digits>}}, got {}",
             (run_dir / "config.json").string(), init_from.dump());
    init_from_ = init_from;
  }
  resume_ = load_checkpoint(run_dir, id(), model_->table(), model_->params().data(), *optimizer_);
  WD_CHECK(resume_->step < config_.train.steps,
           "{}: the checkpoint is at step {}, the run has {} steps: nothing left to train",
           (run_dir / kCheckpointFile).string(), resume_->step, config_.train.steps);
}

void Trainer::load_initial_weights(const std::filesystem::path& checkpoint) {
  WD_CHECK(!resume_, "--resume and --init-from exclude each other");
  load_safetensors(checkpoint, model_->table(), model_->params().data());
  // A NaN or Inf would only show up as a divergence at step 1: refuse it here, by name.
  require_finite(model_->table(), model_->params().data(), checkpoint.string());
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(checkpoint, ec);
  init_from_ = {{"path", (ec ? checkpoint : absolute).lexically_normal().string()},
                {"sha256", sha256_file(checkpoint)}};
}

Trainer::SplitEval Trainer::evaluate_split(bool validation) {
  WD_CHECK(data_.examples, "evaluate_split: the data are streams, not examples");
  const ExampleSet& e = *data_.examples;
  const std::vector<int>& set = validation ? e.val : e.train;
  const int B = data_.batch_size(config_.train.batch_size), T = e.length - 1, n = e.count(set);
  std::vector<int> tokens(static_cast<size_t>(B) * T), targets(tokens.size());
  double loss_sum = 0.0;
  int64_t counted = 0, correct = 0;
  for (int first = 0; first < n; first += B) {
    const int rows = std::min(B, n - first);
    e.batch(set, first, rows, tokens.data(), targets.data());
    const ModelLoss l = model_->forward(tokens.data(), targets.data(), rows, T, nullptr);
    loss_sum += l.ce * l.counted, counted += l.counted, correct += l.correct;
  }
  SplitEval r;
  if (counted > 0) {
    r.loss = loss_sum / static_cast<double>(counted);
    r.accuracy = static_cast<double>(correct) / static_cast<double>(counted);
  }
  return r;
}

double Trainer::evaluate() {
  if (data_.examples) return evaluate_split(true).loss;
  const int B = config_.train.batch_size, T = config_.model.block_size;
  const int batches = std::min(config_.train.eval_batches, data_.val_batches_available(B, T));
  std::vector<int> tokens(static_cast<size_t>(B) * T), targets(tokens.size());
  double sum = 0.0;
  for (int i = 0; i < batches; ++i) {
    data_.val_batch(i, B, T, tokens.data(), targets.data());
    sum += model_->forward(tokens.data(), targets.data(), B, T, nullptr).ce;
  }
  return sum / batches;
}

json Trainer::param_groups_json() const {
  const ParamTable& table = model_->table();
  const DecayPlan& plan = optimizer_->plan();
  // AdamC decays the normalized layers by lr_t² / lr_peak and the rest by lr_t: say which is
  // which (only in adamc runs, so other runs' param_groups.json stay as they were).
  const OptimizerOptions& o = config_.optim.options;
  const bool adamc = o.decay_mode == DecayMode::decoupled && is_adamc(o.decay_scaling);
  json tensors = json::array();
  for (size_t i = 0; i < table.size(); ++i) {
    json row = {{"name", table[i].name},
                {"shape", table[i].shape},
                {"kind", std::string(to_string(table[i].kind))},
                {"decay", static_cast<bool>(plan.decays[i])}};
    if (adamc && plan.decays[i])
      row["decay_scaling"] = optimizer_->adamc_tensors()[i] ? "adamc" : "lr";
    tensors.push_back(row);
  }
  const double wd = config_.optim.options.weight_decay;
  const bool decaying = config_.optim.options.decay_mode != DecayMode::none;
  return {{"decay_scope", std::string(to_string(config_.optim.decay_scope))},
          {"groups",
           {{{"name", "decay"},
             {"weight_decay", decaying ? wd : 0.0},
             {"tensors", plan.decay.tensors.size()},
             {"parameters", plan.decay.numel}},
            {{"name", "no_decay"},
             {"weight_decay", 0.0},
             {"tensors", plan.no_decay.tensors.size()},
             {"parameters", plan.no_decay.numel}}}},
          {"tensors", tensors}};
}

json Trainer::run(const std::filesystem::path& run_dir, const std::atomic<bool>* stop) {
  const FlushSubnormals flush;  // training and evaluation alike (core/subnormals.h)
  const RunConfig& c = config_;
  const int B = data_.batch_size(c.train.batch_size), T = c.model.block_size, steps = c.train.steps;
  const size_t tokens_per_step = static_cast<size_t>(B) * T;
  Transformer<float>& model = *model_;
  const ParamTable& table = model.table();
  const DecayPlan& plan = optimizer_->plan();
  const std::string id = this->id();
  // The run's clock: "time_s" of metrics.jsonl and wall_seconds; a resumed run continues it.
  const auto t_start = Clock::now();
  const double wall_before = resume_ ? resume_->wall_seconds : 0.0;
  auto run_seconds = [&] { return wall_before + seconds_since(t_start); };

  json config_out = c.json;
  config_out["wdlab"] = {{"version", WDLAB_VERSION},  {"config_id", id},
                         {"threads", threads_},       {"vocab_size", data_.vocab_size},
                         {"data", data_.description}, {"parameters", table.total()},
                         {"save", save_final_},       {"tensorboard", tensorboard_}};
  if (!init_from_.is_null()) config_out["wdlab"]["init_from"] = init_from_;
  write_file_atomic(run_dir / "config.json", config_out.dump(2) + "\n");
  RunRecord record(argv_, threads_);
  record.begin(run_dir, id, init_from_, resume_ ? resume_->step : 0);
  write_file_atomic(run_dir / "param_groups.json", param_groups_json().dump(2) + "\n");

  spdlog::info("data: {}", data_.description);
  spdlog::info("model: {}; {} parameters", describe(c.model), human_count(table.total()));
  spdlog::info("optimizer: {} lr {} decay_mode {} decay_scaling {} weight_decay {} scope {}",
               to_string(c.optim.options.kind), c.optim.schedule.peak,
               to_string(c.optim.options.decay_mode), to_string(c.optim.options.decay_scaling),
               c.optim.options.weight_decay, to_string(c.optim.decay_scope));
  spdlog::info("num decayed parameter tensors: {}, with {} parameters", plan.decay.tensors.size(),
               plan.decay.numel);
  spdlog::info("num non-decayed parameter tensors: {}, with {} parameters",
               plan.no_decay.tensors.size(), plan.no_decay.numel);
  if (optimizer_->has_lr_scaled_decay()) {
    size_t n = 0, numel = 0;
    for (size_t i : plan.decay.tensors) {
      if (optimizer_->adamc_tensors()[i]) continue;
      ++n, numel += table[i].numel;
    }
    spdlog::info(
        "adamc: {} decayed tensors ({} parameters) are not normalized layers and keep "
        "lr_t scaling (param_groups.json)",
        n, numel);
  }

  // A resumed run continues its logs where its checkpoint was written; the lines after it (of
  // steps it will now train again) are dropped.
  MetricsLog metrics = resume_ ? MetricsLog(run_dir / "metrics.jsonl", resume_->metrics_bytes)
                               : MetricsLog(run_dir / "metrics.jsonl");
  // With --tensorboard, every metrics row also goes to an events file, under its tag
  // (run/tensorboard_tags.h); a resumed run cuts the events after its checkpoint the same way.
  std::optional<TensorBoardEvents> events;
  if (tensorboard_) {
    events.emplace(run_dir, resume_ ? std::optional<int64_t>(resume_->step) : std::nullopt);
    spdlog::info("tensorboard: {}", events->path().string());
  }
  TensorBoardScalars scalars;
  auto log_row = [&](json row) {
    row["time_s"] = run_seconds();
    metrics.append(row);
    if (!events) return;
    const std::vector<ScalarValue> values = scalars.of(row);
    if (!values.empty()) events->write_scalars(row["step"].get<int64_t>(), values);
  };
  BatchSampler sampler(data_, B, T, c.seed);
  Rng dropout_rng(c.seed, RngStream::dropout);
  std::vector<int> tokens(tokens_per_step), targets(tokens_per_step);

  auto group_norm = [&](bool decayed) {
    double sum = 0.0;
    for (size_t i = 0; i < table.size(); ++i) {
      if (plan.decays[i] != decayed) continue;
      const float* w = model.params().data() + table[i].offset;
      for (size_t k = 0; k < table[i].numel; ++k) sum += double(w[k]) * w[k];
    }
    return std::sqrt(sum);
  };
  const bool decoupled = c.optim.options.decay_mode == DecayMode::decoupled;
  // Per parameter kind: norm.<kind> (and with the step's statistics grad_norm.<kind>, the loss
  // gradient before clipping, and update_rel.<kind> = ‖Δw‖/‖w‖), for the kinds the model has.
  auto add_kind_stats = [&](json& row, const KindStats& k, bool step_stats) {
    for (size_t i = 0; i < KindStats::kKinds; ++i) {
      if (!k.present[i]) continue;
      const std::string kind(to_string(static_cast<ParamKind>(i)));
      row["norm." + kind] = k.norm[i];
      if (step_stats) {
        row["grad_norm." + kind] = k.grad_norm[i];
        row["update_rel." + kind] = k.update_rel[i];
      }
    }
  };
  // Every tensor's norm at every evaluation, in a file of its own (tensor_norms.jsonl); when the
  // evaluation's step was also a logged (measured) one, the step's update per tensor too
  // (TensorUpdate: update_rel, update_rms, update_cos, each an object by tensor name).
  MetricsLog tensor_norms =
      resume_ ? MetricsLog(run_dir / "tensor_norms.jsonl", resume_->tensor_norms_bytes)
              : MetricsLog(run_dir / "tensor_norms.jsonl");
  auto tensor_norms_row = [&](int step) {
    json norms = json::object();
    for (const ParamInfo& p : table) {
      norms[p.name] = l2_norm(model.params().data() + p.offset, p.numel);
    }
    return json{{"step", step}, {"norms", norms}};
  };
  auto add_tensor_updates = [&](json& row, const std::vector<TensorUpdate>& updates) {
    json rel = json::object(), rms = json::object(), cos = json::object();
    for (size_t i = 0; i < updates.size(); ++i) {
      rel[table[i].name] = updates[i].update_rel;
      rms[table[i].name] = updates[i].update_rms;
      cos[table[i].name] = updates[i].update_cos;
    }
    row["update_rel"] = rel, row["update_rms"] = rms, row["update_cos"] = cos;
  };
  auto eval_row = [&](int step, double val_loss) {
    json row = {{"step", step},
                {"tokens", static_cast<uint64_t>(step) * tokens_per_step},
                {"val_loss", val_loss}};
    if (data_.window_floor) row["val_minus_floor"] = val_loss - *data_.window_floor;
    return row;
  };

  std::string status = "finished";
  int diverged_step = -1, steps_done = 0, best_step = 0;
  double train_loss = 0.0, val_loss = 0.0, best_val = 0.0;
  std::vector<int> resumed_at;
  TrainStep train_step(model, *optimizer_, c.optim.schedule, c.optim.grad_clip);
  // Examples (data.source=modular): every evaluation also grades both splits exactly. The first
  // evaluation step with val_acc >= kGrokkedAccuracy is when the run generalised.
  constexpr double kGrokkedAccuracy = 0.99;
  double train_acc = 0.0, val_acc = 0.0;
  int grokked_step = -1;
  auto accuracy_text = [&] {
    return data_.examples ? fmt::format(" | acc train {:.4f} val {:.4f}", train_acc, val_acc)
                          : std::string();
  };
  // The evaluation at `step`: its metrics row, and val_loss (and the accuracies) updated.
  auto evaluate_now = [&](int step) {
    if (!data_.examples) {
      val_loss = evaluate();
      return eval_row(step, val_loss);
    }
    const SplitEval val = evaluate_split(true), train = evaluate_split(false);
    val_loss = val.loss, val_acc = val.accuracy, train_acc = train.accuracy;
    if (grokked_step < 0 && val_acc >= kGrokkedAccuracy) grokked_step = step;
    json row = eval_row(step, val_loss);
    row["val_acc"] = val_acc;
    row["train_acc"] = train_acc;
    row["train_eval_loss"] = train.loss;
    return row;
  };
  if (resume_) {
    const RunProgress& p = *resume_;
    steps_done = p.step, train_loss = p.train_loss, val_loss = p.val_loss;
    best_val = p.best_val, best_step = p.best_step;
    train_step.restore(p.train_step);
    sampler.restore(p.batches);
    dropout_rng.restore(p.dropout);
    resumed_at = p.resumed_at;
    resumed_at.push_back(p.step);
    if (data_.examples) {
      grokked_step = first_step_reaching(run_dir / "metrics.jsonl", p.metrics_bytes, "val_acc",
                                         kGrokkedAccuracy);
    }
    if (p.threads != threads_) {
      spdlog::warn(
          "resuming with {} threads, the run started with {}: the results differ from "
          "an uninterrupted run's by fp32 rounding",
          threads_, p.threads);
    }
    spdlog::info("resuming from the checkpoint at step {}/{}", p.step, steps);
  } else {
    log_row(evaluate_now(0));
    best_val = val_loss;
    tensor_norms.append(tensor_norms_row(0));
    spdlog::info("step {:>5}/{} | val {:.4f}{}", 0, steps, val_loss, accuracy_text());
  }

  auto t_log = Clock::now(), t_checkpoint = t_log;
  int log_from_step = steps_done, checkpoint_step = resume_ ? steps_done : 0;
  // Everything after update steps_done, so that a resume continues bit for bit.
  auto write_checkpoint = [&] {
    RunProgress p;
    p.step = steps_done, p.train_loss = train_loss, p.val_loss = val_loss;
    p.best_val = best_val, p.best_step = best_step;
    p.train_step = train_step.state();
    p.batches = sampler.state(), p.dropout = dropout_rng.state();
    p.metrics_bytes = metrics.bytes(), p.tensor_norms_bytes = tensor_norms.bytes();
    p.wall_seconds = run_seconds();
    p.threads = threads_;
    p.resumed_at = resumed_at;
    save_checkpoint(run_dir, id, table, model.params().data(), *optimizer_, p);
    checkpoint_step = steps_done;
    t_checkpoint = Clock::now();
  };
  for (int step = steps_done + 1; step <= steps; ++step) {
    if (stop && stop->load()) {
      status = "interrupted";
      // SIGINT / SIGTERM (a scheduler's preemption): keep the finished steps.
      if (steps_done > checkpoint_step) {
        write_checkpoint();
        spdlog::info("checkpoint at step {} written; `wdlab run --resume {}` continues", steps_done,
                     run_dir.string());
      }
      break;
    }
    sampler.next(tokens.data(), targets.data());
    const bool last = step == steps;
    const bool log_step = step % c.train.log_every == 0 || last;
    const StepResult r = train_step.run(step, tokens.data(), targets.data(), B, T,
                                        c.model.dropout > 0 ? &dropout_rng : nullptr, log_step);
    train_loss = r.loss.ce;
    if (r.diverged) {
      status = "diverged";
      diverged_step = step;
      spdlog::warn("step {}: diverged (loss {}, grad norm {}); stopping", step, train_loss,
                   r.grad_norm);
      log_row({{"step", step},
               {"train_loss", std::isfinite(train_loss) ? json(train_loss) : json()},
               {"grad_norm", std::isfinite(r.grad_norm) ? json(r.grad_norm) : json()},
               {"diverged", true}});
      break;
    }
    steps_done = step;

    if (log_step) {
      const double dt = seconds_since(t_log);
      const double tok_s = (step - log_from_step) * tokens_per_step / std::max(dt, 1e-9);
      t_log = Clock::now();
      log_from_step = step;
      json row = {{"step", step},
                  {"tokens", static_cast<uint64_t>(step) * tokens_per_step},
                  {"train_loss", train_loss},
                  {"lr", r.lr},
                  {"grad_norm", r.grad_norm},
                  {"norm_decay", group_norm(true)},
                  {"norm_no_decay", group_norm(false)},
                  {"tokens_per_s", tok_s}};
      if (decoupled) {
        row["wd_step"] = r.decay_step;
        row["wd_budget"] = r.decay_budget;
        if (optimizer_->has_lr_scaled_decay()) {
          row["wd_step_lr"] = r.decay_step_lr;
          row["wd_budget_lr"] = r.decay_budget_lr;
        }
      }
      add_kind_stats(row, r.kinds, true);
      if (c.model.z_loss > 0) row["z_loss"] = r.loss.z_loss;
      if (c.model.is_moe()) row["aux_loss"] = r.loss.aux;
      log_row(row);
      const double elapsed = seconds_since(t_start);
      spdlog::info("step {:>5}/{} | loss {:.4f} | lr {:.2e} | {} tok/s | ETA {}", step, steps,
                   train_loss, r.lr, human_count(tok_s),
                   human_time(elapsed / step * (steps - step)));
    }
    if (step % c.train.eval_every == 0 || last) {
      const json row = evaluate_now(step);
      if (val_loss < best_val) best_val = val_loss, best_step = step;
      log_row(row);
      json norms_row = tensor_norms_row(step);
      if (r.measured) add_tensor_updates(norms_row, r.tensors);
      tensor_norms.append(norms_row);
      spdlog::info("step {:>5}/{} | val {:.4f}{}{}", step, steps, val_loss,
                   data_.window_floor
                       ? fmt::format(" ({:+.4f} above the floor)", val_loss - *data_.window_floor)
                       : std::string(),
                   accuracy_text());
    }
    const bool by_steps = c.train.checkpoint_every > 0 && step % c.train.checkpoint_every == 0;
    const bool by_time = c.train.checkpoint_minutes > 0 &&
                         seconds_since(t_checkpoint) >= 60.0 * c.train.checkpoint_minutes;
    if (!last && (by_steps || by_time)) write_checkpoint();
  }
  const double wall = run_seconds();
  // A completed run (finished or diverged) needs no checkpoint; an interrupted one keeps it.
  if (status != "interrupted") remove_checkpoint(run_dir);

  json summary = {{"status", status},
                  {"steps", steps_done},
                  {"steps_planned", steps},
                  {"final_train_loss", train_loss},
                  {"final_val_loss", val_loss},
                  {"best_val_loss", best_val},
                  {"best_val_step", best_step},
                  {"decay_budget", decoupled ? json(train_step.decay_budget())
                                   : c.optim.options.decay_mode == DecayMode::none ? json(0.0)
                                                                                   : json()},
                  {"norm_decay", group_norm(true)},
                  {"norm_no_decay", group_norm(false)},
                  {"wall_seconds", wall},
                  {"tokens_per_s", steps_done * tokens_per_step / std::max(wall, 1e-9)},
                  {"resumed_at", resumed_at},
                  {"config_id", id},
                  {"wdlab_version", WDLAB_VERSION}};
  if (optimizer_->has_lr_scaled_decay()) summary["decay_budget_lr"] = train_step.decay_budget_lr();
  add_kind_stats(summary, train_step.norms(), false);
  if (data_.entropy_rate) {
    summary["entropy_rate"] = *data_.entropy_rate;
    summary["window_floor"] = *data_.window_floor;
    summary["final_val_minus_floor"] = val_loss - *data_.window_floor;
  }
  if (data_.examples) {
    summary["final_train_acc"] = train_acc;
    summary["final_val_acc"] = val_acc;
    summary["steps_to_val_acc_99"] = grokked_step >= 0 ? json(grokked_step) : json();
  }
  if (diverged_step >= 0) summary["diverged_step"] = diverged_step;
  if (save_final_) {
    save_safetensors(run_dir / "model.safetensors", table, model.params().data(),
                     {{"config", c.json.dump()},
                      {"step", std::to_string(steps_done)},
                      {"wdlab_version", WDLAB_VERSION}});
  }
  record.end(status);  // before summary.json, the file that marks the run complete
  write_file_atomic(run_dir / "summary.json", summary.dump(2) + "\n");
  spdlog::info("{}: {} steps in {}, final val loss {:.4f} (best {:.4f} at step {})", status,
               steps_done, human_time(wall), val_loss, best_val, best_step);
  return summary;
}

}  // namespace wdlab
