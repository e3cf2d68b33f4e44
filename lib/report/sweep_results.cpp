#include "report/sweep_results.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/json_depth.h"
#include "sweep/run_state.h"

namespace wdlab {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json read_json(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return nullptr;
  std::stringstream text;
  text << in.rdbuf();
  return parse_result_json(text.str());
}

// Why a parsed metrics line is not one a run writes, or "". A run writes an object with a
// numeric "step" whose other values are numbers, null (not finite) or true/false ("diverged").
std::string row_problem(const json& row) {
  if (!row.is_object()) return "not a JSON object";
  if (!row.contains("step")) return "no \"step\"";
  for (auto it = row.begin(); it != row.end(); ++it) {
    const bool fits =
        it->is_number() || (it.key() != "step" && (it->is_null() || it->is_boolean()));
    if (!fits) return fmt::format("\"{}\" is {}, not a number", it.key(), it->dump());
  }
  return "";
}

}  // namespace

json parse_result_json(const std::string& text) {
  if (json_depth(text) > kMaxJsonDepth) return nullptr;
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    return nullptr;
  }
}

double RunResult::summary_number(const char* key) const {
  if (summary.is_object() && summary.contains(key) && summary[key].is_number())
    return summary[key].get<double>();
  return NAN;
}

json RunResult::config_value(const std::string& dotted_key) const {
  if (!config.is_object()) return nullptr;
  const json* node = &config;
  std::istringstream parts(dotted_key);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (!node->is_object() || !node->contains(part)) return nullptr;
    node = &(*node)[part];
  }
  return *node;
}

std::map<std::string, Curve> read_curves(const fs::path& metrics) {
  std::ifstream in(metrics);
  return parse_curves(in, metrics.string());
}

std::map<std::string, Curve> parse_curves(std::istream& in, const std::string& where) {
  std::map<std::string, Curve> curves;
  std::string line;
  for (size_t line_no = 1; std::getline(in, line); ++line_no) {
    json row;
    try {
      row = json::parse(line);
    } catch (const json::exception&) {
      spdlog::warn("{}:{}: skipped: not JSON (a torn last line?)", where, line_no);
      continue;
    }
    if (const std::string problem = row_problem(row); !problem.empty()) {
      spdlog::warn("{}:{}: skipped: {}", where, line_no, problem);
      continue;
    }
    const double step = row["step"].get<double>();
    for (auto it = row.begin(); it != row.end(); ++it) {
      if (it.key() == "step" || !it->is_number()) continue;
      const double v = it->get<double>();
      if (!std::isfinite(v)) continue;
      Curve& c = curves[it.key()];
      c.step.push_back(step);
      c.value.push_back(v);
    }
  }
  return curves;
}

Curve read_curve(const fs::path& metrics, const std::string& key) {
  std::map<std::string, Curve> curves = read_curves(metrics);
  return curves.contains(key) ? std::move(curves[key]) : Curve{};
}

SweepResults load_sweep_results(const fs::path& root) {
  const fs::path file = root / "sweep.json";
  std::error_code ec;
  WD_CHECK(fs::is_regular_file(file, ec),
           "{}: no sweep.json: not a sweep directory (made by "
           "`wdlab sweep`)",
           root.string());
  const json plan_json = read_json(file);
  WD_CHECK(!plan_json.is_null(), "{}: unreadable JSON", file.string());
  SweepResults r;
  r.root = root;
  r.plan = plan_from_json(plan_json, file.string());
  r.runs.resize(r.plan.runs.size());
  for (size_t i = 0; i < r.plan.runs.size(); ++i) {
    RunResult& run = r.runs[i];
    run.plan = &r.plan.runs[i];
    const fs::path dir = root / run.plan->name;
    const RunDirState s = inspect_run_dir(dir, run.plan->id);
    switch (s.state) {
      case RunState::done:
        run.status = s.status;
        break;
      case RunState::missing:
        run.status = "missing";
        break;
      case RunState::foreign:  // another config's result: not this run's
        run.status = "missing";
        continue;
      case RunState::unfinished:
        run.status = s.status == "interrupted" ? "interrupted" : "unfinished";
        if (!s.damage.empty())
          spdlog::warn("{}: {}: counted as not completed", (dir / "summary.json").string(),
                       s.damage);
        break;
    }
    if (s.state == RunState::missing) continue;
    run.config = read_json(dir / "config.json");
    run.summary = read_json(dir / "summary.json");
    run.curves = read_curves(dir / "metrics.jsonl");
    if (run.curves.contains("train_loss")) run.train = run.curves["train_loss"];
    if (run.curves.contains("val_loss")) run.val = run.curves["val_loss"];
  }
  return r;
}

}  // namespace wdlab
