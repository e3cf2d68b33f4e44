// wdlab::Error is the one exception type the library throws for bad input or a broken invariant.
// The CLI catches it at the top, prints its one-line message and exits non-zero; nothing in the
// library calls exit() or assert().
//
//   WD_CHECK(n_head > 0, "model.n_head: must be positive, got {}", n_head);
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace wdlab {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace wdlab

#define WD_CHECK(cond, ...)                  \
  do {                                       \
    if (!(cond)) ::wdlab::fail(__VA_ARGS__); \
  } while (0)
