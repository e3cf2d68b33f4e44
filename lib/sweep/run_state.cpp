#include "sweep/run_state.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace wdlab {
namespace fs = std::filesystem;

namespace {

// The string values of a summary; every other value is a number, or null where the run had no
// finite value (JSON has no NaN) or the quantity does not apply (decay_budget of coupled L2).
bool is_text_key(const std::string& key) {
  return key == "status" || key == "config_id" || key == "wdlab_version";
}

// "resumed_at": the steps a resumed run continued from, a list of numbers.
bool is_number_list(const nlohmann::json& value) {
  if (!value.is_array()) return false;
  for (const nlohmann::json& v : value) {
    if (!v.is_number()) return false;
  }
  return true;
}

// Why a parsed summary is not one a run writes, or "".
std::string damage_of(const nlohmann::json& summary) {
  if (!summary.is_object()) return "not a JSON object";
  for (auto it = summary.begin(); it != summary.end(); ++it) {
    if (is_text_key(it.key())) {
      if (!it->is_string()) return fmt::format("\"{}\" is not a string", it.key());
    } else if (it.key() == "resumed_at") {
      if (!is_number_list(*it))
        return fmt::format("\"resumed_at\" is {}, not a list of steps", it->dump());
    } else if (!it->is_number() && !it->is_null()) {
      return fmt::format("\"{}\" is {}, not a number", it.key(), it->dump());
    }
  }
  return "";
}

}  // namespace

RunDirState summary_state(const std::string& summary_text, const std::string& expected_id) {
  RunDirState s{RunState::unfinished, "", "", ""};
  nlohmann::json summary;
  try {
    summary = nlohmann::json::parse(summary_text);
  } catch (const nlohmann::json::exception&) {
    return s;  // torn or foreign file: not a completed run
  }
  s.damage = damage_of(summary);
  if (!s.damage.empty()) return s;
  s.status = summary.value("status", std::string());
  s.id = summary.value("config_id", std::string());
  if (s.status == "finished" || s.status == "diverged")
    s.state = s.id == expected_id ? RunState::done : RunState::foreign;
  return s;
}

RunDirState inspect_run_dir(const fs::path& dir, const std::string& expected_id) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {RunState::missing, "", "", ""};
  std::ifstream in(dir / "summary.json");
  if (!in) return {RunState::unfinished, "", "", ""};
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
