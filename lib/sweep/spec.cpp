#include "sweep/spec.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/error.h"
#include "io/json_depth.h"
#include "io/json_text.h"
#include "run/config.h"
#include "sweep/random_search.h"
#include "sweep/references.h"
#include "sweep/value_generators.h"

namespace wdlab {
namespace fs = std::filesystem;
using nlohmann::json;
using ojson = nlohmann::ordered_json;  // keeps the spec's key order: it is the axis order

namespace {

// Errors name the spec and the JSON path ("configs/sweeps/x.json: /grid/optim.lr/2: ...").
[[noreturn]] void spec_fail(const std::string& where, const std::string& path,
                            const std::string& message) {
  fail("{}: {}: {}", where, path.empty() ? "/" : path, message);
}

std::string child(const std::string& path, const std::string& key) {
  return path + "/" + key;
}
std::string child(const std::string& path, size_t i) {
  return path + "/" + std::to_string(i);
}

json plain(const ojson& v) {
  return json::parse(v.dump());
}

// Is the schema's value at this dotted key a list (optim.decay_rules)? Then a list in the spec
// is one value, and a sweep over it is a list of lists.
bool list_valued(const std::string& key) {
  const json* node = &default_config();
  std::istringstream parts(key);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (!node->is_object() || !node->contains(part)) return false;
    node = &(*node)[part];
  }
  return node->is_array();
}

// Checks key and value against the schema through the same code a run uses.
void check_assignment(const std::string& key, const json& value, const std::string& where,
                      const std::string& path) {
  try {
    WD_CHECK(key != "preset" && key != "scale",
             "'{}' is chosen by base.{} (a name, a list or \"all\" for presets) or by a grid "
             "group's own \"{}\"",
             key, key, key);
    if (is_reference(value)) {
      check_reference(key, value.get<std::string>());
      return;
    }
    json scratch = default_config();
    apply_override(scratch, key + "=" + override_text(value));
  } catch (const Error& e) {
    spec_fail(where, path, e.what());
  }
}

// An unknown key is reported at the key, before any of its values.
void check_key(const std::string& key, const std::string& where, const std::string& path) {
  if (key == "preset" || key == "scale") return;  // check_assignment explains these two
  const json* node = &default_config();
  std::istringstream parts(key);
  std::string part;
  bool known = true;
  while (known && std::getline(parts, part, '.')) {
    known = node->is_object() && node->contains(part);
    if (known) node = &(*node)[part];
  }
  if (known && !node->is_object()) return;
  try {
    json scratch = default_config();
    apply_override(scratch, key + "=0");  // words the error and lists the allowed keys
  } catch (const Error& e) {
    spec_fail(where, path, e.what());
  }
  spec_fail(where, path, "not a config key");
}

// The values of one axis: a list, or a scalar as a one-value list.
std::vector<json> axis_values(const std::string& key, const ojson& v, const std::string& where,
                              const std::string& path, bool list_required) {
  check_key(key, where, path);
  std::vector<json> values;
  if (is_value_generator(v)) {
    values = generate_values(v, where, path);
    for (const json& value : values) check_assignment(key, value, where, path);
    return values;
  }
  if (v.is_array() && (!list_valued(key) || (!v.empty() && v[0].is_array()))) {
    for (size_t i = 0; i < v.size(); ++i) values.push_back(plain(v[i]));
    if (values.empty()) spec_fail(where, path, "empty list: an axis needs at least one value");
  } else {
    if (list_required) spec_fail(where, path, "expected a list of values");
    values.push_back(plain(v));
  }
  for (size_t i = 0; i < values.size(); ++i)
    check_assignment(key, values[i], where, v.is_array() ? child(path, i) : path);
  return values;
}

// A grid group's own "preset" (a name or a list of names) and "scale": its points run with
// those instead of base.preset and base.scale. Kept in the points as assignments of the keys
// "preset" (always a list) and "scale", which expand_sweep() takes out again.
Point group_settings(const ojson& grid, const std::string& where, const std::string& path) {
  Point settings;
  if (grid.contains("preset")) {
    const ojson& p = grid["preset"];
    json names = json::array();
    if (p.is_string() && p != "all" && !p.get<std::string>().empty()) {
      names.push_back(p.get<std::string>());
    } else if (p.is_array() && !p.empty()) {
      for (size_t i = 0; i < p.size(); ++i) {
        if (!p[i].is_string() || p[i] == "all" || p[i].get<std::string>().empty())
          spec_fail(where, child(child(path, "preset"), i), "expected a preset name");
        names.push_back(p[i].get<std::string>());
      }
    } else {
      spec_fail(where, child(path, "preset"),
                "expected a preset name or a list of names (the presets of this grid group)");
    }
    settings.push_back({"preset", names, "", path});
  }
  if (grid.contains("scale")) {
    const ojson& s = grid["scale"];
    if (!s.is_string() || s.get<std::string>().empty())
      spec_fail(where, child(path, "scale"),
                "expected a scale name (the scale of this grid group)");
    settings.push_back({"scale", s.get<std::string>(), "", path});
  }
  return settings;
}

Factor grid_points(const ojson& grid, const std::string& where, const std::string& path) {
  if (!grid.is_object()) spec_fail(where, path, "expected an object of key: [values]");
  Factor points = {group_settings(grid, where, path)};
  for (auto it = grid.begin(); it != grid.end(); ++it) {
    if (it.key() == "preset" || it.key() == "scale") continue;
    const std::vector<json> values =
        axis_values(it.key(), it.value(), where, child(path, it.key()), false);
    if (points.size() * values.size() > kMaxSweepPoints)
      spec_fail(where, path, fmt::format("more than {} points", kMaxSweepPoints));
    Factor next;
    for (const Point& p : points) {
      for (const json& v : values) {
        Point q = p;
        q.push_back({it.key(), v, "", path});
        next.push_back(std::move(q));
      }
    }
    points = std::move(next);
  }
  return points;
}

Factor zip_points(const ojson& group, const std::string& where, const std::string& path) {
  if (!group.is_object() || group.empty())
    spec_fail(where, path, "expected an object of key: [values], all lists of the same length");
  Factor points;
  size_t n = 0;
  std::string first_key;
  for (auto it = group.begin(); it != group.end(); ++it) {
    const std::vector<json> values =
        axis_values(it.key(), it.value(), where, child(path, it.key()), true);
    if (points.empty()) {
      n = values.size();
      first_key = it.key();
      points.resize(n);
    } else if (values.size() != n) {
      spec_fail(where, child(path, it.key()),
                fmt::format("{} values, but {} has {}: zipped lists must have the same length",
                            values.size(), first_key, n));
    }
    for (size_t i = 0; i < n; ++i) points[i].push_back({it.key(), values[i], "", path});
  }
  return points;
}

std::set<std::string> keys_of(const Factor& factor) {
  std::set<std::string> keys;
  for (const Point& p : factor) {
    for (const Assignment& a : p) keys.insert(a.key);
  }
  return keys;
}

// The product of the factors, refused past kMaxSweepPoints before anything expands it.
void check_size(const SweepSpec& spec, const std::string& where) {
  size_t points = 1;
  for (const Factor& f : spec.factors) {
    points *= f.size();
    WD_CHECK(points <= kMaxSweepPoints,
             "{}: more than {} runs per preset (grid x zip x seeds x command-line axes); split "
             "the sweep",
             where, kMaxSweepPoints);
  }
}

// A key may be set in one place only: a second place would silently win over the first.
void check_no_key_twice(const SweepSpec& spec, const std::string& where) {
  std::set<std::string> seen;
  for (const Assignment& a : spec.overrides) {
    if (!seen.insert(a.key).second) spec_fail(where, "/base/overrides", a.key + " is set twice");
  }
  for (const Factor& f : spec.factors) {
    for (const std::string& k : keys_of(f)) {
      if (!seen.insert(k).second)
        spec_fail(where, "/", k + " is set in two places (base.overrides, grid, zip, seeds)");
    }
  }
}

// The values of one command-line argument; `argument` (key=values) is for messages.
std::vector<json> parse_values(const std::string& text, const std::string& argument) {
  if (text.empty()) return {json("")};
  const char c = text.front();
  auto parse_one = [&](const std::string& t) {
    try {
      return json::parse(t);
    } catch (const json::parse_error&) {  // not JSON: a bare word
      return json(t);
    } catch (const json::out_of_range& e) {
      fail("command line '{}': {}", argument, number_out_of_range(e));
    }
  };
  if (c == '[' || c == '{' || c == '"') return {parse_one(text)};
  std::vector<json> values;
  std::istringstream parts(text);
  std::string part;
  while (std::getline(parts, part, ',')) values.push_back(parse_one(part));
  if (text.back() == ',') values.push_back(json(""));
  return values;
}

// Removes every assignment of `key` from a factor and merges the points that became equal.
void drop_key(Factor& factor, const std::string& key) {
  Factor kept;
  std::set<std::string> seen;
  for (Point p : factor) {
    std::erase_if(p, [&](const Assignment& a) { return a.key == key; });
    std::string sig;
    for (const Assignment& a : p) sig += a.key + "=" + a.value.dump() + ";";
    if (seen.insert(sig).second) kept.push_back(std::move(p));
  }
  factor = std::move(kept);
}

// "method": "grid" (every point) or "random" ("run_cap" points of the grid x zip product, drawn
// with "seed"). Replaces the grid and zip factors by the sample; seeds are parsed after this.
void parse_search_method(SweepSpec& spec, const ojson& j, const std::string& where) {
  if (j.contains("method")) {
    const ojson& m = j["method"];
    if (!m.is_string() || (m != "grid" && m != "random"))
      spec_fail(where, "/method", "expected \"grid\" (every point) or \"random\" (run_cap points)");
    spec.method = m.get<std::string>();
  }
  if (spec.method != "random") {
    for (const char* key : {"run_cap", "seed"}) {
      if (j.contains(key))
        spec_fail(where, std::string("/") + key,
                  "applies to \"method\": \"random\" only (the seeds of the runs are \"seeds\")");
    }
    return;
  }
  const size_t space = product_size(spec.factors);
  if (space == std::numeric_limits<size_t>::max())
    spec_fail(where, "/grid", "too many points to sample from");
  if (!j.contains("run_cap"))
    spec_fail(where, "/run_cap",
              fmt::format("required with \"method\": \"random\": how many of the grid's {} "
                          "points to run",
                          space));
  const ojson& cap = j["run_cap"];
  const bool whole =
      cap.is_number_unsigned() || (cap.is_number_integer() && cap.get<int64_t>() >= 0);
  if (!whole || cap.get<uint64_t>() < 1 || cap.get<uint64_t>() > space)
    spec_fail(where, "/run_cap",
              fmt::format("expected an integer from 1 to {} (the points of grid x zip), got {}",
                          space, cap.dump()));
  if (cap.get<uint64_t>() > kMaxSweepPoints)
    spec_fail(where, "/run_cap", fmt::format("more than {} points", kMaxSweepPoints));
  if (j.contains("seed")) {
    const ojson& s = j["seed"];
    if (!(s.is_number_unsigned() || (s.is_number_integer() && s.get<int64_t>() >= 0)))
      spec_fail(where, "/seed", "expected a non-negative integer (the sampling seed)");
    spec.sample_seed = s.get<uint64_t>();
  }
  spec.run_cap = cap.get<size_t>();
  Factor sample = sample_points(spec.factors, spec.run_cap, spec.sample_seed);
  spec.factors.clear();
  spec.factors.push_back(std::move(sample));
}

// "metric": the summary.json number the report ranks configurations by; "goal": its direction.
void parse_objective(SweepSpec& spec, const ojson& j, const std::string& where) {
  if (j.contains("metric")) {
    const ojson& m = j["metric"];
    if (!m.is_string() || !is_report_metric(m.get<std::string>()))
      spec_fail(where, "/metric", "expected one of " + report_metrics_list());
    spec.metric = m.get<std::string>();
  }
  if (j.contains("goal")) {
    const ojson& g = j["goal"];
    if (!g.is_string() || (g != "minimize" && g != "maximize"))
      spec_fail(where, "/goal", "expected \"minimize\" or \"maximize\"");
    spec.goal = g.get<std::string>();
  }
}

}  // namespace

bool is_report_metric(const std::string& metric) {
  static const std::set<std::string> metrics = {
      "final_val_loss",   "best_val_loss", "final_val_minus_floor",
      "final_train_loss", "best_val_step", "decay_budget",
      "norm_decay",       "norm_no_decay", "wall_seconds",
      "tokens_per_s"};
  if (metrics.contains(metric)) return true;
  static const std::set<std::string> kinds = {"matrix",    "embedding", "bias",  "norm_gain",
                                              "norm_bias", "router",    "expert"};
  return metric.starts_with("norm.") && kinds.contains(metric.substr(5));
}

std::string report_metrics_list() {
  return "final_val_loss, best_val_loss, final_val_minus_floor, final_train_loss, "
         "best_val_step, decay_budget, norm_decay, norm_no_decay, wall_seconds, tokens_per_s, "
         "norm.<kind> (kind: matrix, embedding, bias, norm_gain, norm_bias, router, expert)";
}

std::string override_text(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

SweepSpec parse_sweep_spec(const std::string& text, const std::string& where,
                           const std::string& default_name) {
  const ojson j = parse_json<ojson>(text, where);
  if (!j.is_object()) spec_fail(where, "", "expected a JSON object");
  static const std::set<std::string> allowed = {
      "name",     "description",  "base",   "grid",    "zip",  "seeds",  "reproduce_table",
      "baseline", "decay_budget", "method", "run_cap", "seed", "metric", "goal"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!allowed.contains(it.key()))
      spec_fail(where, "/" + it.key(),
                "unknown key; allowed: name, description, base, grid, zip, seeds, "
                "reproduce_table, baseline, decay_budget, method, run_cap, seed, metric, goal");
  }

  SweepSpec spec;
  spec.file = where;
  spec.source = plain(j);
  spec.name = default_name;
  if (j.contains("name")) {
    if (!j["name"].is_string() || j["name"].get<std::string>().empty())
      spec_fail(where, "/name", "expected a non-empty string");
    spec.name = j["name"].get<std::string>();
  }
  if (spec.name.find('/') != std::string::npos || spec.name == "." || spec.name == "..")
    spec_fail(where, "/name", "'" + spec.name + "' cannot be a directory name");
  if (j.contains("description")) {
    if (!j["description"].is_string()) spec_fail(where, "/description", "expected a string");
    spec.description = j["description"].get<std::string>();
  }

  if (!j.contains("base") || !j["base"].is_object())
    spec_fail(where, "/base", "required: {\"preset\": ..., \"scale\": ...}");
  const ojson& base = j["base"];
  for (auto it = base.begin(); it != base.end(); ++it) {
    if (it.key() != "preset" && it.key() != "scale" && it.key() != "overrides")
      spec_fail(where, "/base/" + it.key(), "unknown key; allowed: preset, scale, overrides");
  }
  const ojson preset = base.contains("preset") ? base["preset"] : ojson();
  spec.presets_where = where + ": /base/preset";
  if (preset.is_null()) {
    // Checked once the grid is read: every grid group must then name its presets.
  } else if (preset == "all") {
    spec.all_presets = true;
  } else if (preset.is_string()) {
    spec.presets.push_back(preset.get<std::string>());
  } else if (preset.is_array() && !preset.empty()) {
    for (size_t i = 0; i < preset.size(); ++i) {
      if (!preset[i].is_string()) spec_fail(where, child("/base/preset", i), "expected a name");
      spec.presets.push_back(preset[i].get<std::string>());
    }
  } else {
    spec_fail(where, "/base/preset", "expected a preset name, a list of names or \"all\"");
  }
  if (base.contains("scale")) {
    if (!base["scale"].is_string()) spec_fail(where, "/base/scale", "expected a scale name");
    spec.scale = base["scale"].get<std::string>();
  }
  if (base.contains("overrides")) {
    const ojson& o = base["overrides"];
    if (!o.is_object()) spec_fail(where, "/base/overrides", "expected an object of key: value");
    for (auto it = o.begin(); it != o.end(); ++it) {
      const std::string path = child("/base/overrides", it.key());
      check_assignment(it.key(), plain(it.value()), where, path);
      spec.overrides.push_back({it.key(), plain(it.value()), "", "/base/overrides"});
    }
  }

  if (j.contains("grid")) {
    const ojson& g = j["grid"];
    Factor f;
    if (g.is_array()) {
      if (g.empty()) spec_fail(where, "/grid", "empty list of grids");
      for (size_t i = 0; i < g.size(); ++i) {
        Factor part = grid_points(g[i], where, child("/grid", i));
        f.insert(f.end(), part.begin(), part.end());
        if (f.size() > kMaxSweepPoints)
          spec_fail(where, "/grid", fmt::format("more than {} points", kMaxSweepPoints));
      }
    } else {
      f = grid_points(g, where, "/grid");
    }
    spec.factors.push_back(std::move(f));
  }
  if (j.contains("zip")) {
    const ojson& z = j["zip"];
    if (z.is_object()) {
      spec.factors.push_back(zip_points(z, where, "/zip"));
    } else if (z.is_array()) {
      for (size_t i = 0; i < z.size(); ++i)
        spec.factors.push_back(zip_points(z[i], where, child("/zip", i)));
    } else {
      spec_fail(where, "/zip", "expected a list of {key: [values]} groups");
    }
  }
  if (preset.is_null()) {
    const bool every_point_has_a_preset =
        !spec.factors.empty() && j.contains("grid") &&
        std::all_of(spec.factors[0].begin(), spec.factors[0].end(), [](const Point& p) {
          return std::any_of(p.begin(), p.end(),
                             [](const Assignment& a) { return a.key == "preset"; });
        });
    if (!every_point_has_a_preset)
      spec_fail(where, "/base/preset",
                "required (a name, a list or \"all\") unless every grid group sets its own "
                "\"preset\"");
  }
  parse_search_method(spec, j, where);
  if (j.contains("seeds")) {
    const ojson& s = j["seeds"];
    Factor f;
    const ojson list = s.is_array() ? s : ojson::array({s});
    if (list.empty()) spec_fail(where, "/seeds", "empty list");
    for (size_t i = 0; i < list.size(); ++i) {
      // Seeds are uint64: positive literals parse as unsigned, negative ones as signed.
      const bool seed = list[i].is_number_unsigned() ||
                        (list[i].is_number_integer() && list[i].get<int64_t>() >= 0);
      if (!seed)
        spec_fail(where, s.is_array() ? child("/seeds", i) : "/seeds",
                  "expected a non-negative integer");
      f.push_back({{"seed", plain(list[i]), ""}});
    }
    spec.factors.push_back(std::move(f));
  }

  if (j.contains("reproduce_table")) {
    if (!j["reproduce_table"].is_boolean())
      spec_fail(where, "/reproduce_table", "expected true or false");
    spec.reproduce_table = j["reproduce_table"].get<bool>();
  }
  const ojson baseline = j.contains("baseline") ? j["baseline"]
                                                : ojson{{"optim.decay_mode", "coupled"},
                                                        {"optim.decay_scope", "uniform"}};
  if (!baseline.is_object()) spec_fail(where, "/baseline", "expected an object of key: value");
  for (auto it = baseline.begin(); it != baseline.end(); ++it) {
    check_assignment(it.key(), plain(it.value()), where, child("/baseline", it.key()));
    spec.baseline.push_back({it.key(), plain(it.value()), ""});
  }
  if (j.contains("decay_budget")) {
    if (!j["decay_budget"].is_number() || j["decay_budget"].get<double>() <= 0)
      spec_fail(where, "/decay_budget", "expected a positive number");
    spec.decay_budget = j["decay_budget"].get<double>();
  }
  parse_objective(spec, j, where);
  check_no_key_twice(spec, where);
  check_size(spec, where);
  return spec;
}

SweepSpec load_sweep_spec(const fs::path& file) {
  std::error_code ec;
  WD_CHECK(fs::is_regular_file(file, ec), "{}: no such sweep spec", file.string());
  std::ifstream in(file);
  WD_CHECK(in.good(), "{}: cannot read the file", file.string());
  std::stringstream text;
  text << in.rdbuf();
  return parse_sweep_spec(text.str(), file.string(), file.stem().string());
}

void apply_command_line(SweepSpec& spec, const std::vector<std::string>& arguments) {
  for (const std::string& arg : arguments) {
    WD_CHECK(is_utf8(arg), "'{}': not UTF-8 text", arg);
    const size_t eq = arg.find('=');
    WD_CHECK(eq != std::string::npos && eq > 0,
             "'{}': expected key=value or key=v1,v2,... (e.g. optim.weight_decay=0.01,0.1)", arg);
    std::string key = arg.substr(0, eq);
    WD_CHECK(json_depth(arg) <= kMaxJsonDepth, "'{}=...': nested deeper than {} levels", key,
             kMaxJsonDepth);
    const std::vector<json> values = parse_values(arg.substr(eq + 1), arg);
    if (key == "seeds") key = "seed";
    if (key == "preset" || key == "scale") {
      // The command line wins over the grid groups' own presets and scales too.
      for (Factor& f : spec.factors) drop_key(f, key);
    }
    if (key == "preset") {
      spec.presets_where = "command line: '" + arg + "'";
      spec.presets.clear();
      spec.all_presets = values.size() == 1 && values[0] == "all";
      for (const json& v : values) {
        WD_CHECK(v.is_string() && !v.get<std::string>().empty(), "'{}': expected preset names",
                 arg);
        if (!spec.all_presets) spec.presets.push_back(v.get<std::string>());
      }
    } else if (key == "scale") {
      WD_CHECK(values.size() == 1 && values[0].is_string(), "'{}': expected one scale name", arg);
      spec.scale = values[0].get<std::string>();
    } else {
      for (const json& v : values) check_assignment(key, v, "command line", "'" + arg + "'");
      std::erase_if(spec.overrides, [&](const Assignment& a) { return a.key == key; });
      for (Factor& f : spec.factors) drop_key(f, key);
      std::erase_if(spec.factors,
                    [](const Factor& f) { return f.empty() || (f.size() == 1 && f[0].empty()); });
      const std::string where = "command line '" + arg + "'";
      if (values.size() == 1) {
        spec.overrides.push_back({key, values[0], "", where});
      } else {
        Factor f;
        for (const json& v : values) f.push_back({{key, v, "", where}});
        // Seeds stay innermost, so the runs of one configuration sit side by side.
        const bool seeds_last =
            !spec.factors.empty() && keys_of(spec.factors.back()) == std::set<std::string>{"seed"};
        if (key == "seed" || !seeds_last) {
          spec.factors.push_back(std::move(f));
        } else {
          spec.factors.insert(spec.factors.end() - 1, std::move(f));
        }
      }
    }
    spec.command_line.push_back(arg);
  }
  check_size(spec, "command line");
}

}  // namespace wdlab
