// TFRecord framing, the container of TensorBoard event files: each record is
//   uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes | data |
//   uint32 masked CRC-32C of the data
// (TensorFlow's tensorflow/core/lib/io/record_writer.cc; crc32c.h for the masking).
//
//   out += tfrecord_frame(event_bytes);
//   TfRecordScan scan = scan_tfrecords(file_bytes);   // stops at the first damaged record
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wdlab {

std::string tfrecord_frame(std::string_view data);

struct TfRecord {
  uint64_t offset = 0;  // of the length field
  uint64_t end = 0;     // one past the data's CRC
  std::string_view data;  // into the scanned bytes, which must outlive it
};

struct TfRecordScan {
  std::vector<TfRecord> records;  // every intact record from the start, in order
  uint64_t intact_bytes = 0;      // where the first damaged or partial record begins (or the end)
  std::string damage;             // empty when the whole input is intact records
};

// Reads records until the end, or up to the first one that is cut short or fails a CRC (a
// process killed while writing leaves such a tail).
TfRecordScan scan_tfrecords(std::string_view bytes);

}  // namespace wdlab
