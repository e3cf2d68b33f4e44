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

  const std::vector<std::string> presets = spec.all_presets ? list_model_families() : spec.presets;
  WD_CHECK(!presets.empty(),
           "{}: no presets found (searched: configs/ beside the executable, "
           "$WDLAB_CONFIGS)",
           spec.file);
  const std::vector<Point> points = product(spec.factors);
  std::set<std::string> ids;

  for (const std::string& preset_name : presets) {
    json preset;
    try {
      preset = load_preset(preset_name);
    } catch (const Error& e) {
      std::string msg = e.what();
      if (msg.starts_with("--preset: ")) msg.erase(0, 10);
      fail("{}: {}", spec.presets_where.empty() ? spec.file : spec.presets_where, msg);
    }
    if (!preset.value("scales", json::object()).contains(spec.scale)) {
      WD_CHECK(spec.all_presets, "{}: preset '{}' has no scale '{}'; available: {}", spec.file,
               preset_name, spec.scale, scales_of(preset));
      plan.skipped.push_back({preset_name, "no scale '" + spec.scale + "'"});
      continue;
    }
    std::set<std::string> skip_reasons;
    for (const Point& point : points) {
      Point all = spec.overrides;
      all.insert(all.end(), point.begin(), point.end());
      PlannedRun run;
      run.preset = preset_name;
      run.scale = spec.scale;
      json config;
      std::string misuse;  // a reference this run's decay mode cannot take
      try {
        // References need the rest of the run's config (its schedule), so they come second.
        std::vector<std::string> plain;
        for (const Assignment& a : all) {
          if (!is_reference(a.value)) plain.push_back(a.key + "=" + override_text(a.value));
        }
        config = resolve_config(preset, spec.scale, plain);
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
          config = resolve_config(preset, spec.scale, run.overrides);
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
