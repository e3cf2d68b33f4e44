#include "report/export.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "report/sweep_results.h"
#include "sweep/run_state.h"

namespace wdlab {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// One run as exported: its config flattened to dotted keys, its summary and its curves.
struct ExportRun {
  std::string name;
  std::string status;
  std::string config_id;
  std::map<std::string, json> config;  // dotted key -> value
  json summary;                        // summary.json, or null
  std::map<std::string, Curve> curves;
};

// The config's values by dotted key, without wdlab's own block and the run's name (the row has
// it already).
std::map<std::string, json> dotted_values(const json& config) {
  std::map<std::string, json> values;
  if (!config.is_object()) return values;
  json c = config;
  c.erase("wdlab");
  c.erase("name");
  const json flat = c.flatten();
  for (auto it = flat.begin(); it != flat.end(); ++it) {
    std::string key = it.key().substr(1);
    std::replace(key.begin(), key.end(), '/', '.');
    values[key] = it.value();
  }
  return values;
}

std::string cell(const json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();  // numbers in their shortest round-trip form; true/false; lists as JSON
}

json read_json_file(const fs::path& file, bool warn) {
  std::ifstream in(file);
  if (!in) return nullptr;
  std::stringstream text;
  text << in.rdbuf();
  json j = parse_result_json(text.str());
  if (j.is_null() && warn) spdlog::warn("{}: skipped: not readable JSON", file.string());
  return j;
}

std::vector<ExportRun> sweep_runs(const fs::path& root, std::vector<std::string>& axis_keys) {
  const SweepResults r = load_sweep_results(root);
  std::vector<ExportRun> runs;
  for (const RunResult& result : r.runs) {
    ExportRun run;
    run.name = result.plan->name;
    run.status = result.status;
    run.config_id = result.plan->id;
    run.config = dotted_values(result.config);
    const fs::path dir = root / run.name;
    std::error_code ec;
    if (result.config.is_null() && fs::is_regular_file(dir / "config.json", ec) &&
        result.status != "missing")
      spdlog::warn("{}: skipped: not readable JSON", (dir / "config.json").string());
    // A run without a config (never ran) still has its place in the grid.
    run.config.try_emplace("preset", result.plan->preset);
    run.config.try_emplace("scale", result.plan->scale);
    for (const Assignment& a : result.plan->axes) {
      run.config.try_emplace(a.key, a.value);
      if (std::find(axis_keys.begin(), axis_keys.end(), a.key) == axis_keys.end())
        axis_keys.push_back(a.key);
    }
    run.summary = result.summary;
    run.curves = result.curves;
    runs.push_back(std::move(run));
  }
  return runs;
}

ExportRun single_run(const fs::path& dir) {
  const fs::path config_file = dir / "config.json";
  const json config = read_json_file(config_file, false);
  WD_CHECK(config.is_object() && config.contains("wdlab") && config["wdlab"].is_object(),
           "{}: not a wdlab run config (unreadable, or without its \"wdlab\" block)",
           config_file.string());
  ExportRun run;
  fs::path full = fs::absolute(dir).lexically_normal();
  if (!full.has_filename()) full = full.parent_path();  // "runs/a/"
  run.name = full.filename().string();
  run.config_id = config["wdlab"].value("config_id", std::string());
  run.config = dotted_values(config);
  const RunDirState s = inspect_run_dir(dir, run.config_id);
  if (!s.damage.empty())
    spdlog::warn("{}: {}: counted as not completed", (dir / "summary.json").string(), s.damage);
  run.status = s.state == RunState::done   ? s.status
               : s.status == "interrupted" ? "interrupted"
                                           : "unfinished";
  run.summary = read_json_file(dir / "summary.json", true);
  run.curves = read_curves(dir / "metrics.jsonl");
  return run;
}

// The keys whose values differ between runs that have them, axes first in their order.
std::vector<std::string> varying_keys(const std::vector<ExportRun>& runs,
                                      const std::vector<std::string>& axis_keys) {
  std::map<std::string, std::set<std::string>> seen;
  for (const ExportRun& run : runs) {
    for (const auto& [key, value] : run.config) seen[key].insert(value.dump());
  }
  std::vector<std::string> keys;
  for (const std::string& k : axis_keys) {
    if (seen.contains(k) && (seen[k].size() > 1 || runs.size() == 1)) keys.push_back(k);
  }
  for (const auto& [key, values] : seen) {
    if ((values.size() > 1 || runs.size() == 1) &&
        std::find(keys.begin(), keys.end(), key) == keys.end())
      keys.push_back(key);
  }
  return keys;
}

// The reader keeps numbers as doubles: whole ones (steps, token counts) are written without a
// fraction, the rest in their shortest round-trip form.
std::string number(double v) {
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0)  // 2^53: every integer exact
    return fmt::format("{}", static_cast<int64_t>(v));
  return json(v).dump();
}

bool is_summary_text(const std::string& key) {
  return key == "status" || key == "config_id" || key == "wdlab_version";
}

}  // namespace

ExportTables export_tables(const fs::path& dir) {
  std::error_code ec;
  WD_CHECK(fs::is_directory(dir, ec), "{}: not a directory", dir.string());
  std::vector<ExportRun> runs;
  std::vector<std::string> axis_keys;
  if (fs::exists(dir / "sweep.json", ec)) {
    runs = sweep_runs(dir, axis_keys);
  } else {
    WD_CHECK(fs::exists(dir / "config.json", ec),
             "{}: neither a sweep directory (no sweep.json, made by `wdlab sweep`) nor a run "
             "directory (no config.json, made by `wdlab run`)",
             dir.string());
    runs.push_back(single_run(dir));
  }

  ExportTables t;
  t.varying_keys = varying_keys(runs, axis_keys);
  // Summary columns: every number any run's summary.json holds, in key order.
  std::set<std::string> summary_keys;
  for (const ExportRun& run : runs) {
    if (!run.summary.is_object()) continue;
    for (auto it = run.summary.begin(); it != run.summary.end(); ++it) {
      if (!is_summary_text(it.key()) && (it->is_number() || it->is_null()))
        summary_keys.insert(it.key());
    }
  }
  t.runs.columns = {"run"};
  t.runs.columns.insert(t.runs.columns.end(), t.varying_keys.begin(), t.varying_keys.end());
  t.runs.columns.push_back("status");
  t.runs.columns.push_back("config_id");
  t.runs.columns.insert(t.runs.columns.end(), summary_keys.begin(), summary_keys.end());
  t.metrics.columns = {"run", "step", "key", "value"};

  for (const ExportRun& run : runs) {
    std::vector<std::string> row = {run.name};
    for (const std::string& k : t.varying_keys) {
      const auto it = run.config.find(k);
      row.push_back(it == run.config.end() ? "" : cell(it->second));
    }
    row.push_back(run.status);
    row.push_back(run.config_id);
    for (const std::string& k : summary_keys) {
      row.push_back(run.summary.is_object() && run.summary.contains(k) ? cell(run.summary[k]) : "");
    }
    t.runs.rows.push_back(std::move(row));

    // Long format in the order of the log: by step, then by key.
    struct Value {
      double step;
      const std::string* key;
      double value;
    };
    std::vector<Value> values;
    for (const auto& [key, curve] : run.curves) {
      for (size_t i = 0; i < curve.step.size(); ++i)
        values.push_back({curve.step[i], &key, curve.value[i]});
    }
    std::stable_sort(values.begin(), values.end(),
                     [](const Value& a, const Value& b) { return a.step < b.step; });
    for (const Value& v : values)
      t.metrics.rows.push_back({run.name, number(v.step), *v.key, number(v.value)});
  }
  return t;
}

ExportFiles write_export(const ExportTables& tables, const fs::path& out_dir) {
  const std::string runs = to_csv(tables.runs), metrics = to_csv(tables.metrics);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  WD_CHECK(!ec, "--out: cannot create '{}': {}", out_dir.string(), ec.message());
  ExportFiles files{out_dir / "runs.csv", out_dir / "metrics.csv"};
  write_file_atomic(files.runs, runs);
  write_file_atomic(files.metrics, metrics);
  return files;
}

}  // namespace wdlab
