#include "stop_signals.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "sweep/runner.h"

namespace wdlab::cli {
namespace {

// Process-wide: a signal handler can reach nothing else. Lock-free atomics only.
StopRequest g_request;
std::atomic<bool> g_flag{false};
std::atomic<bool> g_installed{false};

extern "C" void on_stop_signal(int sig) {
  g_request.request(sig);
  g_flag.store(true);
}

void set_action(void (*handler)(int)) {
  struct sigaction action = {};
  action.sa_handler = handler;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

}  // namespace

StopSignals::StopSignals() {
  WD_CHECK(!g_installed.exchange(true), "internal: two StopSignals at once");
  set_action(on_stop_signal);
}

StopSignals::~StopSignals() {
  set_action(SIG_DFL);
  g_installed.store(false);
}

void StopSignals::follow_parent_sweep() {
  const char* sweep = std::getenv(std::string(kSweepPidVariable).c_str());
  if (sweep == nullptr) return;
  // Our output reaches the sweep's log through a pipe: once the sweep is gone, a log line must
  // not kill us (SIGPIPE) before the interrupted run's summary is written.
  std::signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (std::to_string(getppid()) != sweep) on_stop_signal(SIGTERM);  // it died before the prctl
}

const StopRequest& StopSignals::request() const {
  return g_request;
}

const std::atomic<bool>& StopSignals::flag() const {
  return g_flag;
}

}  // namespace wdlab::cli
