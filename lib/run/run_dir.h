// Where a run writes: results/<name>/ holding config.json, param_groups.json, metrics.jsonl and,
// once the run ends, summary.json. Existing results are never overwritten by accident.
#pragma once

#include <filesystem>
#include <string>

namespace wdlab {

// base/name if that does not exist yet, else base/name-2, base/name-3, ...
std::filesystem::path fresh_run_dir(const std::filesystem::path& base, const std::string& name);

// Creates dir (and parents). An existing non-empty dir is an error unless replace is set, in
// which case its contents are removed first. A dir holding only log.txt counts as empty.
void create_run_dir(const std::filesystem::path& dir, bool replace);

}  // namespace wdlab
