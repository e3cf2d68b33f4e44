// TensorBoard event files written without TensorFlow or a protobuf library: scalar summaries in
// a run directory, so that `tensorboard --logdir results/<sweep>` shows every run of a sweep
// under its directory name.
//
// A file is named events.out.tfevents.<unix time>.<host> and holds TFRecord-framed (tfrecord.h)
// protobuf messages (protobuf_wire.h) of TensorBoard's tensorboard.Event. The field numbers are
// those of tensorboard/compat/proto/event.proto and summary.proto in tensorflow/tensorboard:
//   Event:         wall_time double = 1, step int64 = 2, file_version string = 3,
//                  summary Summary = 5, session_log SessionLog = 7
//   Summary:       value repeated Value = 1
//   Summary.Value: tag string = 1, simple_value float = 2
//   SessionLog:    status enum = 1 (START = 1)
// The first event of a file carries file_version "brain.Event:2".
//
// Resuming: the steps a killed run logged after its checkpoint are trained again, so the files
// already there lose their records past the checkpoint's step (as metrics.jsonl loses its lines),
// and the run continues in a new file that starts with a SessionLog START at the next step: a
// TensorBoard started later reads each step once, and TensorBoard's event accumulator drops the
// points at or after a START's step that it loaded before (purge_orphaned_data, on by default).
// Never appending to the cut file keeps a live reader's file offset valid.
//
//   TensorBoardEvents events(run_dir);                 // a new run
//   TensorBoardEvents events(run_dir, 200);            // resumed from the checkpoint at step 200
//   events.write_scalars(step, {{"train/loss", 3.2f}, {"lr", 1e-3f}});   // flushed
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wdlab {

struct ScalarValue {
  std::string tag;
  float value;
};

inline constexpr std::string_view kEventsFilePrefix = "events.out.tfevents.";

std::string encode_file_version_event(double wall_time);
std::string encode_scalars_event(double wall_time, int64_t step,
                                 const std::vector<ScalarValue>& values);
std::string encode_session_start_event(double wall_time, int64_t step);

// Cuts an events file after its last intact record of a step <= keep_through_step. Returns the
// bytes dropped. A file that is not a TFRecord file at all is an error naming it.
uint64_t truncate_events_file(const std::filesystem::path& file, int64_t keep_through_step);

class TensorBoardEvents {
 public:
  // Creates a new events file in `dir`. With `resumed_from_step`, first cuts the events files
  // already in `dir` after that step and starts the new one with a SessionLog START.
  explicit TensorBoardEvents(const std::filesystem::path& dir,
                             std::optional<int64_t> resumed_from_step = std::nullopt);
  ~TensorBoardEvents();
  TensorBoardEvents(const TensorBoardEvents&) = delete;
  TensorBoardEvents& operator=(const TensorBoardEvents&) = delete;

  // One event with every value, stamped with the current time, flushed so that a running
  // TensorBoard sees it.
  void write_scalars(int64_t step, const std::vector<ScalarValue>& values);
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& event);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace wdlab
