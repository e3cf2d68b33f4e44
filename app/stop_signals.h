// SIGINT and SIGTERM as requests to stop, for the commands that wind down cleanly (run, sweep).
// While a StopSignals lives, the signals are recorded instead of ending the process; the command
// hands request() or flag() to the library, which stops at the next safe point, and then returns
// Outcome::interrupted. The destructor restores the default actions.
//
//   StopSignals stop;
//   stop.follow_parent_sweep();                 // wdlab run under wdlab sweep
//   trainer.run(dir, &stop.flag());
//   if (stop.requested()) ...
#pragma once

#include <atomic>

#include "sweep/process_pool.h"

namespace wdlab::cli {

class StopSignals {
 public:
  StopSignals();  // one at a time: the handlers write process-wide state
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // A run started by `wdlab sweep` (kSweepPidVariable set) is also asked to stop (SIGTERM) when
  // the sweep process dies, even by SIGKILL, instead of running on as an orphan; and at once if
  // the sweep is already gone. Its output then goes nowhere (SIGPIPE is ignored).
  void follow_parent_sweep();

  const StopRequest& request() const;     // counts the signals and keeps the last one
  const std::atomic<bool>& flag() const;  // true once any stop was requested
  bool requested() const { return flag().load(); }
};

}  // namespace wdlab::cli
