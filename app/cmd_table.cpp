// `wdlab table`: the published weight-decay table, from every preset's weight_decay_table.
#include <cstdio>

#include "commands.h"
#include "report/published_table.h"

namespace wdlab::cli {

void register_table(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "table", "Print the published weight-decay table with each row's verdict, from the presets");
  auto format = std::make_shared<std::string>("md");
  cmd->add_option("--format", *format, "md, csv or json")
      ->check(CLI::IsMember({"md", "csv", "json"}))
      ->capture_default_str();
  cmd->callback([format] {
    const std::vector<PublishedRow> rows = published_table();
    std::string out;
    if (*format == "json") {
      out = published_json(rows).dump(2) + "\n";
    } else if (*format == "csv") {
      out = to_csv(published_text_table(rows));
    } else {
      out = to_markdown(published_text_table(rows));
    }
    std::fputs(out.c_str(), stdout);
  });
}

}  // namespace wdlab::cli
