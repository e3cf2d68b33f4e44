#include "report/text_table.h"

namespace wdlab {

namespace {

std::string markdown_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

template <typename Cell>
std::string join_row(const std::vector<std::string>& cells, size_t n, const std::string& open,
                     const std::string& sep, const std::string& close, Cell cell) {
  std::string line = open;
  for (size_t i = 0; i < n; ++i) {
    if (i) line += sep;
    line += cell(i < cells.size() ? cells[i] : std::string());
  }
  return line + close + "\n";
}

}  // namespace

std::string to_markdown(const TextTable& table) {
  const size_t n = table.columns.size();
  std::string out = join_row(table.columns, n, "| ", " | ", " |", markdown_cell);
  out += join_row(std::vector<std::string>(n, "---"), n, "|", "|", "|",
                  [](const std::string& s) { return s; });
  for (const auto& row : table.rows) out += join_row(row, n, "| ", " | ", " |", markdown_cell);
  return out;
}

std::string to_csv(const TextTable& table) {
  const size_t n = table.columns.size();
  std::string out = join_row(table.columns, n, "", ",", "", csv_cell);
  for (const auto& row : table.rows) out += join_row(row, n, "", ",", "", csv_cell);
  return out;
}

}  // namespace wdlab
