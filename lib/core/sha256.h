// SHA-256 (FIPS 180-4) of a byte string or a file, as 64 lowercase hex digits: the content hash
// that --init-from records and puts into the config id. Small and dependency-free; the same digest
// as `sha256sum`.
//
//   std::string hex = sha256_hex("abc");   // "ba7816bf..."
//   std::string file = sha256_file(path);  // errors name the file
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace wdlab {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  // The digest as hex; the object is spent afterwards.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(std::string_view bytes);
std::string sha256_file(const std::filesystem::path& path);

}  // namespace wdlab
