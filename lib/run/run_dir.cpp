#include "run/run_dir.h"

#include "core/error.h"

namespace wdlab {
namespace fs = std::filesystem;

fs::path fresh_run_dir(const fs::path& base, const std::string& name) {
  fs::path dir = base / name;
  for (int i = 2; fs::exists(dir); ++i) dir = base / (name + "-" + std::to_string(i));
  return dir;
}

void create_run_dir(const fs::path& dir, bool replace) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    WD_CHECK(fs::is_directory(dir, ec), "--out: '{}' exists and is not a directory", dir.string());
    if (!fs::is_empty(dir, ec)) {
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
