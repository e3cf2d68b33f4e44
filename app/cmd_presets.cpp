// `wdlab presets`: list the presets found on the search path with their scales; --format json
// for scripts (name, description, scales, the file it was read from).
#include <cstdio>

#include "commands.h"
#include "run/config.h"
#include "run/preset_files.h"

namespace wdlab::cli {

void register_presets(CLI::App& app) {
  auto* cmd = app.add_subcommand("presets", "List the model presets and their scales");
  auto format = std::make_shared<std::string>("text");
  cmd->add_option("--format", *format, "Output: text (one line a preset) or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->callback([format] {
    nlohmann::json list = nlohmann::json::array();
    for (const std::string& name : list_presets()) {
      const nlohmann::json preset = load_preset(name);
      std::vector<std::string> scales;
      if (const auto it = preset.find("scales"); it != preset.end()) {
        for (auto s = it->begin(); s != it->end(); ++s) scales.push_back(s.key());
      }
      const std::string description = preset.value("description", std::string());
      // A task preset (no published recipe) is not a model family: `table` and "all" skip it.
      const bool family = is_model_family(preset);
      if (*format == "json") {
        list.push_back({{"name", name},
                        {"description", description},
                        {"scales", scales},
                        {"model_family", family},
                        {"file", preset.value("__file__", std::string())}});
        continue;
      }
      std::string scale_text;
      for (const std::string& s : scales) scale_text += (scale_text.empty() ? "" : ", ") + s;
      std::printf("%-10s %-24s %s%s\n", name.c_str(), ("[" + scale_text + "]").c_str(),
                  family ? "" : "task preset: ", description.c_str());
    }
    if (*format == "json") std::printf("%s\n", list.dump(2).c_str());
  });
}

}  // namespace wdlab::cli
