#include "run/run_dir.h"

#include "core/error.h"

namespace wdlab {
namespace fs = std::filesystem;

fs::path fresh_run_dir(const fs::path& base, const std::string& name) {
  fs::path dir = base / name;
  for (int i = 2; fs::exists(dir); ++i) dir = base / (name + "-" + std::to_string(i));
  return dir;
}

namespace {

// `wdlab sweep` creates each run directory and points the run's output at log.txt in it before
// the run starts, so a directory holding only that file is still an empty one.
bool holds_results(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename() != "log.txt") return true;
  }
  return false;
}

}  // namespace

void create_run_dir(const fs::path& dir, bool replace) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    WD_CHECK(fs::is_directory(dir, ec), "--out: '{}' exists and is not a directory", dir.string());
    if (holds_results(dir)) {
      WD_CHECK(replace, "--out: '{}' already holds results; pass --force to replace them",
               dir.string());
      fs::remove_all(dir, ec);
      WD_CHECK(!ec, "--out: cannot clear '{}': {}", dir.string(), ec.message());
    }
  }
  fs::create_directories(dir, ec);
  WD_CHECK(!ec, "--out: cannot create '{}': {}", dir.string(), ec.message());
}

}  // namespace wdlab
