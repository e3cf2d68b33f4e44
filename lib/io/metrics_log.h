// metrics.jsonl: one JSON object per line, appended and flushed line by line, so a crash loses
// at most the line being written and the file stays loadable (pandas.read_json(lines=True)).
#pragma once

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

namespace wdlab {

class MetricsLog {
 public:
  explicit MetricsLog(const std::filesystem::path& path);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  void append(const nlohmann::json& row);

 private:
  std::FILE* file_ = nullptr;
  std::filesystem::path path_;
};

}  // namespace wdlab
