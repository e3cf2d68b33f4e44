// A table of strings rendered as GitHub markdown or CSV (RFC 4180), the two forms every
// report and `wdlab table` print.
//
//   TextTable t{{"model", "λ"}, {{"gpt2", "0.01"}}};
//   std::string md = to_markdown(t), csv = to_csv(t);
#pragma once

#include <string>
#include <vector>

namespace wdlab {

struct TextTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

// Cells have '|' escaped and line breaks turned into spaces, so every row stays one line.
std::string to_markdown(const TextTable& table);
std::string to_csv(const TextTable& table);

}  // namespace wdlab
