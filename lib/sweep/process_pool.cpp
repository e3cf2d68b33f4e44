#include "sweep/process_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <string_view>

#include <fmt/format.h>

#include "core/error.h"

extern char** environ;

namespace wdlab {
namespace {
using Clock = std::chrono::steady_clock;

// How often finished children are looked for (output wakes the pool earlier); a run lasts
// seconds, so this costs nothing.
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

// A running child's output: the read end of its stdout/stderr pipe, the log file it is copied
// to, and the tail kept in memory.
struct ChildOutput {
  int pipe = -1;
  int log = -1;
  std::string tail;
  std::string log_error;

  ChildOutput(const std::filesystem::path& file, bool append_to_file) {
    log = ::open(file.c_str(),
                 O_WRONLY | O_CREAT | O_CLOEXEC | (append_to_file ? O_APPEND : O_TRUNC), 0644);
    if (log < 0) log_error = std::strerror(errno);
  }
  ~ChildOutput() {
    if (pipe >= 0) ::close(pipe);
    if (log >= 0) ::close(log);
  }
  ChildOutput(const ChildOutput&) = delete;
  ChildOutput& operator=(const ChildOutput&) = delete;

  void append(const char* data, size_t n) {
    tail.append(data, n);
    if (tail.size() > kOutputTailBytes) tail.erase(0, tail.size() - kOutputTailBytes);
    while (log >= 0 && n > 0) {
      const ssize_t w = ::write(log, data, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {  // the disk is full, say: keep going without the log
        log_error = std::strerror(w < 0 ? errno : ENOSPC);
        ::close(log);
        log = -1;
        break;
      }
      data += w;
      n -= static_cast<size_t>(w);
    }
  }

  // Copies what is in the pipe now. Returns false once the output has ended (or cannot be read).
  bool drain() {
    char buffer[1 << 16];
    while (pipe >= 0) {
      const ssize_t n = ::read(pipe, buffer, sizeof buffer);
      if (n > 0) {
        append(buffer, static_cast<size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
      }
    }
    return false;
  }
};

// Waits up to `timeout` for output from any of the children and copies what arrived.
void wait_for_output(const std::vector<ChildOutput*>& outputs, std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  for (const ChildOutput* o : outputs) {
    if (o->pipe >= 0) fds.push_back({o->pipe, POLLIN, 0});
  }
  if (::poll(fds.data(), fds.size(), static_cast<int>(timeout.count())) <= 0) return;
  for (ChildOutput* o : outputs) {
    if (o->pipe >= 0 && !o->drain()) {
      ::close(o->pipe);  // ended; what a child writes later would have nowhere to go anyway
      o->pipe = -1;
    }
  }
}

// Starts the job with stdout and stderr on a pipe read into `output`.
pid_t spawn(const ProcessJob& job, ChildOutput& output) {
  WD_CHECK(!job.argv.empty(), "process pool: a job without a program");
  int ends[2];
  WD_CHECK(::pipe2(ends, O_CLOEXEC) == 0, "cannot start {}: no pipe for its output: {}",
           job.argv[0], std::strerror(errno));
  output.pipe = ends[0];
  ::fcntl(ends[0], F_SETFL, O_NONBLOCK);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, ends[1], 1);  // dup2 clears O_CLOEXEC on 1 and 2
  posix_spawn_file_actions_adddup2(&actions, ends[1], 2);
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
  ::close(ends[1]);  // the child's copies are the only writers left: its exit ends the output
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
    std::unique_ptr<ChildOutput> output;
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
        if (before_start(next, job)) {
          auto output = std::make_unique<ChildOutput>(job.log, job.append_log);
          const pid_t pid = spawn(job, *output);
          running[pid] = {next, Clock::now(), std::move(output)};
        }
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
      ChildOutput& output = *it->second.output;
      output.drain();  // the rest: a child that has exited has all its output in the pipe
      e.output_tail = std::move(output.tail);
      e.log_error = std::move(output.log_error);
      const size_t job = it->second.job;
      it = running.erase(it);
      on_exit(job, e);
      reaped = true;
    }
    if (!reaped) {
      std::vector<ChildOutput*> outputs;
      for (auto& [pid, r] : running) outputs.push_back(r.output.get());
      wait_for_output(outputs, kPollInterval);
    }
  }
  if (error) std::rethrow_exception(error);
  return jobs.size() - next;
}

std::string last_output_line(const ProcessExit& e) {
  std::string_view text = e.output_tail;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.remove_suffix(1);
  if (text.empty()) return "(no output)";
  const size_t newline = text.find_last_of('\n');
  return std::string(newline == std::string_view::npos ? text : text.substr(newline + 1));
}

std::string describe(const ProcessExit& e) {
  if (e.exited) return fmt::format("exit code {}", e.code);
  return fmt::format("killed by signal {} ({})", e.signal, strsignal(e.signal));
}

}  // namespace wdlab
