#include "run/checkpoint.h"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors.h"

namespace wdlab {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "wdlab-checkpoint-1";

// Doubles go into JSON as numbers, which round-trip exactly; the non-finite ones as strings.
json number(double x) {
  if (std::isfinite(x)) return x;
  return std::isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf");
}
double read_number(const json& j) {
  if (j.is_number()) return j.get<double>();
  const std::string s = j.get<std::string>();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  fail("not a number: '{}'", s);
}

json rng_json(const Rng::State& s) {
  return {{"s", {s.s[0], s.s[1], s.s[2], s.s[3]}},
          {"has_spare", s.has_spare},
          {"spare", number(s.spare)}};
}
Rng::State read_rng(const json& j) {
  Rng::State s;
  const json& words = j.at("s");
  WD_CHECK(words.is_array() && words.size() == 4, "an RNG state needs 4 words");
  for (size_t i = 0; i < 4; ++i) s.s[i] = words[i].get<uint64_t>();
  s.has_spare = j.at("has_spare").get<bool>();
  s.spare = read_number(j.at("spare"));
  return s;
}

json progress_json(const RunProgress& p, int64_t optimizer_steps) {
  json j = {{"step", p.step},
            {"optimizer_steps", optimizer_steps},
            {"train_loss", number(p.train_loss)},
            {"val_loss", number(p.val_loss)},
            {"best_val", number(p.best_val)},
            {"best_step", p.best_step},
            {"first_loss", number(p.train_step.first_loss)},
            {"decay_budget", number(p.train_step.decay_budget)},
            {"rng_batches", rng_json(p.batches)},
            {"rng_dropout", rng_json(p.dropout)},
            {"metrics_bytes", p.metrics_bytes},
            {"tensor_norms_bytes", p.tensor_norms_bytes},
            {"wall_seconds", p.wall_seconds},
            {"threads", p.threads},
            {"resumed_at", p.resumed_at}};
  // adamc's second budget (train_step.h), only where it exists: other checkpoints are unchanged.
  if (p.train_step.decay_budget_lr != 0.0)
    j["decay_budget_lr"] = number(p.train_step.decay_budget_lr);
  return j;
}
RunProgress read_progress(const json& j, int64_t& optimizer_steps) {
  RunProgress p;
  p.step = j.at("step").get<int>();
  optimizer_steps = j.at("optimizer_steps").get<int64_t>();
  p.train_loss = read_number(j.at("train_loss"));
  p.val_loss = read_number(j.at("val_loss"));
  p.best_val = read_number(j.at("best_val"));
  p.best_step = j.at("best_step").get<int>();
  p.train_step.first_loss = read_number(j.at("first_loss"));
  p.train_step.decay_budget = read_number(j.at("decay_budget"));
  if (j.contains("decay_budget_lr"))
    p.train_step.decay_budget_lr = read_number(j.at("decay_budget_lr"));
  p.batches = read_rng(j.at("rng_batches"));
  p.dropout = read_rng(j.at("rng_dropout"));
  p.metrics_bytes = j.at("metrics_bytes").get<uint64_t>();
  p.tensor_norms_bytes = j.at("tensor_norms_bytes").get<uint64_t>();
  p.wall_seconds = j.at("wall_seconds").get<double>();
  p.threads = j.at("threads").get<int>();
  p.resumed_at = j.at("resumed_at").get<std::vector<int>>();
  WD_CHECK(p.step >= 0 && optimizer_steps >= 0, "negative step count");
  return p;
}

// Parameters first, then the optimizer's moments under torch.optim's state names.
std::vector<TensorData> checkpoint_tensors(const ParamTable& table, float* params, float* first,
                                           float* second, bool adam) {
  std::vector<TensorData> all = table_tensors(table, params);
  auto add = [&](float* arena, const char* prefix) {
    for (TensorData& t : table_tensors(table, arena, prefix)) all.push_back(std::move(t));
  };
  add(first, adam ? "optimizer.exp_avg." : "optimizer.momentum_buffer.");
  if (adam) add(second, "optimizer.exp_avg_sq.");
  return all;
}

}  // namespace

void save_checkpoint(const fs::path& run_dir, const std::string& config_id, const ParamTable& table,
                     const float* params, const Optimizer& optimizer, const RunProgress& progress) {
  const bool adam = optimizer.options().kind == OptimizerKind::adam;
  // The tensors' data is only read: save_safetensors takes writable pointers for symmetry.
  auto* first = const_cast<float*>(optimizer.first_moment().data());
  auto* second = const_cast<float*>(optimizer.second_moment().data());
  save_safetensors(run_dir / kCheckpointFile,
                   checkpoint_tensors(table, const_cast<float*>(params), first, second, adam),
                   {{"format", kFormat},
                    {"config_id", config_id},
                    {"step", std::to_string(progress.step)},
                    {"wdlab_version", WDLAB_VERSION},
                    {"progress", progress_json(progress, optimizer.steps_taken()).dump()}});
}

RunProgress load_checkpoint(const fs::path& run_dir, const std::string& config_id,
                            const ParamTable& table, float* params, Optimizer& optimizer) {
  const fs::path file = run_dir / kCheckpointFile;
  const SafetensorsHeader h = read_safetensors_header(file);
  auto meta = [&](const char* key) {
    const auto it = h.metadata.find(key);
    WD_CHECK(it != h.metadata.end(), "{}: not a wdlab checkpoint (no '{}' in its metadata)",
             file.string(), key);
    return it->second;
  };
  WD_CHECK(meta("format") == kFormat, "{}: format '{}', this wdlab reads '{}'", file.string(),
           meta("format"), kFormat);
  WD_CHECK(meta("config_id") == config_id,
           "{}: belongs to config {}, not to this run's config {} (the config changed since it "
           "was written)",
           file.string(), meta("config_id"), config_id);
  RunProgress progress;
  int64_t optimizer_steps = 0;
  try {
    progress = read_progress(json::parse(meta("progress")), optimizer_steps);
  } catch (const std::exception& e) {
    fail("{}: unreadable progress record in its metadata: {}", file.string(), e.what());
  }

  // Read into copies first: params and the optimizer change only when everything loaded.
  const bool adam = optimizer.options().kind == OptimizerKind::adam;
  std::vector<float> w(table.total()), first(table.total()), second(adam ? table.total() : 0);
  load_safetensors(file, checkpoint_tensors(table, w.data(), first.data(), second.data(), adam));
  optimizer.restore(optimizer_steps, std::move(first), std::move(second));
  std::copy(w.begin(), w.end(), params);
  return progress;
}

std::optional<CheckpointInfo> peek_checkpoint(const fs::path& run_dir) {
  std::error_code ec;
  if (!fs::is_regular_file(run_dir / kCheckpointFile, ec)) return std::nullopt;
  try {
    const SafetensorsHeader h = read_safetensors_header(run_dir / kCheckpointFile);
    const auto id = h.metadata.find("config_id");
    const auto step = h.metadata.find("step");
    if (id == h.metadata.end() || step == h.metadata.end()) return std::nullopt;
    return CheckpointInfo{id->second, std::stoi(step->second)};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void remove_checkpoint(const fs::path& run_dir) {
  std::error_code ec;
  fs::remove(run_dir / kCheckpointFile, ec);
  WD_CHECK(!ec, "{}: cannot remove: {}", (run_dir / kCheckpointFile).string(), ec.message());
}

}  // namespace wdlab
