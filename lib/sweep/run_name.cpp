#include "sweep/run_name.h"

#include <fmt/format.h>

#include <map>
#include <set>

namespace wdlab {
using nlohmann::json;

namespace {

// Longest directory name we make; file systems allow 255 bytes per component.
constexpr size_t kMaxName = 160;

std::string fnv_hex(const std::string& text, int digits) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h).substr(0, digits);
}

std::string last_component(const std::string& key) {
  const size_t dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

}  // namespace

std::string short_value(const json& value) {
  if (value.is_string()) {
    std::string s = value.get<std::string>();
    for (char& c : s) {
      const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                      c == '+' || c == '-';
      if (!ok) c = '_';
    }
    return s.empty() ? "_" : s;
  }
  if (value.is_number_float()) {
    std::string s = fmt::format("{}", value.get<double>());  // shortest round-trip form
    // 1e-05 -> 1e-5, 1e+20 -> 1e20
    const size_t e = s.find('e');
    if (e != std::string::npos) {
      std::string mantissa = s.substr(0, e), exponent = s.substr(e + 1);
      std::string sign;
      if (!exponent.empty() && (exponent[0] == '-' || exponent[0] == '+')) {
        if (exponent[0] == '-') sign = "-";
        exponent.erase(0, 1);
      }
      while (exponent.size() > 1 && exponent[0] == '0') exponent.erase(0, 1);
      s = mantissa + "e" + sign + exponent;
    }
    return s;
  }
  if (value.is_array() || value.is_object()) return "json-" + fnv_hex(value.dump(), 6);
  return value.dump();  // integers, booleans
}

void name_runs(std::vector<PlannedRun>& runs) {
  // Which keys vary: more than one value, or set in some runs only.
  std::vector<std::string> order;
  std::map<std::string, std::set<std::string>> values;
  std::map<std::string, size_t> count;
  for (const PlannedRun& r : runs) {
    for (const Assignment& a : r.axes) {
      if (!values.contains(a.key)) order.push_back(a.key);
      values[a.key].insert(a.value.dump());
      ++count[a.key];
    }
  }
  std::set<std::string> shown;
  for (const std::string& k : order) {
    if (values[k].size() > 1 || count[k] < runs.size()) shown.insert(k);
  }
  std::map<std::string, int> label_uses;
  for (const std::string& k : shown) ++label_uses[last_component(k)];
  auto label = [&](const std::string& k) {
    return label_uses[last_component(k)] > 1 ? k : last_component(k);
  };

  const int width = std::max<int>(3, fmt::format("{}", runs.empty() ? 0 : runs.size() - 1).size());
  for (PlannedRun& r : runs) {
    std::string parts;
    for (const Assignment& a : r.axes) {
      if (!shown.contains(a.key)) continue;
      parts += (parts.empty() ? "" : ",") + label(a.key) + "=" + short_value(a.value);
    }
    std::string name = fmt::format("{:0{}d}", r.index, width);
    if (!parts.empty()) name += "_" + parts;
    if (name.size() > kMaxName) name = name.substr(0, kMaxName - 9) + "~" + r.id.substr(0, 8);
    r.name = name;
  }
}

}  // namespace wdlab
