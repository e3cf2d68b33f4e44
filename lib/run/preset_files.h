// Preset files (configs/NAME.json): where they are found and how one is read and checked.
//
//   nlohmann::json preset = load_preset("gpt2");   // a name on the search path, or a file path
//   for (const std::string& name : list_presets()) ...
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wdlab {

// Directories searched for presets, in order: $WDLAB_CONFIGS, the installed copy beside the
// executable (<prefix>/share/wdlab/configs for <prefix>/bin/wdlab), configs/ next to or above
// the executable, the source tree's configs/.
std::vector<std::filesystem::path> preset_search_path();
// Preset names found on the search path (first occurrence wins), sorted.
std::vector<std::string> list_presets();
// A model family is a preset with a "published" section (the published recipe it is checked
// against); a preset without one is a task preset (configs/modular.json): `wdlab presets` lists
// it, but `wdlab table` and a sweep over "all" presets leave it out.
bool is_model_family(const nlohmann::json& preset);
// The presets of list_presets() that are model families.
std::vector<std::string> list_model_families();
// A preset by name (searched) or by path (anything containing '/' or ending in .json). Checks the
// file's form: top-level keys, "config" and every scale against the schema; errors name the file
// and the JSON path. Records the file read as "__file__".
nlohmann::json load_preset(const std::string& name_or_path);
// The checks of load_preset on a file's text; `where` names it in errors and becomes "__file__",
// `default_name` is the "name" when the text has none.
nlohmann::json parse_preset(const std::string& text, const std::string& where,
                            const std::string& default_name);

}  // namespace wdlab
