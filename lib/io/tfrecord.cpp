#include "io/tfrecord.h"

#include <fmt/format.h>

#include "io/crc32c.h"

namespace wdlab {
namespace {

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t get_le(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  return v;
}

}  // namespace

std::string tfrecord_frame(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  put_le(out, data.size(), 8);
  put_le(out, masked_crc32c(out.data(), 8), 4);
  out.append(data);
  put_le(out, masked_crc32c(data.data(), data.size()), 4);
  return out;
}

TfRecordScan scan_tfrecords(std::string_view bytes) {
  TfRecordScan scan;
  uint64_t at = 0;
  while (at < bytes.size()) {
    const std::string_view rest = bytes.substr(at);
    if (rest.size() < 12) {
      scan.damage = fmt::format("a record cut short at byte {}", at);
      break;
    }
    const uint64_t length = get_le(rest, 8);
    if (get_le(rest.substr(8), 4) != masked_crc32c(rest.data(), 8)) {
      scan.damage = fmt::format("the length CRC of the record at byte {} does not match", at);
      break;
    }
    if (length > rest.size() - 12 || rest.size() - 12 - length < 4) {
      scan.damage = fmt::format("a record cut short at byte {}", at);
      break;
    }
    const std::string_view data = rest.substr(12, length);
    if (get_le(rest.substr(12 + length), 4) != masked_crc32c(data.data(), data.size())) {
      scan.damage = fmt::format("the data CRC of the record at byte {} does not match", at);
      break;
    }
    scan.records.push_back({at, at + 16 + length, data});
    at += 16 + length;
  }
  scan.intact_bytes = at;
  return scan;
}

}  // namespace wdlab
