// The few pieces of the protocol-buffer wire format that TensorBoard event files need, so that
// wdlab writes them without a protobuf dependency
// (https://protobuf.dev/programming-guides/encoding/): a field is a varint key (field_number << 3 |
// wire_type) followed by a varint (type 0), 8 little-endian bytes (type 1: double, fixed64), a
// varint length and that many bytes (type 2: strings, bytes, embedded messages) or 4 little-endian
// bytes (type 5: float, fixed32).
//
//   std::string value;
//   put_string(value, 1, "train/loss");   // Summary.Value.tag
//   put_float(value, 2, 3.25f);           // Summary.Value.simple_value
//   std::string summary;
//   put_bytes(summary, 1, value);         // Summary.value (repeated, embedded message)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wdlab {

void put_varint(std::string& out, uint64_t v);
void put_double(std::string& out, int field, double v);
void put_float(std::string& out, int field, float v);
// int64 fields are varints of the two's-complement value (10 bytes when negative).
void put_int64(std::string& out, int field, int64_t v);
void put_bytes(std::string& out, int field, std::string_view bytes);  // strings and messages
inline void put_string(std::string& out, int field, std::string_view s) {
  put_bytes(out, field, s);
}

// Reads a message's top-level int64 field `field` into `value` (the last occurrence, as protobuf
// does; 0, proto3's default, when absent), skipping every other field. False when the bytes are
// not a well-formed message.
bool read_int64_field(std::string_view message, int field, int64_t& value);

}  // namespace wdlab
