#include "sweep/run_state.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace wdlab {
namespace fs = std::filesystem;

RunDirState summary_state(const std::string& summary_text, const std::string& expected_id) {
  RunDirState s{RunState::unfinished, "", ""};
  try {
    const nlohmann::json summary = nlohmann::json::parse(summary_text);
    s.status = summary.value("status", std::string());
    s.id = summary.value("config_id", std::string());
  } catch (const nlohmann::json::exception&) {
    return s;  // torn or foreign file: not a completed run
  }
  if (s.status == "finished" || s.status == "diverged")
    s.state = s.id == expected_id ? RunState::done : RunState::foreign;
  return s;
}

RunDirState inspect_run_dir(const fs::path& dir, const std::string& expected_id) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {RunState::missing, "", ""};
  std::ifstream in(dir / "summary.json");
  if (!in) return {RunState::unfinished, "", ""};
  std::stringstream text;
  text << in.rdbuf();
  return summary_state(text.str(), expected_id);
}

std::string_view to_string(RunState state) {
  switch (state) {
    case RunState::missing:
      return "missing";
    case RunState::unfinished:
      return "unfinished";
    case RunState::done:
      return "done";
    case RunState::foreign:
      return "foreign";
  }
  return "?";
}

}  // namespace wdlab
