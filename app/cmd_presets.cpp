// `wdlab presets`: list the presets found on the search path with their scales.
#include <cstdio>

#include "commands.h"
#include "run/config.h"
#include "run/preset_files.h"

namespace wdlab::cli {

void register_presets(CLI::App& app) {
  auto* cmd = app.add_subcommand("presets", "List the model presets and their scales");
  cmd->callback([] {
    for (const std::string& name : list_presets()) {
      const nlohmann::json preset = load_preset(name);
      std::string scales;
      if (const auto it = preset.find("scales"); it != preset.end()) {
        for (auto s = it->begin(); s != it->end(); ++s)
          scales += (scales.empty() ? "" : ", ") + s.key();
      }
      // A task preset (no published recipe) is not a model family: `table` and "all" skip it.
      const std::string kind = is_model_family(preset) ? "" : "task preset: ";
      std::printf("%-10s %-24s %s%s\n", name.c_str(), ("[" + scales + "]").c_str(), kind.c_str(),
                  preset.value("description", std::string()).c_str());
    }
  });
}

}  // namespace wdlab::cli
