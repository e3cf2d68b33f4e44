// `wdlab report SWEEP_DIR`: summary.md, summary.csv and SVG plots from a sweep's run directories.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "commands.h"
#include "report/report.h"

namespace wdlab::cli {

void register_report(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "report", "Write summary.md, summary.csv and SVG plots for a sweep directory");
  auto dir = std::make_shared<std::string>();
  cmd->add_option("sweep_dir", *dir, "Sweep directory, e.g. results/smoke")->required();
  cmd->callback([dir] {
    const ReportFiles files = write_report(*dir);
    if (!files.headline.empty()) std::printf("%s\n", files.headline.c_str());
    std::fputs(files.best.c_str(), stdout);
    std::fputs(files.verdict.c_str(), stdout);
    spdlog::info("report: {} ({} and {} plot{} beside it)", files.markdown.string(),
                 files.csv.filename().string(), files.plots.size(),
                 files.plots.size() == 1 ? "" : "s");
  });
}

}  // namespace wdlab::cli
