// Generated axis values in a sweep spec, wherever a list of values is allowed in "grid" or "zip":
//
//   {"range": [start, stop, step]}   start, start + step, ... up to stop, inclusive when stop lands
//                                    on the grid within rounding (1e-9 of a step); integers when
//                                    all three are integers, otherwise numbers rounded to 12
//                                    significant digits (0.1 + 2 * 0.1 is 0.3, not
//                                    0.30000000000000004), so run names stay short and stable
//   {"logspace": [low, high, n]}     n >= 2 numbers evenly spaced in log from low to high, both
//                                    included exactly, low, high > 0; the inner ones rounded to
//                                    12 significant digits
//
//   {"optim.lr": {"logspace": [1e-4, 1e-2, 5]}}  ->  0.0001, 0.000316227766017, 0.001, ...
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wdlab {

// Is `value` a generator ({"range": ...} or {"logspace": ...})?
bool is_value_generator(const nlohmann::ordered_json& value);

// The values a generator stands for. Errors name `where` (the spec file), the JSON path of the
// generator and what is allowed.
std::vector<nlohmann::json> generate_values(const nlohmann::ordered_json& generator,
                                            const std::string& where, const std::string& path);

}  // namespace wdlab
