#include "sweep/expand.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "run/config.h"
#include "sweep/references.h"
#include "sweep/run_name.h"

namespace wdlab {
using nlohmann::json;

namespace {

std::vector<Point> product(const std::vector<Factor>& factors) {
  std::vector<Point> points = {Point{}};
  for (const Factor& f : factors) {
    std::vector<Point> next;
    for (const Point& p : points) {
      for (const Point& q : f) {
        Point r = p;
        r.insert(r.end(), q.begin(), q.end());
        next.push_back(std::move(r));
      }
    }
    points = std::move(next);
  }
  return points;
}

std::string describe(const Point& point) {
  std::string s;
  for (const Assignment& a : point)
    s += (s.empty() ? "" : ", ") + a.key + "=" + override_text(a.value);
  return s;
}

std::string scales_of(const json& preset) {
  const json scales = preset.value("scales", json::object());
  std::string s;
  for (auto it = scales.begin(); it != scales.end(); ++it) s += (s.empty() ? "" : ", ") + it.key();
  return s.empty() ? "(none)" : s;
}

// A grid group's own "preset" (a list of names) or "scale" in a point (spec.h), or null.
const Assignment* group_setting(const Point& point, const std::string& key) {
  for (const Assignment& a : point) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

}  // namespace

SweepPlan expand_sweep(const SweepSpec& spec) {
  SweepPlan plan;
  plan.name = spec.name;
  plan.description = spec.description;
  plan.spec_file = spec.file;
  plan.spec = spec.source;
  plan.command_line = spec.command_line;
  plan.reproduce_table = spec.reproduce_table;
  plan.baseline = spec.baseline;
  plan.decay_budget = spec.decay_budget;
  plan.metric = spec.metric;
  plan.goal = spec.goal;

  const std::vector<std::string> base_presets =
      spec.all_presets ? list_model_families() : spec.presets;
  const std::vector<Point> points = product(spec.factors);
  // The base presets, then those that only grid groups name, in the order they appear.
  std::vector<std::string> presets = base_presets;
  for (const Point& point : points) {
    if (const Assignment* own = group_setting(point, "preset")) {
      for (const json& name : own->value) {
        if (std::find(presets.begin(), presets.end(), name.get<std::string>()) == presets.end())
          presets.push_back(name.get<std::string>());
      }
    }
  }
  WD_CHECK(!presets.empty(),
           "{}: no presets found (searched: configs/ beside the executable, "
           "$WDLAB_CONFIGS)",
           spec.file);
  std::set<std::string> ids;

  for (const std::string& preset_name : presets) {
    const bool in_base =
        std::find(base_presets.begin(), base_presets.end(), preset_name) != base_presets.end();
    json preset;
    try {
      preset = load_preset(preset_name);
    } catch (const Error& e) {
      std::string msg = e.what();
      if (msg.starts_with("--preset: ")) msg.erase(0, 10);
      std::string where = spec.presets_where.empty() ? spec.file : spec.presets_where;
      if (!in_base) {  // named by a grid group only
        for (const Point& point : points) {
          const Assignment* own = group_setting(point, "preset");
          if (own && std::find(own->value.begin(), own->value.end(), json(preset_name)) !=
                         own->value.end()) {
            where = spec.file + ": " + own->where + "/preset";
            break;
          }
        }
      }
      fail("{}: {}", where, msg);
    }
    std::set<std::string> skip_reasons;
    for (const Point& grid_point : points) {
      // A grid group with its own presets runs with those only; the others with base.preset.
      const Assignment* own_preset = group_setting(grid_point, "preset");
      const Assignment* own_scale = group_setting(grid_point, "scale");
      if (own_preset ? std::find(own_preset->value.begin(), own_preset->value.end(),
                                 json(preset_name)) == own_preset->value.end()
                     : !in_base)
        continue;
      const std::string scale = own_scale ? own_scale->value.get<std::string>() : spec.scale;
      if (!preset.value("scales", json::object()).contains(scale)) {
        WD_CHECK(spec.all_presets && !own_preset,
                 "{}: preset '{}' has no scale '{}'; available: {}",
                 own_scale ? spec.file + ": " + own_scale->where + "/scale" : spec.file,
                 preset_name, scale, scales_of(preset));
        const std::string reason = "no scale '" + scale + "'";
        if (skip_reasons.insert(reason).second) plan.skipped.push_back({preset_name, reason});
        continue;
      }
      Point point = grid_point;
      std::erase_if(point,
                    [](const Assignment& a) { return a.key == "preset" || a.key == "scale"; });
      Point all = spec.overrides;
      all.insert(all.end(), point.begin(), point.end());
      PlannedRun run;
      run.preset = preset_name;
      run.scale = scale;
      json config;
      std::string misuse;  // a reference this run's decay mode cannot take
      try {
        // References need the rest of the run's config (its schedule), so they come second.
        std::vector<std::string> plain;
        for (const Assignment& a : all) {
          if (!is_reference(a.value)) plain.push_back(a.key + "=" + override_text(a.value));
        }
        config = resolve_config(preset, scale, plain);
        std::string skip;
        for (Assignment& a : all) {
          if (!is_reference(a.value)) continue;
          const std::string ref = a.value.get<std::string>();
          misuse = budget_reference_misuse(ref, config);
          if (!misuse.empty()) {
            misuse =
                fmt::format("{}: {}{}: {} (preset {}, {})", spec.file,
                            a.where.starts_with("/grid") ? "grid group " : "",
                            a.where.empty() ? "/" : a.where, misuse, preset_name, describe(point));
            break;
          }
          const ResolvedReference r = resolve_reference(ref, preset, config, spec.decay_budget);
          if (!r.value) {
            skip = ref + ": " + r.why_not;
            break;
          }
          a.value = *r.value;
          a.ref = ref;
        }
        if (!skip.empty()) {
          if (skip_reasons.insert(skip).second) plan.skipped.push_back({preset_name, skip});
          continue;
        }
        if (misuse.empty()) {
          for (const Assignment& a : all)
            run.overrides.push_back(a.key + "=" + override_text(a.value));
          config = resolve_config(preset, scale, run.overrides);
          parse_run_config(config);
        }
      } catch (const Error& e) {
        fail("{}: the run with preset={}, {}: {}", spec.file, preset_name, describe(point),
             e.what());
      }
      // Outside the block above, which would bury the spec's mistake in one run's description.
      if (!misuse.empty()) fail("{}", misuse);
      run.id = config_id(config);
      if (!ids.insert(run.id).second) {
        // decay_scaling has no effect without decoupled decay: resolve_config records it as
        // null, so the points that differ only there have the same id.
        ++plan.duplicates;
        plan.scaling_duplicates += config["optim"]["decay_scaling"].is_null() &&
                                   std::any_of(all.begin(), all.end(), [](const Assignment& a) {
                                     return a.key == "optim.decay_scaling";
                                   });
        continue;
      }
      run.axes.push_back({"preset", preset_name, ""});
      if (own_scale) run.axes.push_back({"scale", scale, ""});
      run.axes.insert(run.axes.end(), all.begin() + static_cast<long>(spec.overrides.size()),
                      all.end());
      run.index = static_cast<int>(plan.runs.size());
      plan.runs.push_back(std::move(run));
    }
  }
  name_runs(plan.runs);
  return plan;
}

}  // namespace wdlab
