#include "io/metrics_log.h"

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace wdlab {

MetricsLog::MetricsLog(const std::filesystem::path& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "w");
  WD_CHECK(file_ != nullptr, "{}: cannot create: {}", path.string(), std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::append(const nlohmann::json& row) {
  const std::string line = row.dump() + "\n";
  const bool ok =
      std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0;
  WD_CHECK(ok, "{}: write failed: {}", path_.string(), std::strerror(errno));
}

}  // namespace wdlab
