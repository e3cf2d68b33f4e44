#include "commands.h"

namespace wdlab::cli {

void add_config_args(CLI::App& cmd, ConfigArgs& args) {
  cmd.add_option("--preset", args.preset,
                 "Preset name (see `wdlab presets`) or path of a JSON file")
      ->capture_default_str();
  cmd.add_option("--scale", args.scale, "Scale defined by the preset: tiny, small, base")
      ->capture_default_str();
  cmd.add_option("overrides", args.overrides,
                 "Config overrides as dotted key=value, e.g. optim.decay_mode=coupled "
                 "optim.weight_decay=0.1 (see `wdlab config`)");
}

}  // namespace wdlab::cli
