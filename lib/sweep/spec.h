// A sweep spec: the set of runs a sweep is made of, read from a JSON file (configs/sweeps/).
//
//   {
//     "name": "smoke",                                  // default: the file's stem
//     "description": "one line for the report",
//     "base": {"preset": "all", "scale": "tiny",        // a name, a list, or "all" (families)
//              "overrides": {"train.steps": 12}},       // dotted keys, fixed for every run
//     "grid": {"optim.decay_mode": ["coupled", "decoupled"],
//              "optim.decay_scope": ["selective", "uniform"]},
//     "zip": [{"optim.lr": [1e-3, 3e-3], "optim.warmup_steps": [20, 10]}],
//     "seeds": [1, 2, 3],
//     "reproduce_table": false,                         // report headline: the published table
//     "baseline": {"optim.decay_mode": "coupled", "optim.decay_scope": "uniform"},
//     "decay_budget": 4.0,                              // D for "@budget_matched" (references.h)
//     "method": "random", "run_cap": 20, "seed": 7,     // 20 points of grid x zip
//     (random_search.h) "metric": "final_val_loss", "goal": "minimize"    // how the report names
//     the best run
//   }
// A list of values in grid or zip may be a generator: {"range": [a, b, step]} or
// {"logspace": [lo, hi, n]} (value_generators.h).
//
// grid: a cartesian grid (a scalar is a one-value axis), or a list of grids whose union is taken
// (as sklearn's ParameterGrid), e.g. {"decay_mode": "none"} beside {coupled, decoupled} x λ.
// zip: groups of equal-length lists whose i-th values go together (a decay mode with its own λ).
// The runs are the product preset x grid x zip groups x command-line axes x seeds, the first
// varying slowest. Every key and value is checked against the config schema when the spec is
// read; errors name the file and the JSON path.
//
//   SweepSpec spec = load_sweep_spec("configs/sweeps/smoke.json");
//   apply_command_line(spec, {"optim.weight_decay=0.01,0.1", "train.steps=50"});
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wdlab {

// One config key set to one value. `ref` keeps the spec's symbolic value ("@published") once
// `value` holds what it resolved to for a run.
struct Assignment {
  std::string key;
  nlohmann::json value;
  std::string ref;
  // Where the spec set it, for messages: "/grid/1" (the grid group), "/zip/0", "/base/overrides"
  // or "command line 'key=v1,v2'". Empty where unknown (a plan read back from sweep.json).
  std::string where = {};
};
using Point = std::vector<Assignment>;
// One factor of the product: its alternatives, each setting one or more keys.
using Factor = std::vector<Point>;

struct SweepSpec {
  std::string file;  // where the spec was read, for messages
  std::string name;
  std::string description;
  bool all_presets = false;
  std::vector<std::string> presets;
  std::string presets_where;  // "file: /base/preset" or the command-line argument
  std::string scale = "tiny";
  std::vector<Assignment> overrides;  // fixed for every run
  std::vector<Factor> factors;        // outermost first; the seeds factor (key "seed") is last
  bool reproduce_table = false;
  std::vector<Assignment> baseline;
  double decay_budget = 4.0;
  std::string method = "grid";  // or "random": run_cap points of grid x zip (random_search.h)
  size_t run_cap = 0;
  uint64_t sample_seed = 0;
  // What the report ranks configurations by: a summary.json number, and its direction.
  std::string metric = "final_val_loss";
  std::string goal = "minimize";
  nlohmann::json source;                  // the spec as read
  std::vector<std::string> command_line;  // the key=value arguments applied on top
};

// The most runs a spec may make (before presets): more than a CPU trains in weeks, so a larger
// product is a mistake, refused before it is expanded in memory.
inline constexpr size_t kMaxSweepPoints = 10000;

SweepSpec load_sweep_spec(const std::filesystem::path& file);
// `where` names the source in messages; `default_name` is used when the spec has no "name".
SweepSpec parse_sweep_spec(const std::string& text, const std::string& where,
                           const std::string& default_name);

// Command-line axes on top of a spec, Hydra style: key=v1,v2 makes (or replaces) an axis, key=v
// fixes a value; either removes the key from the spec's grid, zip groups and seeds. "preset" and
// "scale" replace the base; "seeds" is an alias of "seed". A value starting with [ { or " is
// one JSON value (commas and all).
void apply_command_line(SweepSpec& spec, const std::vector<std::string>& arguments);

// Can the report rank by this summary.json key ("final_val_loss", "norm.matrix", ...)?
bool is_report_metric(const std::string& metric);
std::string report_metrics_list();

// The text that apply_override() reads back as `value`: strings bare, the rest as JSON.
std::string override_text(const nlohmann::json& value);

}  // namespace wdlab
