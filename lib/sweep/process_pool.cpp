#include "sweep/process_pool.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <exception>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"

extern char** environ;

namespace wdlab {
namespace {
using Clock = std::chrono::steady_clock;

// How often finished children are looked for; a run lasts seconds, so this costs nothing.
constexpr auto kPollInterval = std::chrono::milliseconds(20);

std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view kv(*e);
    bool replaced = false;
    for (const auto& [k, v] : extra) replaced = replaced || kv.starts_with(k + "=");
    if (!replaced) env.emplace_back(kv);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

pid_t spawn(const ProcessJob& job) {
  WD_CHECK(!job.argv.empty(), "process pool: a job without a program");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, job.log.c_str(),
                                   O_WRONLY | O_CREAT | (job.append_log ? O_APPEND : O_TRUNC),
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // dup2 onto itself clears close-on-exec (glibc >= 2.29), so only this descriptor is inherited.
  if (job.keep_fd >= 0) posix_spawn_file_actions_adddup2(&actions, job.keep_fd, job.keep_fd);

  // The child starts with default dispositions and nothing blocked, whatever ours are.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> args = job.argv;
  std::vector<std::string> env = child_environment(job.env);
  std::vector<char*> argv = c_strings(args), envp = c_strings(env);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, job.argv[0].c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  WD_CHECK(rc == 0, "cannot start {} (log {}): {}", job.argv[0], job.log.string(),
           std::strerror(rc));
  return pid;
}

}  // namespace

size_t run_processes(const std::vector<ProcessJob>& jobs, int max_parallel, const StopRequest* stop,
                     const std::function<bool(size_t, ProcessJob&)>& before_start,
                     const std::function<void(size_t, const ProcessExit&)>& on_exit) {
  WD_CHECK(max_parallel >= 1, "--jobs: must be at least 1, got {}", max_parallel);
  struct Running {
    size_t job;
    Clock::time_point started;
  };
  std::map<pid_t, Running> running;
  size_t next = 0;
  int forwarded = 0;
  std::exception_ptr error;
  for (;;) {
    const int requests = stop ? stop->count.load() : 0;
    if (requests > forwarded) {
      // The first request is passed on so each run can end cleanly (summary "interrupted");
      // a second one means "now".
      const int sig = requests >= 2 ? SIGKILL : stop->signal.load();
      for (const auto& [pid, r] : running) ::kill(pid, sig);
      forwarded = requests;
    }
    while (!error && requests == 0 && next < jobs.size() &&
           running.size() < static_cast<size_t>(max_parallel)) {
      try {
        ProcessJob job = jobs[next];
        if (before_start(next, job)) running[spawn(job)] = {next, Clock::now()};
      } catch (...) {
        error = std::current_exception();
        break;
      }
      ++next;
    }
    if (running.empty()) break;
    bool reaped = false;
    for (auto it = running.begin(); it != running.end();) {
      int status = 0;
      const pid_t pid = ::waitpid(it->first, &status, WNOHANG);
      if (pid == 0 || (pid < 0 && errno == EINTR)) {
        ++it;
        continue;
      }
      ProcessExit e;
      e.seconds = std::chrono::duration<double>(Clock::now() - it->second.started).count();
      if (pid > 0 && WIFEXITED(status)) {
        e.exited = true;
        e.code = WEXITSTATUS(status);
      } else if (pid > 0 && WIFSIGNALED(status)) {
        e.signal = WTERMSIG(status);
      } else {
        e.code = -1;  // lost track of the child: count it as a failure
        e.exited = true;
      }
      const size_t job = it->second.job;
      it = running.erase(it);
      on_exit(job, e);
      reaped = true;
    }
    if (!reaped) std::this_thread::sleep_for(kPollInterval);
  }
  if (error) std::rethrow_exception(error);
  return jobs.size() - next;
}

std::string describe(const ProcessExit& e) {
  if (e.exited) return fmt::format("exit code {}", e.code);
  return fmt::format("killed by signal {} ({})", e.signal, strsignal(e.signal));
}

}  // namespace wdlab
