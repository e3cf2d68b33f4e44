// Checkpoints in the safetensors format (huggingface/safetensors), fp32 only:
//
//   [8 bytes: N, little-endian u64][N bytes: JSON header, space-padded so 8 + N is a multiple of 8]
//   [data: every tensor's bytes, little-endian, row-major]
//
//   header = {"__metadata__": {"key": "value", ...},
//             "NAME": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
//
// Offsets are relative to the start of the data and must tile it exactly (no gap, no overlap, the
// last end is the end of the file). Writing puts the tensors in table order; reading matches them
// by name, so files written by Python (sorted by name) load too.
//
//   save_safetensors(run_dir / "ckpt.safetensors", model.table(), model.params().data(),
//                    {{"step", "100"}, {"config_id", id}});
//   std::map<std::string, std::string> meta = load_safetensors(path, model.table(), params);
//   SafetensorsHeader h = read_safetensors_header(path);   // for tools: metadata + tensor list
//
// Every error is a wdlab::Error naming the file and, where there is one, the tensor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/param_table.h"

namespace wdlab {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16", "I64", ... as in the file
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data section
};

struct SafetensorsHeader {
  std::map<std::string, std::string> metadata;  // "__metadata__" (empty if absent)
  std::vector<SafetensorsTensor> tensors;       // in data order (by begin offset)
  uint64_t header_bytes = 0;                    // N, including the padding
  uint64_t data_bytes = 0;                      // file size - 8 - N
};

// One tensor to write or read: its name, shape and the floats it lives in (Π shape of them).
struct TensorData {
  std::string name;
  std::vector<int64_t> shape;
  float* data = nullptr;
  size_t numel() const;
};
// The table's tensors in the arena, each name prefixed (e.g. "optimizer.exp_avg.").
std::vector<TensorData> table_tensors(const ParamTable& table, float* arena,
                                      const std::string& prefix = "");

// Largest header accepted, as the reference reader (100 MB).
inline constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

// Writes every tensor of the table as F32, atomically (temporary file, then rename).
void save_safetensors(const std::filesystem::path& path, const ParamTable& table,
                      const float* params, const std::map<std::string, std::string>& metadata);

// The same for any list of tensors (their data is only read).
void save_safetensors(const std::filesystem::path& path, const std::vector<TensorData>& tensors,
                      const std::map<std::string, std::string>& metadata);

// Reads and checks the header only: its length, JSON, dtypes, shapes against byte sizes, and that
// the offsets tile the data section.
SafetensorsHeader read_safetensors_header(const std::filesystem::path& path);

// Reads every tensor of the table into params (arena layout of the table) and returns the
// metadata. The file must hold exactly the table's tensors: each one present, F32 and of the same
// shape, and nothing else. params is left untouched when any check fails.
std::map<std::string, std::string> load_safetensors(const std::filesystem::path& path,
                                                    const ParamTable& table, float* params);
// The same for any list of tensors: the file must hold exactly these, F32, of these shapes.
std::map<std::string, std::string> load_safetensors(const std::filesystem::path& path,
                                                    const std::vector<TensorData>& tensors);

// The same two on a whole file's bytes in memory (the file readers call these); `where` names
// the bytes in errors.
SafetensorsHeader read_safetensors_header_bytes(std::string_view bytes, const std::string& where);
std::map<std::string, std::string> load_safetensors_bytes(std::string_view bytes,
                                                          const std::string& where,
                                                          const ParamTable& table, float* params);
std::map<std::string, std::string> load_safetensors_bytes(std::string_view bytes,
                                                          const std::string& where,
                                                          const std::vector<TensorData>& tensors);

}  // namespace wdlab
