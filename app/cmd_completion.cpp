// `wdlab completion bash`: print a bash completion script generated from wdlab's own commands.
#include <algorithm>
#include <cstdio>
#include <set>

#include "bash_completion.h"
#include "commands.h"
#include "run/config.h"

namespace wdlab::cli {
namespace {

// Every dotted config key ("optim.decay_mode"), for key=value completion.
std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  const nlohmann::json flat = default_config().flatten();
  for (auto it = flat.begin(); it != flat.end(); ++it) {
    std::string key = it.key().substr(1);
    std::replace(key.begin(), key.end(), '/', '.');
    keys.push_back(key);
  }
  return keys;
}

}  // namespace

void register_completion(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "completion",
      "Print a shell completion script: source <(wdlab completion bash), or install it "
      "(cmake --install puts it in share/bash-completion/completions/wdlab)");
  auto shell = std::make_shared<std::string>();
  cmd->add_option("shell", *shell, "The shell: bash")->required()->check(CLI::IsMember({"bash"}));
  cmd->callback([&app,
                 shell] {  // shell: the option writes into it, so it must outlive this function
    const std::vector<std::string> presets = list_presets();
    std::set<std::string> scales;
    for (const std::string& name : presets) {
      const nlohmann::json preset = load_preset(name);
      for (const auto& [scale, unused] : preset.value("scales", nlohmann::json::object()).items())
        scales.insert(scale);
    }
    std::fputs(
        bash_completion_script(app, presets, {scales.begin(), scales.end()}, config_keys()).c_str(),
        stdout);
  });
}

}  // namespace wdlab::cli
