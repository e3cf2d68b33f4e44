// Runs child processes, at most `max_parallel` at once, each with stdout and stderr going to its
// own log file. The output passes through a pipe that the pool copies to the log, keeping the
// last few KB in memory: when the log cannot be written (a full disk), the child's own last words
// still reach the caller. A stop request (a signal caught by the caller, counted in StopRequest)
// stops new launches and forwards the signal to the running children; a second request sends
// SIGKILL. Returns once every started child has been reaped.
//
//   StopRequest stop;                       // the CLI's SIGINT/SIGTERM handler calls request()
//   run_processes(jobs, 2, &stop,
//                 [](size_t i, ProcessJob& job) { ...prepare its directory; false: skip it... },
//                 [](size_t i, const ProcessExit& e) { ...ended... });
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace wdlab {

struct ProcessJob {
  std::vector<std::string> argv;                         // argv[0] is the program path
  std::filesystem::path log;                             // stdout and stderr, truncated first
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing) ours
  bool append_log = false;                               // append to the log instead
  int keep_fd = -1;  // a descriptor the child inherits (a lock that must outlive us)
};

// How much of a child's output is kept in memory.
inline constexpr size_t kOutputTailBytes = 4096;

struct ProcessExit {
  bool exited = false;  // normal exit; else killed by `signal`
  int code = 0;
  int signal = 0;
  double seconds = 0.0;
  std::string output_tail;  // the last kOutputTailBytes of stdout and stderr, as written
  std::string log_error;    // why the log file could not be (fully) written; "" if it was
};

// Async-signal-safe: request() only touches lock-free atomics.
struct StopRequest {
  std::atomic<int> count{0};
  std::atomic<int> signal{0};
  void request(int sig) {
    signal.store(sig);
    count.fetch_add(1);
  }
  bool requested() const { return count.load() > 0; }
};

// Returns how many jobs were never started because of a stop request. Throws (after reaping the
// children already running) if before_start throws or a child cannot be started. before_start
// gets a copy of the job to amend (its command may depend on what it finds) and returns false
// to leave the job out (neither started nor counted as not started; on_exit is not called).
size_t run_processes(const std::vector<ProcessJob>& jobs, int max_parallel, const StopRequest* stop,
                     const std::function<bool(size_t, ProcessJob&)>& before_start,
                     const std::function<void(size_t, const ProcessExit&)>& on_exit);

std::string describe(const ProcessExit& e);
// The last non-empty line of a child's output tail, or "(no output)".
std::string last_output_line(const ProcessExit& e);

}  // namespace wdlab
