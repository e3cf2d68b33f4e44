// `wdlab export DIR`: a sweep's (or one run's) results as runs.csv and metrics.csv.
#include <spdlog/spdlog.h>

#include "commands.h"
#include "report/export.h"

namespace wdlab::cli {

void register_export(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "export", "Write runs.csv (a row per run) and metrics.csv (long format) for pandas or R");
  struct Args {
    std::string dir;
    std::string out;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("dir", args->dir, "Sweep directory (results/<sweep>) or one run's directory")
      ->required();
  cmd->add_option("--out", args->out, "Directory for the two files (default: DIR)");
  cmd->footer(
      "runs.csv: run, the config keys that differ between runs, status, config_id, the numbers "
      "of summary.json. metrics.csv: run,step,key,value for every number of metrics.jsonl.");
  cmd->callback([args] {
    const ExportTables tables = export_tables(args->dir);
    const ExportFiles files = write_export(tables, args->out.empty() ? args->dir : args->out);
    spdlog::info("{}: {} run{}, {} columns ({} config key{} that differ)", files.runs.string(),
                 tables.runs.rows.size(), tables.runs.rows.size() == 1 ? "" : "s",
                 tables.runs.columns.size(), tables.varying_keys.size(),
                 tables.varying_keys.size() == 1 ? "" : "s");
    spdlog::info("{}: {} rows (run, step, key, value)", files.metrics.string(),
                 tables.metrics.rows.size());
  });
}

}  // namespace wdlab::cli
