// `wdlab report SWEEP_DIR`: everything a reader wants from a finished (or partial) sweep, as
// files next to its runs, each written atomically:
//
//   summary.md          findings per preset in sentences with effect sizes and seed noise (each
//                       decay option at its own best λ, findings.h), the headline
//                       (table-reproduction sweeps), plots, one table per preset: one row per
//                       configuration with seeds aggregated (mean ± standard error), the best
//                       configuration and every difference to the preset's coupled/uniform
//                       baseline
//   summary.csv         the same rows, one number per column
//   plots/val_vs_lambda.svg (final and best validation loss against λ, lambda_plot.h),
//   plots/loss_curves.svg, plots/{norm,grad_norm,update_rel}_<preset>.svg (per parameter kind,
//   kind_curves.h; where the runs logged them), plots/lr_wd_<preset>.svg (lr x λ grids only),
//   plots/adamc_{grad_norm,norm}_<preset>.svg (sweeps with AdamW and AdamC at the same λ:
//   gradient_rise.h, with a section and verdict in summary.md)
//   plots/accuracy_curves.svg (runs that log accuracies, data.source=modular: with the steps to
//   99% accuracy and the grokking verdict, grokking.h)
//   plots/rotational_update_rel.svg and rotational.csv (constant-lr sweeps of AdamW over lr and
//   λ, with Adam + L2 beside: each tensor's equilibrium update and norm against the random-walk
//   prediction, with a section and verdict in summary.md, rotational.h)
//   plots/timescale_{val_vs_lambda,lambda_opt}.svg (decoupled λ grids at several batch sizes
//   and one token budget: λ_opt per batch size and the AdamW timescale verdict, timescale.h)
//   plots/basin_<preset>.svg (lr × λ grids of coupled and decoupled decay, at least 3 × 3 each:
//   mean ± SE per cell, the valley, with a section and the AdamW-basin verdict, basin.h; it
//   takes the place of lr_wd_<preset>.svg)
//
//   ReportFiles files = write_report("results/smoke");
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace wdlab {

struct ReportFiles {
  std::filesystem::path markdown;
  std::filesystem::path csv;
  std::vector<std::filesystem::path> plots;
  std::string headline;  // markdown of the headline table, empty unless a table sweep
  std::string best;      // one line per preset: its best configuration
  std::string findings;  // the findings' sentences, one a line, grouped by preset
  // The reproductions' verdict lines, one a line, or empty: AdamW against AdamC
  // (gradient_rise.h), grokking on an algorithmic task (grokking.h), rotational equilibrium
  // (rotational.h), the AdamW timescale (timescale.h), the AdamW basin (basin.h).
  std::string verdicts;
};

ReportFiles write_report(const std::filesystem::path& sweep_dir);

}  // namespace wdlab
