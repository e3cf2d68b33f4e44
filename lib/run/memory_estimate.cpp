// A run's peak memory from its config (memory_estimate.h).
#include "run/memory_estimate.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "data/dataset.h"
#include "data/synthetic_language.h"
#include "model/step_cost.h"

namespace wdlab {
namespace {

// Resident memory of `wdlab run` before its data and model exist, measured (peak RSS of short
// runs against this estimate, scripts/measure_memory.sh): code, libraries, heap and the buffers
// OpenBLAS allocates on first use.
constexpr double kProcessBytes = 12e6;

// Vocabulary of a text corpus: bytes.
constexpr int kByteVocabulary = 256;

std::string count(double x) {
  if (x >= 1e9) return fmt::format("{:.2f}G", x / 1e9);
  if (x >= 1e6) return fmt::format("{:.2f}M", x / 1e6);
  if (x >= 1e3) return fmt::format("{:.1f}k", x / 1e3);
  return fmt::format("{:.0f}", x);
}

}  // namespace

std::string MemoryEstimate::describe() const {
  return fmt::format(
      "{} ({} parameters: weights, gradients, optimizer moments and a weight copy {}, "
      "activations {}{}{}; data {}{}; process {})",
      human_bytes(total()), count(parameters), human_bytes(state), human_bytes(activations),
      worker_grads > 0 ? ", other workers' gradients " + human_bytes(worker_grads) : "",
      checkpoint > 0 ? ", checkpoint " + human_bytes(checkpoint) : "", human_bytes(data),
      data_build > training() ? ", building it " + human_bytes(data_build) : "",
      human_bytes(process));
}

MemoryEstimate estimate_run_memory(const RunConfig& config, const RunMemoryOptions& options) {
  const DataConfig& d = config.data;
  MemoryEstimate m;
  m.process = kProcessBytes;
  ModelConfig model = config.model;
  if (d.source == "text") {
    const double bytes = static_cast<double>(text_file_size(d.path));
    model.vocab_size = kByteVocabulary;
    m.data = 4.0 * bytes;  // one int a byte, train and validation
    m.data_build = bytes;  // the file's bytes while they are turned into tokens
  } else if (d.source == "modular") {
    const double p = d.modular.modulus;
    model.vocab_size = d.modular.modulus + 2;
    m.data = 4.0 * kModularExampleLength * p * p;  // every equation once, train or validation
    m.data_build = m.data;
  } else {
    model.vocab_size = d.synthetic.vocab_size;
    m.data = 4.0 * (static_cast<double>(d.train_tokens) + static_cast<double>(d.val_tokens));
    m.data_build = SyntheticLanguage::build_bytes(d.synthetic);
  }

  const double P = parameter_count(model);
  const double weights = 4.0 * P;
  const int moments = config.optim.options.kind == OptimizerKind::adam ? 2 : 1;
  m.parameters = P;
  // Weights, gradients, the moments and the weights before a measured update (train_step.h).
  m.state = weights * (3 + moments);

  // The batch is split into whole sequences, one shard per worker, each sized for its share.
  const int B = config.train.batch_size;
  const int workers = std::clamp(options.threads, 1, B);
  const int shard_batch = (B + workers - 1) / workers;
  const StepMemory shard = step_memory(model, shard_batch, model.block_size, 0);
  m.activations = workers * (shard.activation_bytes + shard.backward_bytes);
  m.worker_grads = (workers - 1) * weights;
  // A step checkpoint (run/checkpoint.h) is built in memory before its atomic write; --save and
  // --init-from handle only the weights, less than that.
  m.checkpoint = weights * (1 + moments) * (options.resume ? 2 : 1);
  return m;
}

void check_memory(const MemoryEstimate& need, const AvailableMemory& have) {
  WD_CHECK(need.total() <= have.bytes,
           "the run needs an estimated {} of memory, but {} is available ({}); choose a smaller "
           "model, batch or data, or pass --allow-large to run anyway. Estimate: {}",
           human_bytes(need.total()), human_bytes(have.bytes), have.source, need.describe());
}

}  // namespace wdlab
