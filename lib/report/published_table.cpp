#include "report/published_table.h"

#include <fmt/format.h>

#include "run/config.h"

namespace wdlab {
using nlohmann::json;

namespace {

std::string text_of(const json& t, const char* key) {
  if (!t.contains(key) || t[key].is_null()) return "";
  return t[key].is_string() ? t[key].get<std::string>() : t[key].dump();
}

}  // namespace

std::string applied_label(const std::string& applied) {
  if (applied == "decoupled_lr") return "decoupled ×lr";
  if (applied == "decoupled_schedule") return "decoupled ×schedule";
  if (applied == "lr_squared") return "decoupled ×lr²";
  if (applied == "coupled") return "coupled (L2 in the gradient)";
  if (applied == "unknown" || applied.empty()) return "unknown";
  return applied;
}

PublishedRow published_row(const json& preset) {
  PublishedRow row;
  row.preset = preset.value("name", std::string("?"));
  const json published = preset.value("published", json::object());
  if (!published.contains("weight_decay_table") || !published["weight_decay_table"].is_object()) {
    row.missing =
        fmt::format("{} has no published.weight_decay_table", preset.value("__file__", row.preset));
    return row;
  }
  const json& t = published["weight_decay_table"];
  row.present = true;
  if (t.contains("seed_value") && t["seed_value"].is_number()) {
    row.seed_value = t["seed_value"].get<double>();
    row.seed_text = fmt::format("{}", *row.seed_value);
  } else {
    row.seed_text = text_of(t, "seed_value");
  }
  row.primary = text_of(t, "primary");
  row.applied = text_of(t, "applied");
  row.tensors = text_of(t, "tensors");
  row.source = text_of(t, "source");
  row.verdict = text_of(t, "verdict");
  return row;
}

std::vector<PublishedRow> published_table() {
  std::vector<PublishedRow> rows;
  for (const std::string& name : list_model_families())
    rows.push_back(published_row(load_preset(name)));
  return rows;
}

TextTable published_text_table(const std::vector<PublishedRow>& rows) {
  TextTable t;
  t.columns = {"model", "λ (commonly quoted)", "primary sources", "applied", "tensors", "source",
               "status"};
  for (const PublishedRow& r : rows) {
    if (!r.present) {
      t.rows.push_back({r.preset, "", r.missing, "", "", "", "missing"});
    } else {
      t.rows.push_back({r.preset, r.seed_text, r.primary, applied_label(r.applied), r.tensors,
                        r.source, r.verdict});
    }
  }
  return t;
}

json published_json(const std::vector<PublishedRow>& rows) {
  json out = json::array();
  for (const PublishedRow& r : rows) {
    if (!r.present) {
      out.push_back({{"model", r.preset}, {"status", "missing"}, {"missing", r.missing}});
      continue;
    }
    out.push_back({{"model", r.preset},
                   {"seed_value", r.seed_value ? json(*r.seed_value) : json(r.seed_text)},
                   {"primary", r.primary},
                   {"applied", r.applied},
                   {"applied_label", applied_label(r.applied)},
                   {"tensors", r.tensors},
                   {"source", r.source},
                   {"status", r.verdict}});
  }
  return out;
}

}  // namespace wdlab
