// JSON text parsed with errors that say where. nlohmann reports a number beyond the range of a
// double ("1e400") as "[json.exception.out_of_range.406] number overflow parsing '1e400'", with
// neither the file nor the key; parse_json names both:
//
//   json preset = parse_json<json>(text, "configs/gpt2.json");
//   // configs/gpt2.json: /config/optim/lr: the number 1e400 is out of range (a JSON number
//   // must be finite: magnitude below 1.8e308)
//
// Text nested deeper than kMaxJsonDepth (io/json_depth.h) is refused before parsing. Syntax errors
// read "SOURCE: malformed JSON: <nlohmann's message with line and column>".
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace wdlab {

// Called for every object key as it is read; depth 1 is the top-level object.
using JsonKeyHook = std::function<void(int depth, const std::string& key)>;

// Json: nlohmann::json or nlohmann::ordered_json. Throws wdlab::Error naming `source`.
template <typename Json>
Json parse_json(const std::string& text, const std::string& source, const JsonKeyHook& on_key = {});

// "the number 1e400 is out of range (...)": for callers that parse a single value themselves
// (a key=value override) and name the key in their own words.
std::string number_out_of_range(const nlohmann::json::exception& e);

}  // namespace wdlab
