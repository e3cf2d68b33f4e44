// What every fuzz target shares. A wdlab::Error is the library's answer to bad input, so a target
// catches it; anything else (a crash, a sanitizer report, another exception escaping, a hang)
// is a finding.
//
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//     wdlab::fuzz::expect_clean([&] { parse_something(wdlab::fuzz::text(data, size)); });
//     return 0;
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace wdlab::fuzz {

inline std::string text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs f; a wdlab::Error is a clean rejection. Returns whether f succeeded.
template <typename F>
bool expect_clean(F&& f) {
  try {
    f();
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace wdlab::fuzz
