#include "bash_completion.h"

#include <fmt/format.h>

namespace wdlab::cli {
namespace {

std::string joined(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

std::vector<std::string> names_of(const CLI::Option& opt) {
  std::vector<std::string> names;
  for (const std::string& s : opt.get_snames()) names.push_back("-" + s);
  for (const std::string& l : opt.get_lnames()) names.push_back("--" + l);
  return names;
}

// The values an option's validator allows, when it is a set ({text,json} from CLI::IsMember).
std::vector<std::string> allowed_values(const CLI::Option& opt) {
  std::vector<std::string> values;
  auto& mutable_opt = const_cast<CLI::Option&>(opt);  // CLI11 2.1 has no const get_validator
  for (int i = 0;; ++i) {
    const CLI::Validator* v = nullptr;
    try {
      v = mutable_opt.get_validator(i);
    } catch (const CLI::OptionNotFound&) {
      break;
    }
    const std::string d = v->get_description();
    if (d.size() < 2 || d.front() != '{' || d.back() != '}') continue;
    std::string word;
    for (char c : d.substr(1, d.size() - 2)) {
      if (c == ',') {
        values.push_back(word), word.clear();
      } else if (c != ' ') {
        word += c;
      }
    }
    if (!word.empty()) values.push_back(word);
  }
  return values;
}

// The case arms of one subcommand: what follows an option that takes a value, then the words.
std::string subcommand_arm(const CLI::App& cmd, const std::string& presets,
                           const std::string& scales) {
  std::vector<std::string> words, positional_words;
  std::string value_arms;
  bool positional_overrides = false, positional_files = false;
  for (const CLI::Option* opt : cmd.get_options()) {
    if (opt->get_positional()) {
      // key=value overrides and sweep axes, a word from a set (the shell), or a file (the sweep
      // spec, the report's directory).
      const std::string& name = opt->get_name();
      const std::vector<std::string> allowed = allowed_values(*opt);
      if (name == "overrides" || name == "axes") {
        positional_overrides = true;
      } else if (!allowed.empty()) {
        positional_words.insert(positional_words.end(), allowed.begin(), allowed.end());
      } else {
        positional_files = true;
      }
      if (opt->get_lnames().empty() && opt->get_snames().empty()) continue;
    }
    const std::vector<std::string> names = names_of(*opt);
    words.insert(words.end(), names.begin(), names.end());
    if (opt->get_type_size() == 0 || names.empty()) continue;  // a flag
    std::string values;
    if (names.back() == "--preset") {
      values = fmt::format("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\") $(compgen -f -- \"$cur\"))",
                           presets);
    } else if (names.back() == "--scale") {
      values = fmt::format("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))", scales);
    } else if (const auto allowed = allowed_values(*opt); !allowed.empty()) {
      values = fmt::format("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))", joined(allowed));
    } else {
      values = "COMPREPLY=($(compgen -f -- \"$cur\"))";  // a path, or a number: files do no harm
    }
    std::string pattern;
    for (const std::string& n : names) pattern += (pattern.empty() ? "" : "|") + n;
    value_arms += fmt::format("        {}) {}; return ;;\n", pattern, values);
  }
  std::string arm =
      fmt::format("    {})\n      case \"$prev\" in\n{}      esac\n", cmd.get_name(), value_arms);
  arm += fmt::format(
      "      if [[ $cur == -* ]]; then\n"
      "        COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))\n",
      joined(words));
  if (!positional_words.empty()) {
    arm += fmt::format(
        "      else\n"
        "        COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))\n",
        joined(positional_words));
  } else if (positional_overrides) {
    arm +=
        "      elif [[ $cur != */* ]]; then\n"
        "        COMPREPLY=($(compgen -W \"$_wdlab_keys\" -- \"$cur\"))\n"
        "        [[ ${#COMPREPLY[@]} -gt 0 ]] && compopt -o nospace 2>/dev/null\n";
  }
  if (positional_files || positional_overrides) {
    arm +=
        "      fi\n"
        "      [[ ${#COMPREPLY[@]} -eq 0 ]] && COMPREPLY=($(compgen -f -- \"$cur\"))\n";
  } else {
    arm += "      fi\n";
  }
  return arm + "      ;;\n";
}

}  // namespace

std::string bash_completion_script(const CLI::App& app, const std::vector<std::string>& presets,
                                   const std::vector<std::string>& scales,
                                   const std::vector<std::string>& config_keys) {
  std::vector<std::string> commands, globals;
  for (const CLI::App* cmd : app.get_subcommands([](const CLI::App*) { return true; }))
    commands.push_back(cmd->get_name());
  for (const CLI::Option* opt : app.get_options()) {
    const std::vector<std::string> names = names_of(*opt);
    globals.insert(globals.end(), names.begin(), names.end());
  }
  std::vector<std::string> keys;
  for (const std::string& k : config_keys) keys.push_back(k + "=");

  std::string s = fmt::format(
      "# bash completion for wdlab, generated by `wdlab completion bash` (wdlab {}) from its\n"
      "# command definitions. Install: cmake --install puts it in\n"
      "# <prefix>/share/bash-completion/completions/wdlab; or: source <(wdlab completion bash)\n"
      "_wdlab_keys=\"{}\"\n"
      "_wdlab() {{\n"
      "  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}} cmd= i\n"
      "  COMPREPLY=()\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case ${{COMP_WORDS[i]}} in\n"
      "      {}) cmd=${{COMP_WORDS[i]}}; break ;;\n"
      "    esac\n"
      "  done\n"
      "  if [[ -z $cmd ]]; then\n"
      "    COMPREPLY=($(compgen -W \"{} {}\" -- \"$cur\"))\n"
      "    return\n"
      "  fi\n"
      "  case $cmd in\n",
      WDLAB_VERSION, joined(keys), fmt::join(commands, "|"), joined(commands), joined(globals));
  for (const CLI::App* cmd : app.get_subcommands([](const CLI::App*) { return true; }))
    s += subcommand_arm(*cmd, joined(presets), joined(scales));
  s += "  esac\n"
       "}\n"
       "complete -F _wdlab wdlab\n";
  return s;
}

}  // namespace wdlab::cli
