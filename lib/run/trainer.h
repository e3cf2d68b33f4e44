// One training run, from a resolved config to a run directory.
//
//   Trainer trainer(parse_run_config(cfg));   // loads data, builds model + optimizer; may throw
//   create_run_dir(dir, false);               // only after everything validated
//   nlohmann::json summary = trainer.run(dir, &stop_requested);
//
// Writes config.json (resolved, with wdlab's version and the config id, and the --init-from file
// and its SHA-256 when there is one), run.json (where the run came from: run/run_record.h),
// param_groups.json (which tensors decay), metrics.jsonl (one line per logged step / eval, each
// with "time_s", the seconds since the run started) and, at the end, summary.json
// with status "finished", "diverged" (NaN/Inf or exploding loss; the step is recorded) or
// "interrupted" (stop flag raised). summary.json is the last file written, atomically.
// checkpoint.safetensors (run/checkpoint.h) is written on the config's checkpoint schedule and
// when stopped, and removed when the run completes.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "model/transformer.h"
#include "optim/optimizer.h"
#include "run/checkpoint.h"
#include "run/config.h"

namespace wdlab {

class Trainer {
 public:
  // data_cache: a directory where synthetic data are cached across runs (data/synthetic_cache.h;
  // `wdlab sweep` gives its runs one), or empty for none. The data are the same bits either way.
  explicit Trainer(RunConfig config, int threads = 1, const std::filesystem::path& data_cache = {});

  // Continues the run in run_dir from its checkpoint (run/checkpoint.h): weights, optimizer state,
  // RNGs and logs as they were after the checkpoint's step. The checkpoint must belong to this
  // config. Call before run(run_dir); the rest of the run is bit for bit the uninterrupted one's
  // with the same thread count (timings aside).
  // `init_from` is the run's config.json "wdlab"."init_from" (null when it started from the seed's
  // init): it is part of the config id the checkpoint must carry.
  void resume_from(const std::filesystem::path& run_dir, const nlohmann::json& init_from = nullptr);

  // Replaces the initial weights with a checkpoint's (safetensors, the table's names and shapes,
  // every value finite). Call before run(); errors name the file and tensor. The file's SHA-256
  // enters the config id: a run from these weights is another run than one from the seed's.
  void load_initial_weights(const std::filesystem::path& checkpoint);
  // Also write the final weights to <run_dir>/model.safetensors, with the resolved config, the
  // step and wdlab's version in its metadata.
  void save_final_weights(bool save) { save_final_ = save; }
  // Also write every metrics row as TensorBoard scalars (io/tensorboard_events.h) into
  // <run_dir>/events.out.tfevents.*; recorded in config.json so that a resume keeps doing it.
  void write_tensorboard(bool on) { tensorboard_ = on; }
  // The command line to record in run.json (empty when the trainer is used as a library).
  void record_command_line(std::vector<std::string> argv) { argv_ = std::move(argv); }

  nlohmann::json run(const std::filesystem::path& run_dir, const std::atomic<bool>* stop = nullptr);

  const RunConfig& config() const { return config_; }
  // config_id of the config and, with --init-from, of the initial weights' SHA-256.
  std::string id() const;
  const TokenDataset& data() const { return data_; }
  Transformer<float>& model() { return *model_; }
  const DecayPlan& plan() const { return optimizer_->plan(); }

  // Mean validation loss over the configured number of validation batches (streams), or over
  // every validation example (examples).
  double evaluate();
  // Examples only (data.source=modular): loss and accuracy over every example of one split,
  // exactly, in batches the model holds.
  struct SplitEval {
    double loss = 0.0;
    double accuracy = 0.0;
  };
  SplitEval evaluate_split(bool validation);
  // Table of every tensor with its kind and group, plus counts (param_groups.json).
  nlohmann::json param_groups_json() const;

 private:
  RunConfig config_;
  int threads_;
  bool save_final_ = false;
  bool tensorboard_ = false;
  nlohmann::json init_from_;  // {"path", "sha256"} of --init-from, or null
  std::vector<std::string> argv_;
  std::optional<RunProgress> resume_;
  TokenDataset data_;
  std::unique_ptr<Transformer<float>> model_;
  std::unique_ptr<Optimizer> optimizer_;
};

}  // namespace wdlab
