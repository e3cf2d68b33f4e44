#include "run/preset_files.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "core/error.h"
#include "io/json_text.h"
#include "run/config.h"

namespace wdlab {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

bool looks_like_path(const std::string& s) {
  return s.find('/') != std::string::npos || s.ends_with(".json");
}

fs::path find_preset(const std::string& name_or_path) {
  if (looks_like_path(name_or_path)) {
    WD_CHECK(fs::exists(name_or_path), "--preset: file '{}' does not exist", name_or_path);
    return name_or_path;
  }
  for (const fs::path& dir : preset_search_path()) {
    if (fs::exists(dir / (name_or_path + ".json"))) return dir / (name_or_path + ".json");
  }
  std::string known;
  for (const auto& n : list_presets()) known += (known.empty() ? "" : ", ") + n;
  fail("--preset: unknown preset '{}'; available: {}", name_or_path,
       known.empty() ? "(none found)" : known);
}

}  // namespace

std::vector<fs::path> preset_search_path() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("WDLAB_CONFIGS"); env && *env) dirs.emplace_back(env);
  const fs::path exe = executable_dir();
  if (!exe.empty()) {
    // Installed (`cmake --install`): <prefix>/bin/wdlab finds <prefix>/share/wdlab/configs first,
    // the copy installed with it. A build tree: build/wdlab -> configs/ one or two levels up.
    for (const fs::path& rel : {fs::path(WDLAB_INSTALL_CONFIGS), fs::path("configs"),
                                fs::path("../configs"), fs::path("../../configs")}) {
      dirs.push_back((exe / rel).lexically_normal());
    }
  }
  dirs.emplace_back(fs::path(WDLAB_SOURCE_DIR) / "configs");
  return dirs;
}

std::vector<std::string> list_presets() {
  std::set<std::string> names;
  for (const fs::path& dir : preset_search_path()) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") {
        names.insert(entry.path().stem().string());
      }
    }
  }
  return {names.begin(), names.end()};
}

bool is_model_family(const json& preset) {
  return preset.is_object() && preset.contains("published");
}

std::vector<std::string> list_model_families() {
  std::vector<std::string> families;
  for (const std::string& name : list_presets()) {
    if (is_model_family(load_preset(name))) families.push_back(name);
  }
  return families;
}

json parse_preset(const std::string& text, const std::string& where,
                  const std::string& default_name) {
  json preset = parse_json<json>(text, where);
  WD_CHECK(preset.is_object(), "{}: expected a JSON object at the top level", where);
  static const json allowed = {
      {"name", ""},  {"description", ""},        {"published", json::object()},
      {"notes", ""}, {"config", json::object()}, {"scales", json::object()}};
  for (auto it = preset.begin(); it != preset.end(); ++it) {
    WD_CHECK(allowed.contains(it.key()), "{}: /{}: unknown key; allowed here: {}", where, it.key(),
             keys_of(allowed));
  }
  // Check the overrides against the schema now, so a bad preset fails before any run starts.
  json scratch = default_config();
  if (preset.contains("config"))
    merge_checked(scratch, preset["config"], default_config(), where, "/config");
  if (preset.contains("scales")) {
    WD_CHECK(preset["scales"].is_object(), "{}: /scales: expected an object", where);
    for (auto it = preset["scales"].begin(); it != preset["scales"].end(); ++it) {
      json s = default_config();
      merge_checked(s, it.value(), default_config(), where, "/scales/" + it.key());
    }
  }
  if (!preset.contains("name")) preset["name"] = default_name;
  preset["__file__"] = where;
  return preset;
}

json load_preset(const std::string& name_or_path) {
  const fs::path file = find_preset(name_or_path);
  std::ifstream in(file);
  WD_CHECK(in.good(), "{}: cannot read the file", file.string());
  std::stringstream text;
  text << in.rdbuf();
  return parse_preset(text.str(), file.string(), file.stem().string());
}

}  // namespace wdlab
