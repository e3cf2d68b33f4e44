// A run's checkpoint: everything continuing it bit for bit needs, after update `step`.
//
//   <run dir>/checkpoint.safetensors, replaced atomically (a torn write never replaces a good one)
//     tensors   the parameters under their PyTorch names, and the optimizer state under the
//               names of torch.optim's state: "optimizer.exp_avg.<name>" and
//               "optimizer.exp_avg_sq.<name>" (Adam), "optimizer.momentum_buffer.<name>" (SGD)
//     metadata  "format": "wdlab-checkpoint-1", "config_id", "step", "wdlab_version", and
//               "progress": JSON of RunProgress (the loop's state: RNGs, best loss, log lengths)
//
// The trainer writes one every train.checkpoint_every steps or train.checkpoint_minutes of
// training, and when it is stopped (SIGINT, SIGTERM); a finished or diverged run removes it.
//
//   save_checkpoint(dir, id, table, params, optimizer, progress);
//   RunProgress p = load_checkpoint(dir, id, table, params, optimizer);  // errors name the file
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/param_table.h"
#include "core/rng.h"
#include "optim/optimizer.h"
#include "run/train_step.h"

namespace wdlab {

inline constexpr const char* kCheckpointFile = "checkpoint.safetensors";

struct RunProgress {
  int step = 0;             // updates done: the run continues with update step + 1
  double train_loss = 0.0;  // of the last update
  double val_loss = 0.0;    // of the last evaluation
  double best_val = 0.0;    // lowest evaluation so far, and its step
  int best_step = 0;
  TrainStep::State train_step;  // the divergence test's reference and the decay budget
  Rng::State batches;           // training-data order
  Rng::State dropout;           // dropout masks
  uint64_t metrics_bytes = 0;   // metrics.jsonl up to this step
  uint64_t tensor_norms_bytes = 0;
  double wall_seconds = 0.0;    // training time up to this step
  int threads = 1;              // the results depend on it by fp32 rounding
  std::vector<int> resumed_at;  // steps that earlier resumes continued from
};

void save_checkpoint(const std::filesystem::path& run_dir, const std::string& config_id,
                     const ParamTable& table, const float* params, const Optimizer& optimizer,
                     const RunProgress& progress);

// Loads <run_dir>/checkpoint.safetensors into params and the optimizer. It must belong to this
// config (config_id) and model (every tensor, shape and optimizer moment); nothing is changed when
// a check fails.
RunProgress load_checkpoint(const std::filesystem::path& run_dir, const std::string& config_id,
                            const ParamTable& table, float* params, Optimizer& optimizer);

// The checkpoint's config id and step from its header alone; nullopt when there is none or it
// cannot be read (the sweep then runs the run from the start).
struct CheckpointInfo {
  std::string config_id;
  int step = 0;
};
std::optional<CheckpointInfo> peek_checkpoint(const std::filesystem::path& run_dir);

void remove_checkpoint(const std::filesystem::path& run_dir);

}  // namespace wdlab
