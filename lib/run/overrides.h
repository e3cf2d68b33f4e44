// Command-line overrides of a run config: "dotted.key=value", checked against the schema.
//
//   apply_override(config, "optim.weight_decay=0.1");
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace wdlab {

// Applies one "dotted.key=value" override in place. The value is read as JSON when it parses
// (numbers, true/false, [..], {..}, "quoted"), else as a bare string; for a string key the text
// is kept as typed (name=123 is the string "123"). Unknown keys list the allowed ones.
void apply_override(nlohmann::json& config, const std::string& assignment);

// Can `text` be a string of a config? Configs are hashed and written as JSON, which holds UTF-8
// only: command-line text that is not UTF-8 is refused where it enters.
bool is_utf8(const std::string& text);

}  // namespace wdlab
