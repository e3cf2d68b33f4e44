// How deeply a JSON text nests. nlohmann's parser reads any depth, but copying, dumping and
// comparing a value recurse once per level, so a few hundred kB of "[" overflow the stack. The
// readers of text from outside that keep, copy or print what they parse (presets, sweep specs,
// overrides, safetensors headers, the report's JSON files) refuse, or treat as unreadable, a text
// nested deeper than kMaxJsonDepth before parsing it.
//
//   WD_CHECK(json_depth(text) <= kMaxJsonDepth, "{}: JSON nested deeper than {} levels", ...);
#pragma once

#include <cstddef>
#include <string_view>

namespace wdlab {

// No file wdlab reads or writes nests deeper than 5 levels.
inline constexpr size_t kMaxJsonDepth = 64;

// The deepest nesting of [ and { outside strings; also counts in text that is not valid JSON.
size_t json_depth(std::string_view text);

}  // namespace wdlab
