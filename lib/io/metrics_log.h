// metrics.jsonl: one JSON object per line, appended and flushed line by line, so a crash loses
// at most the line being written and the file stays loadable (pandas.read_json(lines=True)).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

namespace wdlab {

class MetricsLog {
 public:
  // Creates (or empties) the file.
  explicit MetricsLog(const std::filesystem::path& path);
  // Continues an existing file after its first `keep_bytes` bytes, dropping the rest (the lines
  // a resumed run writes again). Errors when the file is shorter.
  MetricsLog(const std::filesystem::path& path, uint64_t keep_bytes);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  void append(const nlohmann::json& row);
  // Bytes in the file so far (every appended line is flushed).
  uint64_t bytes() const { return bytes_; }

 private:
  std::FILE* file_ = nullptr;
  uint64_t bytes_ = 0;
  std::filesystem::path path_;
};

}  // namespace wdlab
