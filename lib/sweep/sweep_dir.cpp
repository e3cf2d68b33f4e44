#include "sweep/sweep_dir.h"

#include <fstream>

#include "core/error.h"
#include "io/atomic_file.h"

namespace wdlab {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The runs (names, ids, overrides) are what processes sharing a directory must agree on; the
// command line differs from shard to shard.
bool same_runs(const fs::path& file, const SweepPlan& plan) {
  std::ifstream in(file);
  if (!in) return false;
  try {
    const json existing = json::parse(in);
    const json ours = plan_to_json(plan);
    return existing.at("name") == ours.at("name") && existing.at("runs") == ours.at("runs");
  } catch (const json::exception&) {
    return false;
  }
}

}  // namespace

fs::path run_lock_path(const fs::path& root, const std::string& id) {
  return root / ".locks" / ("run-" + id + ".lock");
}

fs::path data_cache_dir(const fs::path& root) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(root, ec);
  return (ec ? root : absolute) / ".cache" / "data";
}

SweepDirMember::SweepDirMember(const fs::path& root, const SweepPlan& plan,
                               const std::function<void()>& prepare)
    : active_(root / ".locks" / "sweep.lock") {
  FileLock plan_lock(root / ".locks" / "plan.lock");
  plan_lock.lock(FileLock::exclusive);
  const fs::path file = root / "sweep.json";
  // The exclusive sweep lock is only ever taken under the plan lock, which we hold, so turning
  // it into a shared one below cannot let another process in between.
  if (active_.try_lock(FileLock::exclusive)) {
    write_file_atomic(file, plan_to_json(plan).dump(2) + "\n");
  } else {
    WD_CHECK(same_runs(file, plan),
             "{}: another `wdlab sweep` is running in this directory with a different run list "
             "(its sweep.json differs from this spec's expansion). Let it finish, or use the "
             "same spec and axes, or another --out DIR",
             root.string());
  }
  active_.lock(FileLock::shared);
  prepare();
}

}  // namespace wdlab
