#include "commands.h"

#include <algorithm>

#include "run/config.h"

namespace wdlab::cli {

void add_config_args(CLI::App& cmd, ConfigArgs& args) {
  cmd.add_option("--preset", args.preset,
                 "Preset name (see `wdlab presets`) or path of a JSON file")
      ->capture_default_str();
  cmd.add_option("--scale", args.scale, "Scale defined by the preset: tiny, small, base")
      ->capture_default_str();
  cmd.add_option("overrides", args.overrides,
                 "Config overrides as dotted key=value, e.g. optim.decay_mode=coupled "
                 "optim.weight_decay=0.1 (see `wdlab config`); also as --key=value or "
                 "--key value, the form W&B sweep agents and Hydra-style launchers pass");
}

namespace {

std::vector<std::string>& stored_command_line() {
  static std::vector<std::string> argv;
  return argv;
}

// The commands whose positional arguments are config keys: `run` and `config` take overrides,
// `sweep` axes (which also know "seeds").
bool takes_overrides(const std::string& command) {
  return command == "run" || command == "config" || command == "sweep";
}

// A config key, not an option: dotted keys (no option has a dot) and the top-level keys of the
// schema (name, preset, scale, seed).
bool is_config_key(const std::string& key, const std::string& command) {
  if (key.find('.') != std::string::npos) return true;
  if (command == "sweep" && key == "seeds") return true;
  return default_config().contains(key);
}

const CLI::Option* find_option(const CLI::App& app, const CLI::App& cmd, const std::string& name) {
  if (const CLI::Option* o = cmd.get_option_no_throw(name)) return o;
  return app.get_option_no_throw(name);
}

}  // namespace

void set_command_line(std::vector<std::string> argv) {
  stored_command_line() = std::move(argv);
}
const std::vector<std::string>& command_line() {
  return stored_command_line();
}

std::vector<std::string> options_as_overrides(const CLI::App& app,
                                              const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  size_t i = 0;
  // Up to the command: the program name and the global flags.
  for (; i < argv.size(); ++i) {
    out.push_back(argv[i]);
    if (i > 0 && !argv[i].starts_with('-')) break;
  }
  if (i >= argv.size() || !takes_overrides(argv[i])) {
    out.insert(out.end(), argv.begin() + std::min(i + 1, argv.size()), argv.end());
    return out;
  }
  const std::string command = argv[i];
  const CLI::App& cmd = *app.get_subcommand(command);
  for (++i; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") {  // everything after it is positional, as typed
      out.insert(out.end(), argv.begin() + i, argv.end());
      break;
    }
    if (!arg.starts_with("--") || arg.size() == 2) {
      out.push_back(arg);
      continue;
    }
    const size_t eq = arg.find('=');
    const std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (const CLI::Option* option = find_option(app, cmd, "--" + key)) {
      out.push_back(arg);
      // "--out DIR": the value is the option's, whatever it looks like.
      if (eq == std::string::npos && option->get_type_size() != 0 && i + 1 < argv.size())
        out.push_back(argv[++i]);
      continue;
    }
    if (!is_config_key(key, command)) {
      out.push_back(arg);  // an unknown option: CLI11 reports it, with a suggestion
      continue;
    }
    if (eq != std::string::npos) {
      out.push_back(key + arg.substr(eq));
    } else if (i + 1 < argv.size()) {
      out.push_back(key + "=" + argv[++i]);
    } else {
      out.push_back(key);  // no value: refused by the override's own check (expected key=value)
    }
  }
  return out;
}

}  // namespace wdlab::cli
