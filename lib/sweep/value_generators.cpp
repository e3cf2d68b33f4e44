#include "sweep/value_generators.h"

#include <cmath>

#include "core/error.h"
#include "sweep/spec.h"

namespace wdlab {
using nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

[[noreturn]] void generator_fail(const std::string& where, const std::string& path,
                                 const std::string& message) {
  fail("{}: {}: {}", where, path, message);
}

// 12 significant digits: what a person would have typed, without the binary noise of a sum.
double rounded(double x) {
  return std::stod(fmt::format("{:.12g}", x));
}

std::vector<json> range_values(const ojson& args, const std::string& where,
                               const std::string& path) {
  const char* expected =
      "expected [start, stop, step]: three numbers, step not 0 and pointing from start to stop";
  if (!args.is_array() || args.size() != 3) generator_fail(where, path, expected);
  for (size_t i = 0; i < 3; ++i) {
    if (!args[i].is_number())
      generator_fail(where, path + "/" + std::to_string(i), std::string(expected));
  }
  const double a = args[0].get<double>(), b = args[1].get<double>(), step = args[2].get<double>();
  if (step == 0 || (b - a) * step < 0) generator_fail(where, path, expected);
  const double count = std::floor((b - a) / step + 1e-9) + 1;
  if (count > static_cast<double>(kMaxSweepPoints))
    generator_fail(
        where, path,
        fmt::format("{} values, more than the {} a sweep may have", count, kMaxSweepPoints));
  const auto n = static_cast<size_t>(count);
  std::vector<json> values;
  const bool integers =
      args[0].is_number_integer() && args[1].is_number_integer() && args[2].is_number_integer();
  for (size_t i = 0; i < n; ++i) {
    if (integers) {
      values.push_back(args[0].get<int64_t>() + static_cast<int64_t>(i) * args[2].get<int64_t>());
    } else {
      values.push_back(rounded(a + static_cast<double>(i) * step));
    }
  }
  return values;
}

std::vector<json> logspace_values(const ojson& args, const std::string& where,
                                  const std::string& path) {
  const char* expected = "expected [low, high, n]: low > 0, high > 0 and an integer n >= 2";
  if (!args.is_array() || args.size() != 3) generator_fail(where, path, expected);
  for (size_t i = 0; i < 2; ++i) {
    if (!args[i].is_number() || args[i].get<double>() <= 0)
      generator_fail(where, path + "/" + std::to_string(i), expected);
  }
  if (!args[2].is_number_integer() || args[2].get<int64_t>() < 2)
    generator_fail(where, path + "/2", expected);
  const int64_t n = args[2].get<int64_t>();
  if (n > static_cast<int64_t>(kMaxSweepPoints))
    generator_fail(where, path + "/2",
                   fmt::format("{} values, more than the {} a sweep may have", n, kMaxSweepPoints));
  const double lo = args[0].get<double>(), hi = args[1].get<double>();
  const double l0 = std::log10(lo), l1 = std::log10(hi);
  std::vector<json> values;
  for (int64_t i = 0; i < n; ++i) {
    if (i == 0) {
      values.push_back(lo);
    } else if (i == n - 1) {
      values.push_back(hi);
    } else {
      values.push_back(rounded(
          std::pow(10.0, l0 + (l1 - l0) * static_cast<double>(i) / static_cast<double>(n - 1))));
    }
  }
  return values;
}

}  // namespace

bool is_value_generator(const ojson& value) {
  return value.is_object() && (value.contains("range") || value.contains("logspace"));
}

std::vector<json> generate_values(const ojson& generator, const std::string& where,
                                  const std::string& path) {
  if (generator.size() != 1)
    generator_fail(where, path,
                   "a value generator is an object with one key: {\"range\": [start, stop, "
                   "step]} or {\"logspace\": [low, high, n]}");
  if (generator.contains("range")) return range_values(generator["range"], where, path + "/range");
  return logspace_values(generator["logspace"], where, path + "/logspace");
}

}  // namespace wdlab
