// `wdlab export DIR`: a sweep (or a single run) as two CSV files for pandas and R, written
// atomically (into DIR unless told otherwise):
//
//   runs.csv     one row per run: "run" (its directory name), one column per config key whose
//                value differs between the runs (every key, for a single run), "status",
//                "config_id", then every number of summary.json (empty where a run has none)
//   metrics.csv  long format, one row per logged value: run,step,key,value (metrics.jsonl's
//                numbers; non-finite values, logged as null, are left out)
//
// Unreadable files are skipped with a warning, as the report does (report/sweep_results.h).
//
//   ExportTables t = export_tables("results/smoke");  // throws when DIR is neither kind
//   write_export(t, "results/smoke");
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "report/text_table.h"

namespace wdlab {

struct ExportTables {
  TextTable runs;
  TextTable metrics;
  std::vector<std::string> varying_keys;  // the config columns of runs.csv
};

// DIR holds sweep.json (a sweep) or config.json (one run directory).
ExportTables export_tables(const std::filesystem::path& dir);

struct ExportFiles {
  std::filesystem::path runs;
  std::filesystem::path metrics;
};
// Writes out_dir/runs.csv and out_dir/metrics.csv; both are built before either is written.
ExportFiles write_export(const ExportTables& tables, const std::filesystem::path& out_dir);

}  // namespace wdlab
