#include "sweep/plan.h"

#include "core/error.h"

namespace wdlab {
using nlohmann::json;

namespace {

json assignments_to_json(const std::vector<Assignment>& list) {
  json out = json::array();
  for (const Assignment& a : list) {
    json item = {{"key", a.key}, {"value", a.value}};
    if (!a.ref.empty()) item["ref"] = a.ref;
    out.push_back(std::move(item));
  }
  return out;
}

std::vector<Assignment> assignments_from_json(const json& j) {
  std::vector<Assignment> out;
  for (const json& item : j) {
    out.push_back(
        {item.at("key").get<std::string>(), item.at("value"), item.value("ref", std::string())});
  }
  return out;
}

}  // namespace

const json* PlannedRun::axis(const std::string& key) const {
  for (const Assignment& a : axes) {
    if (a.key == key) return &a.value;
  }
  return nullptr;
}

json plan_to_json(const SweepPlan& plan) {
  json runs = json::array();
  for (const PlannedRun& r : plan.runs) {
    runs.push_back({{"index", r.index},
                    {"name", r.name},
                    {"id", r.id},
                    {"preset", r.preset},
                    {"scale", r.scale},
                    {"axes", assignments_to_json(r.axes)},
                    {"overrides", r.overrides}});
  }
  json skipped = json::array();
  for (const SkippedPreset& s : plan.skipped)
    skipped.push_back({{"preset", s.preset}, {"reason", s.reason}});
  return {{"name", plan.name},
          {"description", plan.description},
          {"spec_file", plan.spec_file},
          {"spec", plan.spec},
          {"command_line", plan.command_line},
          {"reproduce_table", plan.reproduce_table},
          {"baseline", assignments_to_json(plan.baseline)},
          {"decay_budget", plan.decay_budget},
          {"metric", plan.metric},
          {"goal", plan.goal},
          {"duplicates", plan.duplicates},
          {"skipped", skipped},
          {"runs", runs},
          {"wdlab_version", WDLAB_VERSION}};
}

SweepPlan plan_from_json(const json& j, const std::string& where) {
  try {
    SweepPlan plan;
    plan.name = j.at("name").get<std::string>();
    plan.description = j.value("description", std::string());
    plan.spec_file = j.value("spec_file", std::string());
    plan.spec = j.value("spec", json::object());
    plan.command_line = j.value("command_line", std::vector<std::string>());
    plan.reproduce_table = j.value("reproduce_table", false);
    plan.baseline = assignments_from_json(j.value("baseline", json::array()));
    plan.decay_budget = j.value("decay_budget", 0.0);
    plan.metric = j.value("metric", std::string("final_val_loss"));
    plan.goal = j.value("goal", std::string("minimize"));
    plan.duplicates = j.value("duplicates", 0);
    for (const json& s : j.value("skipped", json::array()))
      plan.skipped.push_back(
          {s.at("preset").get<std::string>(), s.at("reason").get<std::string>()});
    for (const json& r : j.at("runs")) {
      PlannedRun run;
      run.index = r.at("index").get<int>();
      run.name = r.at("name").get<std::string>();
      run.id = r.at("id").get<std::string>();
      run.preset = r.at("preset").get<std::string>();
      run.scale = r.at("scale").get<std::string>();
      run.axes = assignments_from_json(r.at("axes"));
      run.overrides = r.at("overrides").get<std::vector<std::string>>();
      plan.runs.push_back(std::move(run));
    }
    return plan;
  } catch (const json::exception& e) {
    fail("{}: not a sweep plan written by wdlab sweep: {}", where, e.what());
  }
}

}  // namespace wdlab
