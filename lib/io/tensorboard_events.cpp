#include "io/tensorboard_events.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/protobuf_wire.h"
#include "io/tfrecord.h"

namespace wdlab {
namespace fs = std::filesystem;

namespace {

// Field numbers: see the header (event.proto, summary.proto).
constexpr int kEventWallTime = 1, kEventStep = 2, kEventFileVersion = 3, kEventSummary = 5,
              kEventSessionLog = 7;
constexpr int kSummaryValue = 1;
constexpr int kValueTag = 1, kValueSimpleValue = 2;
constexpr int kSessionLogStatus = 1, kSessionLogStart = 1;

std::string event_header(double wall_time, int64_t step) {
  std::string event;
  put_double(event, kEventWallTime, wall_time);
  put_int64(event, kEventStep, step);
  return event;
}

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  std::string host = name;
  std::replace(host.begin(), host.end(), '/', '_');
  return host;
}

std::vector<fs::path> events_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().filename().string().starts_with(kEventsFilePrefix))
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The <unix time> of events.out.tfevents.<unix time>.<host>, or 0.
int64_t file_time(const fs::path& file) {
  const std::string name = file.filename().string().substr(kEventsFilePrefix.size());
  int64_t t = 0;
  for (char c : name) {
    if (c < '0' || c > '9') break;
    t = t * 10 + (c - '0');
  }
  return t;
}

}  // namespace

std::string encode_file_version_event(double wall_time) {
  std::string event = event_header(wall_time, 0);
  put_string(event, kEventFileVersion, "brain.Event:2");
  return event;
}

std::string encode_scalars_event(double wall_time, int64_t step,
                                 const std::vector<ScalarValue>& values) {
  std::string summary;
  for (const ScalarValue& v : values) {
    std::string value;
    put_string(value, kValueTag, v.tag);
    put_float(value, kValueSimpleValue, v.value);
    put_bytes(summary, kSummaryValue, value);
  }
  std::string event = event_header(wall_time, step);
  put_bytes(event, kEventSummary, summary);
  return event;
}

std::string encode_session_start_event(double wall_time, int64_t step) {
  std::string session_log;
  put_int64(session_log, kSessionLogStatus, kSessionLogStart);
  std::string event = event_header(wall_time, step);
  put_bytes(event, kEventSessionLog, session_log);
  return event;
}

uint64_t truncate_events_file(const fs::path& file, int64_t keep_through_step) {
  std::ifstream in(file, std::ios::binary);
  WD_CHECK(in.good(), "{}: cannot read it", file.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  const TfRecordScan scan = scan_tfrecords(bytes);
  WD_CHECK(!scan.records.empty() || bytes.empty(), "{}: not a TensorBoard events file ({})",
           file.string(), scan.damage);
  uint64_t keep = scan.intact_bytes;
  for (const TfRecord& r : scan.records) {
    int64_t step = 0;
    if (!read_int64_field(r.data, kEventStep, step) || step > keep_through_step) {
      keep = r.offset;
      break;
    }
  }
  if (keep == bytes.size()) return 0;
  std::error_code ec;
  fs::resize_file(file, keep, ec);
  WD_CHECK(!ec, "{}: cannot truncate to {} bytes: {}", file.string(), keep, ec.message());
  return bytes.size() - keep;
}

TensorBoardEvents::TensorBoardEvents(const fs::path& dir,
                                     std::optional<int64_t> resumed_from_step) {
  // TensorBoard reads a directory's files in name order: a new file must sort after the others.
  int64_t t = static_cast<int64_t>(now_seconds());
  for (const fs::path& f : events_files(dir)) {
    if (resumed_from_step) {
      const uint64_t dropped = truncate_events_file(f, *resumed_from_step);
      if (dropped)
        spdlog::info("{}: dropped {} bytes of events after step {}", f.string(), dropped,
                     *resumed_from_step);
    }
    t = std::max(t, file_time(f) + 1);
  }
  path_ = dir / fmt::format("{}{}.{}", kEventsFilePrefix, t, host_name());
  file_ = std::fopen(path_.c_str(), "wbx");
  WD_CHECK(file_ != nullptr, "{}: cannot create: {}", path_.string(), std::strerror(errno));
  const double now = now_seconds();
  write_record(encode_file_version_event(now));
  if (resumed_from_step) write_record(encode_session_start_event(now, *resumed_from_step + 1));
}

TensorBoardEvents::~TensorBoardEvents() {
  if (file_) std::fclose(file_);
}

void TensorBoardEvents::write_scalars(int64_t step, const std::vector<ScalarValue>& values) {
  write_record(encode_scalars_event(now_seconds(), step, values));
}

void TensorBoardEvents::write_record(const std::string& event) {
  const std::string record = tfrecord_frame(event);
  const bool ok = std::fwrite(record.data(), 1, record.size(), file_) == record.size() &&
                  std::fflush(file_) == 0;
  WD_CHECK(ok, "{}: write failed: {}", path_.string(), std::strerror(errno));
}

}  // namespace wdlab
