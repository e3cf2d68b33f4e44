// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TFRecord files, and its
// "masked" form, which TensorFlow stores so that a CRC over data that itself holds CRCs stays
// well-distributed: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
//
//   crc32c("123456789", 9) == 0xE3069283
//   masked_crc32c(data, n)  // what a TFRecord stores after its length and after its data
#pragma once

#include <cstddef>
#include <cstdint>

namespace wdlab {

uint32_t crc32c(const void* data, size_t size);
uint32_t mask_crc32c(uint32_t crc);
uint32_t masked_crc32c(const void* data, size_t size);

}  // namespace wdlab
