#include "run/config_schema.h"

namespace wdlab {
using nlohmann::json;

namespace {

json::json_pointer pointer_of(std::string_view dotted_key) {
  std::string p = "/" + std::string(dotted_key);
  for (char& ch : p) {
    if (ch == '.') ch = '/';
  }
  return json::json_pointer(p);
}

std::string join_dotted(const std::string& section, std::string_view key) {
  return section.empty() ? std::string(key) : section + "." + std::string(key);
}

}  // namespace

json SectionSchema::defaults() const {
  json out = json::object();
  for (const SchemaKey& k : keys) out[pointer_of(k.key)] = k.value;
  return out;
}

std::string SectionSchema::dotted(std::string_view key) const {
  return join_dotted(name, key);
}

std::string type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "true or false";
    case json::value_t::array:
      return "a list";
    case json::value_t::object:
      return "an object";
    default:
      return "null";
  }
}

bool type_fits(const json& def, const json& value) {
  auto is_integer = [](const json& v) { return v.is_number_integer() || v.is_number_unsigned(); };
  if (def.is_number_float()) return value.is_number();
  if (is_integer(def)) return is_integer(value);
  return def.type() == value.type();
}

std::string keys_of(const json& obj) {
  std::string out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!out.empty()) out += ", ";
    out += it.key();
  }
  return out;
}

void merge_checked(json& target, const json& patch, const json& schema, const std::string& where,
                   const std::string& path) {
  WD_CHECK(patch.is_object(), "{}: {}: expected an object, got {}", where,
           path.empty() ? "/" : path, type_name(patch));
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string key_path = path + "/" + it.key();
    auto def = schema.find(it.key());
    WD_CHECK(def != schema.end(), "{}: {}: unknown key; allowed here: {}", where, key_path,
             keys_of(schema));
    if (def->is_object()) {
      merge_checked(target[it.key()], it.value(), *def, where, key_path);
    } else {
      WD_CHECK(type_fits(*def, it.value()), "{}: {}: expected {}, got {}", where, key_path,
               type_name(*def), type_name(it.value()));
      target[it.key()] = it.value();
    }
  }
}

SectionReader::SectionReader(const json& config, std::string section)
    : section_(section.empty() ? config : config.at(section)), name_(std::move(section)) {}

const json& SectionReader::at(std::string_view key) const {
  return section_.at(pointer_of(key));
}

void SectionReader::check_integer(std::string_view key, int64_t lo, uint64_t hi) const {
  const json& v = at(key);
  WD_CHECK(v.is_number_integer() || v.is_number_unsigned(), "{}: expected an integer, got {}",
           dotted(key), type_name(v));
  // Positive values parse as unsigned, negative ones as signed: compare each in its own type.
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    WD_CHECK(u <= hi, "{}: {} is out of range: at most {}", dotted(key), u, hi);
    return;
  }
  const int64_t i = v.get<int64_t>();
  WD_CHECK(i >= lo, "{}: {} is out of range: at least {}", dotted(key), i, lo);
  WD_CHECK(i < 0 || static_cast<uint64_t>(i) <= hi, "{}: {} is out of range: at most {}",
           dotted(key), i, hi);
}

std::string SectionReader::dotted(std::string_view key) const {
  return join_dotted(name_, key);
}

}  // namespace wdlab
