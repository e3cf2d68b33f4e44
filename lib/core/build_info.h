// What this binary was built from: wdlab's version and the git state of its source tree at build
// time (cmake/git_info.cmake runs `git rev-parse HEAD` and `git describe --always --dirty` at
// every build). Outside a git checkout the commit and description are "unknown".
//
//   const BuildInfo& b = build_info();   // b.git_commit, b.git_dirty
#pragma once

#include <string>

namespace wdlab {

struct BuildInfo {
  std::string version;       // WDLAB_VERSION, e.g. "0.1.0"
  std::string git_commit;    // full hash of HEAD, or "unknown"
  std::string git_describe;  // e.g. "617cd79-dirty", or "unknown"
  bool git_dirty = false;    // tracked files differed from HEAD when built
};

const BuildInfo& build_info();

// "0.1.0 (git 617cd79c..., dirty)": for --version and logs.
std::string describe_build();

}  // namespace wdlab
