#include "run/overrides.h"

#include <sstream>

#include "core/error.h"
#include "io/json_depth.h"
#include "io/json_text.h"
#include "run/config.h"

namespace wdlab {
using nlohmann::json;

bool is_utf8(const std::string& text) {
  try {
    (void)json(text).dump();  // the writer's own check, so that what passes here can be written
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

void apply_override(json& config, const std::string& assignment) {
  WD_CHECK(is_utf8(assignment), "override '{}': not UTF-8 text", assignment);
  const size_t eq = assignment.find('=');
  WD_CHECK(eq != std::string::npos && eq > 0,
           "override '{}': expected key=value, e.g. optim.weight_decay=0.1", assignment);
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);

  // Walk the dotted key through the schema.
  const json* def = &default_config();
  json* target = &config;
  std::string walked;
  std::istringstream parts(key);
  std::string part;
  while (std::getline(parts, part, '.')) {
    WD_CHECK(def->is_object(), "override '{}': '{}' is a value, not a section", key, walked);
    auto it = def->find(part);
    const std::string here = walked.empty() ? part : walked + "." + part;
    if (it == def->end()) {
      std::string allowed;
      for (auto k = def->begin(); k != def->end(); ++k) {
        if (!allowed.empty()) allowed += ", ";
        allowed += (walked.empty() ? "" : walked + ".") + k.key();
      }
      fail("override '{}': unknown key '{}'; allowed: {}", key, here, allowed);
    }
    def = &*it;
    target = &(*target)[part];
    walked = here;
  }
  WD_CHECK(!def->is_object(), "override '{}': '{}' is a section; set one of its keys: {}", key, key,
           keys_of(*def));

  WD_CHECK(json_depth(text) <= kMaxJsonDepth, "override '{}': nested deeper than {} levels", key,
           kMaxJsonDepth);
  json value;
  try {
    value = json::parse(text);
  } catch (const json::parse_error&) {
    value = text;  // a bare word: a string
  } catch (const json::out_of_range& e) {
    // A number beyond a double: text where the key holds text, an error where it holds a number.
    WD_CHECK(def->is_string(), "override '{}': {}: {}", assignment, key, number_out_of_range(e));
    value = text;
  }
  if (def->is_string() && !value.is_string()) value = text;
  WD_CHECK(type_fits(*def, value), "override '{}': {} expects {}, got '{}'", assignment, key,
           type_name(*def), text);
  *target = value;
}

}  // namespace wdlab
