#include "sweep/runner.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>

#include "core/error.h"
#include "data/synthetic_cache.h"
#include "sweep/resume.h"
#include "sweep/sweep_dir.h"

namespace wdlab {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
using Clock = std::chrono::steady_clock;

std::string human_time(double s) {
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{:.0f}m{:02.0f}s", std::floor(s / 60), std::fmod(s, 60));
  return fmt::format("{:.0f}h{:02.0f}m", std::floor(s / 3600), std::fmod(s / 60, 60));
}

void clear_dir(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  WD_CHECK(!ec, "{}: cannot clear the unfinished run: {}", dir.string(), ec.message());
}

// Renames completed runs found under older names into place: first all out of the way (two
// runs may swap names), then to their new names.
void apply_moves(const SweepPlan& plan, const SweepDecisions& d, const fs::path& root) {
  std::vector<std::pair<fs::path, fs::path>> staged;
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    if (d.runs[i].action != RunAction::move) continue;
    const fs::path tmp = root / (".moving-" + plan.runs[i].id);
    fs::rename(d.runs[i].moved_from, tmp);
    staged.emplace_back(tmp, root / plan.runs[i].name);
  }
  for (const auto& [tmp, target] : staged) {
    if (fs::exists(target)) clear_dir(target);  // unfinished, or already moved away
    fs::rename(tmp, target);
  }
}

}  // namespace

std::vector<std::string> run_command(const PlannedRun& run, const fs::path& dir,
                                     const SweepOptions& options, bool resume) {
  // The run's own config.json holds its config; the overrides restate it (a check, not a change).
  if (resume) {
    std::vector<std::string> argv = {options.executable, "run",
                                     "--resume",         dir.string(),
                                     "--threads",        std::to_string(options.threads)};
    if (options.allow_large) argv.push_back("--allow-large");
    if (options.tensorboard) argv.push_back("--tensorboard");
    argv.insert(argv.end(), run.overrides.begin(), run.overrides.end());
    return argv;
  }
  std::vector<std::string> argv = {
      options.executable, "run",   "--preset",   run.preset,  "--scale",
      run.scale,          "--out", dir.string(), "--threads", std::to_string(options.threads)};
  if (options.allow_large) argv.push_back("--allow-large");
  if (options.tensorboard) argv.push_back("--tensorboard");
  argv.insert(argv.end(), run.overrides.begin(), run.overrides.end());
  return argv;
}

SweepOutcome run_sweep(const SweepPlan& plan, const SweepOptions& options,
                       const StopRequest* stop) {
  WD_CHECK(options.jobs >= 1, "--jobs: must be at least 1, got {}", options.jobs);
  WD_CHECK(options.threads >= 1, "--threads: must be at least 1, got {}", options.threads);
  const fs::path& root = options.root;
  std::error_code ec;
  WD_CHECK(!fs::exists(root, ec) || fs::is_directory(root, ec), "{}: exists and is not a directory",
           root.string());

  // Everything that can refuse happens before the first write.
  const SweepDecisions first = decide_runs(plan, root, options.force);
  if (!first.conflicts.empty()) {
    std::string list;
    for (size_t i = 0; i < first.conflicts.size() && i < 3; ++i)
      list += "\n  " + first.conflicts[i];
    if (first.conflicts.size() > 3)
      list += fmt::format("\n  ... and {} more", first.conflicts.size() - 3);
    fail(
        "{}: {} run director{} of an earlier, different sweep would be overwritten (the spec or "
        "its overrides changed):{}\nUse --out DIR for a separate sweep, or --force to replace "
        "them.",
        root.string(), first.conflicts.size(), first.conflicts.size() == 1 ? "y" : "ies", list);
  }
  fs::create_directories(root, ec);
  WD_CHECK(!ec, "{}: cannot create: {}", root.string(), ec.message());
  // Decided again once this process has joined the directory: another one may have moved or
  // finished runs since.
  SweepDecisions d;
  const SweepDirMember member(root, plan, [&] {
    d = decide_runs(plan, root, options.force);
    apply_moves(plan, d, root);
  });

  SweepOutcome out;
  std::vector<const PlannedRun*> todo;
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    if (!options.shard.owns(plan.runs[i].index)) continue;
    ++out.total;
    if (d.runs[i].action == RunAction::run || d.runs[i].action == RunAction::resume) {
      todo.push_back(&plan.runs[i]);
      if (d.runs[i].action == RunAction::resume) ++out.resumed;
    } else {
      ++out.already_done;
      if (d.runs[i].action == RunAction::move) ++out.renamed;
    }
  }
  const std::string shard = options.shard.whole()
                                ? ""
                                : fmt::format(" shard {}/{} (of {} runs)", options.shard.index,
                                              options.shard.count, plan.runs.size());
  spdlog::info(
      "sweep {}{}: {} runs, {} done already{}, {} to run{} with {} job{} x {} thread{} -> {}",
      plan.name, shard, out.total, out.already_done,
      out.renamed ? fmt::format(" ({} renamed)", out.renamed) : "", todo.size(),
      out.resumed ? fmt::format(" ({} resumed from their checkpoints)", out.resumed) : "",
      options.jobs, options.jobs == 1 ? "" : "s", options.threads, options.threads == 1 ? "" : "s",
      root.string());

  std::vector<ProcessJob> jobs;
  for (size_t i = 0; i < todo.size(); ++i) {
    const fs::path dir = root / todo[i]->name;
    jobs.push_back({run_command(*todo[i], dir, options),
                    dir / "log.txt",
                    {{"OPENBLAS_NUM_THREADS", std::to_string(options.threads)},
                     {std::string(kSweepPidVariable), std::to_string(getpid())},
                     {std::string(kDataCacheVariable), data_cache_dir(root).string()}}});
  }

  const auto t0 = Clock::now();
  double run_seconds = 0.0;
  int ended = 0, running = 0, left_out = 0;
  std::map<size_t, std::unique_ptr<FileLock>> run_locks;  // of the runs going on
  auto before_start = [&](size_t i, ProcessJob& job) {
    const PlannedRun& run = *todo[i];
    const fs::path dir = root / run.name;
    auto lock = std::make_unique<FileLock>(run_lock_path(root, run.id));
    if (!lock->try_lock(FileLock::exclusive)) {
      ++out.elsewhere;
      ++left_out;
      spdlog::info("{}: being run by another process; left to it", run.name);
      return false;
    }
    // Decided again under the lock: another process may have finished the run, or left a
    // checkpoint, since the plan was made.
    if (!options.force && inspect_run_dir(dir, run.id).state == RunState::done) {
      ++out.already_done;
      ++left_out;
      spdlog::info("{}: finished by another process meanwhile", run.name);
      return false;
    }
    const std::optional<int> step = options.force ? std::nullopt : resumable_step(dir, run.id);
    if (step) {
      spdlog::info("{}: resuming from its checkpoint at step {}", run.name, *step);
    } else {
      // The directory is created here, empty, so the child's log can go in it from the start.
      if (fs::exists(dir)) clear_dir(dir);
      fs::create_directories(dir);
    }
    job.argv = run_command(run, dir, options, step.has_value());
    job.append_log = step.has_value();
    job.keep_fd = lock->fd();  // the run holds its lock as long as it lives, even without us
    run_locks[i] = std::move(lock);
    ++running;
    return true;
  };
  auto on_exit = [&](size_t i, const ProcessExit& e) {
    run_locks.erase(i);
    --running;
    ++ended;
    const PlannedRun& run = *todo[i];
    const fs::path dir = root / run.name;
    const RunDirState s = inspect_run_dir(dir, run.id);
    std::string what;
    if (s.state == RunState::done) {
      ++(s.status == "diverged" ? out.diverged : out.finished);
      run_seconds += e.seconds;
      try {
        std::ifstream in(dir / "summary.json");
        const json summary = json::parse(in);
        what = s.status == "diverged"
                   ? fmt::format("diverged at step {}", summary.value("diverged_step", -1))
                   : fmt::format("finished, val {:.4f}", summary.value("final_val_loss", NAN));
      } catch (const std::exception&) {
        what = s.status;
      }
    } else if (s.status == "interrupted" || (stop && stop->requested())) {
      ++out.interrupted;
      what = "interrupted";
    } else {
      ++out.failed;
      run_seconds += e.seconds;
      // The child's own last line, from memory: its log.txt may be what could not be written.
      what = fmt::format("FAILED ({}): {}", describe(e), last_output_line(e));
      if (!e.log_error.empty()) what += fmt::format(" (log.txt not written: {})", e.log_error);
    }
    const int done = out.already_done + out.finished + out.diverged;
    const int completed = out.finished + out.diverged + out.failed;
    const int remaining = static_cast<int>(todo.size()) - ended - left_out;
    std::string eta = "-";
    if (completed > 0 && !(stop && stop->requested())) {
      const double per_run = run_seconds / completed;
      eta = human_time(per_run * std::ceil(double(remaining) / options.jobs));
    }
    auto log = s.state == RunState::done ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(log, "[{}/{}] {}: {} ({}) | {} running | ETA {}", done, out.total, run.name, what,
                human_time(e.seconds), running, eta);
  };
  out.not_started =
      static_cast<int>(run_processes(jobs, options.jobs, stop, before_start, on_exit));
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  const int done = out.already_done + out.finished + out.diverged;
  std::string counts = fmt::format("{}/{} done ({} finished, {} diverged this time, {} before)",
                                   done, out.total, out.finished, out.diverged, out.already_done);
  if (out.elsewhere)
    counts += fmt::format("; {} left to the other process{} running them", out.elsewhere,
                          out.elsewhere == 1 ? "" : "es");
  if (out.interrupted || out.not_started) {
    spdlog::warn(
        "sweep {} stopped after {}: {}; {} interrupted, {} not started. Run the same "
        "command again to finish the missing runs.",
        plan.name + shard, human_time(out.seconds), counts, out.interrupted, out.not_started);
  } else if (out.failed) {
    spdlog::error("sweep {}: {} in {}; {} FAILED (see their log.txt)", plan.name + shard, counts,
                  human_time(out.seconds), out.failed);
  } else {
    spdlog::info("sweep {}: {} in {}", plan.name + shard, counts, human_time(out.seconds));
  }
  return out;
}

}  // namespace wdlab
