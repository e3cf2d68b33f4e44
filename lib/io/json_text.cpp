// JSON parsing whose errors name the source and the JSON path (json_text.h).
#include "io/json_text.h"

#include <vector>

#include "core/error.h"
#include "io/json_depth.h"

namespace wdlab {
namespace {

// nlohmann's id for "number overflow parsing '...'".
constexpr int kNumberOverflow = 406;

// Where the parser is: one frame per open object (its current key) or array (elements done).
struct Frame {
  bool array = false;
  std::string key;
  size_t done = 0;
};

std::string path_of(const std::vector<Frame>& frames) {
  std::string path;
  for (const Frame& f : frames) path += "/" + (f.array ? std::to_string(f.done) : f.key);
  return path;
}

}  // namespace

std::string number_out_of_range(const nlohmann::json::exception& e) {
  // The message ends with the token in quotes: number overflow parsing '1e400'
  const std::string what = e.what();
  const size_t open = what.find('\'');
  const std::string token =
      open == std::string::npos ? "" : what.substr(open + 1, what.rfind('\'') - open - 1);
  return fmt::format(
      "the number {} is out of range (a JSON number must be finite: magnitude below 1.8e308)",
      token);
}

template <typename Json>
Json parse_json(const std::string& text, const std::string& source, const JsonKeyHook& on_key) {
  WD_CHECK(json_depth(text) <= kMaxJsonDepth, "{}: JSON nested deeper than {} levels", source,
           kMaxJsonDepth);
  std::vector<Frame> frames;
  auto track = [&](int depth, typename Json::parse_event_t event, Json& parsed) {
    using E = typename Json::parse_event_t;
    auto element_done = [&] {
      if (!frames.empty() && frames.back().array) ++frames.back().done;
    };
    switch (event) {
      case E::object_start:
        frames.push_back({false, "", 0});
        break;
      case E::array_start:
        frames.push_back({true, "", 0});
        break;
      case E::key:
        frames.back().key = parsed.template get<std::string>();
        if (on_key) on_key(depth, frames.back().key);
        break;
      case E::object_end:
      case E::array_end:
        frames.pop_back();
        element_done();
        break;
      case E::value:
        element_done();
        break;
    }
    return true;
  };
  try {
    return Json::parse(text, track);
  } catch (const nlohmann::json::out_of_range& e) {
    if (e.id != kNumberOverflow) throw;
    const std::string path = path_of(frames);
    fail("{}: {}{}", source, path.empty() ? "" : path + ": ", number_out_of_range(e));
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: malformed JSON: {}", source, e.what());
  }
}

template nlohmann::json parse_json<nlohmann::json>(const std::string&, const std::string&,
                                                   const JsonKeyHook&);
template nlohmann::ordered_json parse_json<nlohmann::ordered_json>(const std::string&,
                                                                   const std::string&,
                                                                   const JsonKeyHook&);

}  // namespace wdlab
