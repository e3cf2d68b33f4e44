// `wdlab config`: print the fully resolved config a run would use.
#include <cstdio>

#include "commands.h"
#include "run/config.h"

namespace wdlab::cli {

void register_config(CLI::App& app) {
  auto* cmd = app.add_subcommand("config", "Print the fully resolved config (JSON) of a run");
  auto args = std::make_shared<ConfigArgs>();
  add_config_args(*cmd, *args);
  cmd->callback([args] {
    const nlohmann::json cfg =
        resolve_config(load_preset(args->preset), args->scale, args->overrides);
    parse_run_config(cfg);  // the same checks as `run`
    std::printf("%s\n", cfg.dump(2).c_str());
  });
}

}  // namespace wdlab::cli
