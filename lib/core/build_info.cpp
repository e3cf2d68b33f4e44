#include "core/build_info.h"

#include <fmt/format.h>

namespace wdlab {

std::string describe_build() {
  const BuildInfo& b = build_info();
  if (b.git_commit == "unknown") return b.version + " (git commit unknown)";
  return fmt::format("{} (git {}{})", b.version, b.git_commit, b.git_dirty ? ", dirty" : "");
}

}  // namespace wdlab
