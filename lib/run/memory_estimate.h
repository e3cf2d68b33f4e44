// A run's peak memory, estimated from its config before anything is allocated, so that a model
// that cannot fit is refused with both numbers instead of dying in std::bad_alloc or swapping for
// minutes. `wdlab run` checks it (--allow-large skips the check), `wdlab config` prints it.
//
// The peak is the larger of two phases, on top of the process itself and the token streams:
//   making the data   the synthetic language's tables (or the text file's bytes), transient
//   training          parameters, gradients, the optimizer's moments and the copy of the
//                     weights a measured step keeps (4 bytes x P each); per worker its
//                     activations and backward buffers (model/step_cost.h, for its share of the
//                     batch) and, after the first, its own gradient arena; and a checkpoint
//                     file's bytes (weights and moments) while one is written, which any run
//                     may do (a schedule, or SIGTERM), or twice that while --resume reads one
//
//   const MemoryEstimate need = estimate_run_memory(config, {.threads = 2});
//   check_memory(need, available_memory());  // throws naming both numbers
#pragma once

#include <algorithm>
#include <string>

#include "core/available_memory.h"
#include "run/config.h"

namespace wdlab {

struct RunMemoryOptions {
  int threads = 1;
  bool resume = false;  // --resume: the checkpoint file and its tensors are in memory at once
};

struct MemoryEstimate {
  double parameters = 0;    // P
  double process = 0;       // the executable, its libraries and OpenBLAS's buffers (measured)
  double data = 0;          // the training and validation token streams, kept for the run
  double data_build = 0;    // transient while the data is made
  double state = 0;         // weights, gradients, optimizer moments, a copy of the weights
  double activations = 0;   // every worker's activations and backward buffers
  double worker_grads = 0;  // the gradient arenas of the workers after the first
  double checkpoint = 0;    // a checkpoint file's bytes while it is written (or twice: read)

  double training() const { return state + activations + worker_grads + checkpoint; }
  double total() const { return process + data + std::max(data_build, training()); }
  // "412 MB (1.2M parameters; state 24 MB, activations 350 MB, data 1.0 MB, process 35 MB)"
  std::string describe() const;
};

// For a parsed config (model.vocab_size may be 0: it is taken from the data section). A text
// corpus is sized with text_file_size(), so a data.path that cannot be read fails here first.
MemoryEstimate estimate_run_memory(const RunConfig& config, const RunMemoryOptions& options);

// Throws wdlab::Error when the estimate exceeds what is available, with both numbers and the way
// out (a smaller model or batch, or --allow-large).
void check_memory(const MemoryEstimate& need, const AvailableMemory& have);

}  // namespace wdlab
