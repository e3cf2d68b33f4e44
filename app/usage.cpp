#include "usage.h"

#include <algorithm>
#include <cctype>

namespace wdlab::cli {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

std::string suggestion(const std::string& word, const std::vector<std::string>& candidates) {
  const auto near = closest_match(word, candidates);
  return near ? "; did you mean '" + *near + "'?" : "";
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  return names;
}

// Every spelling of every option of `cmd` ("--threads", "-q"), with the global ones of `app`.
std::vector<std::string> option_names(const CLI::App& app, const CLI::App* cmd) {
  std::vector<std::string> names;
  for (const CLI::App* a : {&app, cmd}) {
    if (a == nullptr) continue;
    for (const CLI::Option* o : a->get_options()) {
      for (const std::string& l : o->get_lnames()) names.push_back("--" + l);
      for (const std::string& s : o->get_snames()) names.push_back("-" + s);
    }
  }
  return names;
}

bool is_number(const std::string& s) {
  return s.size() > 1 && (std::isdigit(static_cast<unsigned char>(s[1])) || s[1] == '.');
}

}  // namespace

std::optional<std::string> closest_match(const std::string& word,
                                         const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_distance = std::max<size_t>(1, word.size() / 3) + 1;
  for (const std::string& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string usage_error(const CLI::App& app, int argc, const char* const* argv,
                        const CLI::ParseError& error) {
  // The first word that is not an option names the command; options before it are global.
  const CLI::App* cmd = nullptr;
  const std::vector<std::string> commands = subcommand_names(app);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.starts_with('-')) continue;
    if (std::find(commands.begin(), commands.end(), arg) == commands.end())
      return "unknown command '" + arg + "'" + suggestion(arg, commands) +
             " (commands: " + join(commands) + ")";
    cmd = app.get_subcommand(arg);
    break;
  }
  if (cmd == nullptr && argc <= 1) return "a command is required: " + join(commands);
  // An option that neither the command nor the global flags know.
  const std::vector<std::string> options = option_names(app, cmd);
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (!arg.starts_with('-') || arg == "-" || is_number(arg)) continue;
    arg = arg.substr(0, arg.find('='));
    if (std::find(options.begin(), options.end(), arg) != options.end()) continue;
    return "unknown option '" + arg + "'" + (cmd ? " for '" + cmd->get_name() + "'" : "") +
           suggestion(arg, options);
  }
  return error.what();
}

}  // namespace wdlab::cli
