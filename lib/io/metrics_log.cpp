#include "io/metrics_log.h"

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace wdlab {

MetricsLog::MetricsLog(const std::filesystem::path& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "w");
  WD_CHECK(file_ != nullptr, "{}: cannot create: {}", path.string(), std::strerror(errno));
}

MetricsLog::MetricsLog(const std::filesystem::path& path, uint64_t keep_bytes) : path_(path) {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  WD_CHECK(!ec, "{}: cannot continue it: {}", path.string(), ec.message());
  WD_CHECK(size >= keep_bytes, "{}: holds {} bytes, fewer than the {} the checkpoint recorded",
           path.string(), size, keep_bytes);
  std::filesystem::resize_file(path, keep_bytes, ec);
  WD_CHECK(!ec, "{}: cannot truncate to {} bytes: {}", path.string(), keep_bytes, ec.message());
  file_ = std::fopen(path.c_str(), "a");
  WD_CHECK(file_ != nullptr, "{}: cannot open: {}", path.string(), std::strerror(errno));
  bytes_ = keep_bytes;
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::append(const nlohmann::json& row) {
  const std::string line = row.dump() + "\n";
  const bool ok =
      std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0;
  WD_CHECK(ok, "{}: write failed: {}", path_.string(), std::strerror(errno));
  bytes_ += line.size();
}

}  // namespace wdlab
