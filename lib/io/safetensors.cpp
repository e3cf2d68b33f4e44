#include "io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_text.h"

namespace wdlab {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this reader copies bytes as they are");
static_assert(sizeof(float) == 4);

constexpr std::string_view kMetadataKey = "__metadata__";

// Bytes per element of every dtype the format defines; 0 for an unknown name.
uint64_t dtype_size(std::string_view dtype) {
  static constexpr std::pair<std::string_view, uint64_t> kSizes[] = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8}};
  for (const auto& [name, size] : kSizes) {
    if (name == dtype) return size;
  }
  return 0;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// One tensor entry of the header, checked on its own (offsets are checked together later).
SafetensorsTensor parse_tensor(const std::string& file, const std::string& name,
                               const nlohmann::json& entry) {
  WD_CHECK(entry.is_object(), "{}: header entry '{}' is not an object", file, name);
  SafetensorsTensor t;
  t.name = name;
  const auto dtype = entry.find("dtype");
  WD_CHECK(dtype != entry.end() && dtype->is_string(),
           "{}: tensor '{}': missing or non-string \"dtype\"", file, name);
  t.dtype = dtype->get<std::string>();
  const uint64_t elem = dtype_size(t.dtype);
  WD_CHECK(elem > 0, "{}: tensor '{}': unknown dtype '{}'", file, name, t.dtype);

  const auto shape = entry.find("shape");
  WD_CHECK(shape != entry.end() && shape->is_array(),
           "{}: tensor '{}': missing or non-array \"shape\"", file, name);
  uint64_t numel = 1;
  for (const auto& d : *shape) {
    WD_CHECK(d.is_number_unsigned(), "{}: tensor '{}': shape {} is not a list of integers >= 0",
             file, name, shape->dump());
    const uint64_t n = d.get<uint64_t>();
    WD_CHECK(n <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
                 (n == 0 || numel <= std::numeric_limits<uint64_t>::max() / n),
             "{}: tensor '{}': shape {} is too large", file, name, shape->dump());
    numel *= n;
    t.shape.push_back(static_cast<int64_t>(n));
  }

  const auto offsets = entry.find("data_offsets");
  WD_CHECK(offsets != entry.end() && offsets->is_array() && offsets->size() == 2 &&
               (*offsets)[0].is_number_unsigned() && (*offsets)[1].is_number_unsigned(),
           "{}: tensor '{}': \"data_offsets\" must be [begin, end] with integers >= 0", file, name);
  t.begin = (*offsets)[0].get<uint64_t>();
  t.end = (*offsets)[1].get<uint64_t>();
  WD_CHECK(t.begin <= t.end, "{}: tensor '{}': data_offsets [{}, {}] end before they begin", file,
           name, t.begin, t.end);
  WD_CHECK(numel <= std::numeric_limits<uint64_t>::max() / elem && numel * elem == t.end - t.begin,
           "{}: tensor '{}': data_offsets [{}, {}] span {} bytes, but dtype {} and shape {} need "
           "{}",
           file, name, t.begin, t.end, t.end - t.begin, t.dtype, shape_string(t.shape),
           numel * elem);
  return t;
}

// Parses the header text; data_bytes is what follows it in the file.
SafetensorsHeader parse_header(const std::string& file, const std::string& text,
                               uint64_t data_bytes) {
  // nlohmann keeps the last of duplicate keys silently; the format forbids them.
  std::set<std::string> keys;
  std::string duplicate;
  auto on_key = [&](int depth, const std::string& key) {
    if (depth == 1 && !keys.insert(key).second && duplicate.empty()) duplicate = key;
  };
  const nlohmann::json header =
      parse_json<nlohmann::json>(text, file + ": safetensors header", on_key);
  WD_CHECK(header.is_object(), "{}: safetensors header is not a JSON object", file);
  WD_CHECK(duplicate.empty(), "{}: safetensors header names '{}' twice", file, duplicate);

  SafetensorsHeader h;
  h.header_bytes = text.size();
  h.data_bytes = data_bytes;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      WD_CHECK(value.is_object(), "{}: \"__metadata__\" is not an object", file);
      for (const auto& [mk, mv] : value.items()) {
        WD_CHECK(mv.is_string(), "{}: \"__metadata__\" value of '{}' is not a string", file, mk);
        h.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    h.tensors.push_back(parse_tensor(file, key, value));
  }

  // The offsets must tile [0, data_bytes): sorted by begin, each starts where the last ended.
  std::sort(h.tensors.begin(), h.tensors.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t pos = 0;
  const SafetensorsTensor* prev = nullptr;
  for (const auto& t : h.tensors) {
    WD_CHECK(t.begin >= pos, "{}: tensor '{}' (bytes {}..{}) overlaps tensor '{}' (ending at {})",
             file, t.name, t.begin, t.end, prev ? prev->name : "", pos);
    WD_CHECK(t.begin == pos, "{}: tensor '{}' starts at byte {}, leaving a gap after byte {}", file,
             t.name, t.begin, pos);
    pos = t.end;
    prev = &t;
  }
  WD_CHECK(pos == data_bytes,
           "{}: the tensors cover {} bytes of data but the file holds {} after the header", file,
           pos, data_bytes);
  return h;
}

uint64_t read_u64_le(const unsigned char* b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

// Checks the 8-byte length of a file of `size` bytes and returns it: the header's length N.
uint64_t header_length(const std::string& file, const unsigned char* len, uint64_t size) {
  const uint64_t n = read_u64_le(len);
  WD_CHECK(n <= kSafetensorsMaxHeader, "{}: header length {} exceeds the limit of {} bytes", file,
           n, kSafetensorsMaxHeader);
  WD_CHECK(n <= size - 8, "{}: header length {} exceeds the file ({} bytes)", file, n, size);
  return n;
}

uint64_t size_of_file(const std::filesystem::path& path) {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  WD_CHECK(!ec, "{}: cannot read size: {}", path.string(), ec.message());
  return size;
}

void check_min_size(const std::string& file, uint64_t size) {
  WD_CHECK(size >= 8, "{}: not a safetensors file: {} bytes, shorter than the 8-byte length", file,
           size);
}

}  // namespace

size_t TensorData::numel() const {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

std::vector<TensorData> table_tensors(const ParamTable& table, float* arena,
                                      const std::string& prefix) {
  std::vector<TensorData> out;
  out.reserve(table.size());
  for (const ParamInfo& p : table) out.push_back({prefix + p.name, p.shape, arena + p.offset});
  return out;
}

void save_safetensors(const std::filesystem::path& path, const std::vector<TensorData>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // ordered_json keeps the tensors in the given order, which is also their order in the data.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    header[std::string(kMetadataKey)] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) header[std::string(kMetadataKey)][k] = v;
  }
  uint64_t pos = 0;
  for (const TensorData& t : tensors) {
    const uint64_t bytes = t.numel() * sizeof(float);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {pos, pos + bytes}}};
    pos += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::type_error& e) {
    fail("{}: cannot write the header (metadata must be UTF-8): {}", path.string(), e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  std::string content(8 + text.size() + pos, '\0');
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) content[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  std::memcpy(content.data() + 8, text.data(), text.size());
  char* data = content.data() + 8 + text.size();
  for (const TensorData& t : tensors) {
    std::memcpy(data, t.data, t.numel() * sizeof(float));
    data += t.numel() * sizeof(float);
  }
  write_file_atomic(path, content);
}

void save_safetensors(const std::filesystem::path& path, const ParamTable& table,
                      const float* params, const std::map<std::string, std::string>& metadata) {
  // table_tensors takes a writable arena; save only reads it.
  save_safetensors(path, table_tensors(table, const_cast<float*>(params)), metadata);
}

SafetensorsHeader read_safetensors_header_bytes(std::string_view bytes, const std::string& where) {
  check_min_size(where, bytes.size());
  const uint64_t n =
      header_length(where, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return parse_header(where, std::string(bytes.substr(8, n)), bytes.size() - 8 - n);
}

std::map<std::string, std::string> load_safetensors_bytes(std::string_view bytes,
                                                          const std::string& where,
                                                          const std::vector<TensorData>& tensors) {
  const SafetensorsHeader h = read_safetensors_header_bytes(bytes, where);
  const std::string_view data = bytes.substr(bytes.size() - h.data_bytes);

  std::map<std::string_view, const SafetensorsTensor*> by_name;
  for (const auto& t : h.tensors) by_name[t.name] = &t;
  std::vector<const SafetensorsTensor*> source(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorData& want = tensors[i];
    const auto it = by_name.find(want.name);
    WD_CHECK(it != by_name.end(), "{}: tensor '{}' of the model is missing from the file", where,
             want.name);
    const SafetensorsTensor& t = *it->second;
    WD_CHECK(t.dtype == "F32", "{}: tensor '{}' has dtype {}, expected F32", where, want.name,
             t.dtype);
    WD_CHECK(t.shape == want.shape,
             "{}: tensor '{}' has shape {} in the file, the model expects {}", where, want.name,
             shape_string(t.shape), shape_string(want.shape));
    source[i] = &t;
    by_name.erase(it);
  }
  WD_CHECK(by_name.empty(), "{}: tensor '{}' in the file is not a parameter of the model{}", where,
           by_name.empty() ? "" : by_name.begin()->first,
           by_name.size() > 1 ? fmt::format(" ({} such tensors)", by_name.size()) : "");

  // Every check passed: only now are the tensors written.
  for (size_t i = 0; i < tensors.size(); ++i) {
    std::memcpy(tensors[i].data, data.data() + source[i]->begin, source[i]->end - source[i]->begin);
  }
  return h.metadata;
}

std::map<std::string, std::string> load_safetensors_bytes(std::string_view bytes,
                                                          const std::string& where,
                                                          const ParamTable& table, float* params) {
  return load_safetensors_bytes(bytes, where, table_tensors(table, params));
}

SafetensorsHeader read_safetensors_header(const std::filesystem::path& path) {
  // Only the first 8 + N bytes: tools list the tensors of large files without reading the data.
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  WD_CHECK(in.is_open(), "{}: cannot open: {}", file, std::strerror(errno));
  const uint64_t size = size_of_file(path);
  check_min_size(file, size);
  unsigned char len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  WD_CHECK(in.good(), "{}: cannot read the header length", file);
  const uint64_t n = header_length(file, len, size);
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  WD_CHECK(in.good(), "{}: cannot read the {}-byte header", file, n);
  return parse_header(file, text, size - 8 - n);
}

std::map<std::string, std::string> load_safetensors(const std::filesystem::path& path,
                                                    const std::vector<TensorData>& tensors) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  WD_CHECK(in.is_open(), "{}: cannot open: {}", file, std::strerror(errno));
  std::string bytes(size_of_file(path), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  WD_CHECK(in.gcount() == static_cast<std::streamsize>(bytes.size()),
           "{}: cannot read its {} bytes", file, bytes.size());
  return load_safetensors_bytes(bytes, file, tensors);
}

std::map<std::string, std::string> load_safetensors(const std::filesystem::path& path,
                                                    const ParamTable& table, float* params) {
  return load_safetensors(path, table_tensors(table, params));
}

}  // namespace wdlab
