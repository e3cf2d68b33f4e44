// The run config's schema machinery, shared by its sections (config_model, config_data,
// config_train, config_optim): a section lists its keys, each with its default and one line of
// documentation, and reads its part of a resolved config back with errors that name the dotted
// key. The default's JSON type is the key's type: 1.0 makes a number, 1 an integer. An integer
// is range-checked in the C++ type it is read into (get<int>), so 4294967360 is an error, never
// a silent 64.
//
//   const SectionSchema& s = train_schema();       // {"train", {{"steps", 300, "..."}, ...}}
//   SectionReader r(config, "train");
//   int steps = r.get<int>("steps");               // config["train"]["steps"]
//   DecayMode m = r.choice<DecayMode>("decay_mode", {{"none", DecayMode::none}, ...});
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace wdlab {

struct SchemaKey {
  std::string key;       // relative to the section; nested keys dotted ("moe.n_expert")
  nlohmann::json value;  // the default
  std::string doc;       // one line, shown by `wdlab config --explain`
};

struct SectionSchema {
  std::string name;  // "model", "optim", ...; "" for the top-level keys
  std::vector<SchemaKey> keys;

  // The section's defaults as a (nested) JSON object.
  nlohmann::json defaults() const;
  // "optim.lr" for "lr" (just "lr" at the top level).
  std::string dotted(std::string_view key) const;
};

// "an integer", "a number", "a string", ...: how errors name a JSON type.
std::string type_name(const nlohmann::json& value);
// Does `value` fit where the schema has `def`? Integers are accepted where numbers are.
bool type_fits(const nlohmann::json& def, const nlohmann::json& value);
// "a, b, c": the keys of an object.
std::string keys_of(const nlohmann::json& object);

// Merges `patch` into `target` (same shape as `schema`), checking every key and type. `where`
// prefixes error messages ("configs/gpt2.json" or "override"), `path` is the JSON path so far.
void merge_checked(nlohmann::json& target, const nlohmann::json& patch,
                   const nlohmann::json& schema, const std::string& where, const std::string& path);

// Typed reads from one section of a resolved config; errors name the dotted key.
class SectionReader {
 public:
  SectionReader(const nlohmann::json& config, std::string section);

  const nlohmann::json& at(std::string_view key) const;  // dotted key within the section
  // Integers must fit T: nlohmann's own get<int> would wrap 2^32 + 64 to 64.
  template <typename T>
  T get(std::string_view key) const {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      check_integer(key, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    }
    return at(key).get<T>();
  }
  // A string key naming one of `options`; errors list them.
  template <typename E>
  E choice(std::string_view key, std::initializer_list<std::pair<const char*, E>> options) const {
    const std::string value = get<std::string>(key);
    std::string allowed;
    for (const auto& [name, e] : options) {
      if (value == name) return e;
      allowed += (allowed.empty() ? "" : ", ") + std::string(name);
    }
    fail("{}: '{}' is not one of {}", dotted(key), value, allowed);
  }
  std::string dotted(std::string_view key) const;

 private:
  // Throws unless the key holds an integer in [lo, hi], naming the key and the bound it passes.
  void check_integer(std::string_view key, int64_t lo, uint64_t hi) const;

  const nlohmann::json& section_;
  std::string name_;
};

}  // namespace wdlab
