// Result files are written atomically: the text goes to a temporary file in the same directory,
// is flushed to disk, then renamed over the target. A reader (or a resumed sweep) sees either the
// old file or the complete new one, never a torn write.
//
//   write_file_atomic(run_dir / "summary.json", summary.dump(2) + "\n");
#pragma once

#include <filesystem>
#include <string_view>

namespace wdlab {

void write_file_atomic(const std::filesystem::path& path, std::string_view content);

}  // namespace wdlab
