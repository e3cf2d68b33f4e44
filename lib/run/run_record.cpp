#include "run/run_record.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/build_info.h"
#include "io/atomic_file.h"

namespace wdlab {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

std::string current_dir() {
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  return ec ? "unknown" : cwd.string();
}

std::string executable() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "unknown" : exe.string();
}

// The run.json of an earlier invocation, or null when there is none or it is not one.
json read_record(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return nullptr;
  std::stringstream text;
  text << in.rdbuf();
  try {
    json j = json::parse(text.str());
    if (j.is_object() && j.contains("invocations") && j["invocations"].is_array()) return j;
  } catch (const json::exception&) {
  }
  return nullptr;
}

}  // namespace

std::string utc_timestamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

RunRecord::RunRecord(std::vector<std::string> argv, int threads) {
  const BuildInfo& build = build_info();
  invocation_ = {{"argv", std::move(argv)},
                 {"executable", executable()},
                 {"cwd", current_dir()},
                 {"host", host_name()},
                 {"threads", threads},
                 {"wdlab_version", build.version},
                 {"git_commit", build.git_commit},
                 {"git_dirty", build.git_dirty},
                 {"start", utc_timestamp()},
                 {"end", nullptr},
                 {"status", "running"}};
}

void RunRecord::begin(const fs::path& run_dir, const std::string& config_id, const json& init_from,
                      int from_step) {
  file_ = run_dir / kRunRecordFile;
  invocation_["from_step"] = from_step;
  json earlier = from_step > 0 ? read_record(file_) : json();
  if (from_step > 0 && earlier.is_null())
    spdlog::info("{}: no earlier record to continue; this invocation starts a new one",
                 file_.string());
  record_ = earlier.is_null()
                ? json{{"started", invocation_["start"]}, {"invocations", json::array()}}
                : std::move(earlier);
  record_["config_id"] = config_id;
  record_["init_from"] = init_from;
  record_["ended"] = nullptr;
  record_["status"] = "running";
  record_["invocations"].push_back(invocation_);
  write_file_atomic(file_, record_.dump(2) + "\n");
}

void RunRecord::end(const std::string& status) {
  const std::string now = utc_timestamp();
  json& mine = record_["invocations"].back();
  mine["end"] = now;
  mine["status"] = status;
  record_["ended"] = now;
  record_["status"] = status;
  write_file_atomic(file_, record_.dump(2) + "\n");
}

}  // namespace wdlab
