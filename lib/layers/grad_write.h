// How a backward pass writes an input gradient. The layers' convention is to accumulate (+=), so
// a tensor with two consumers receives both contributions and callers zero the buffer first.
// Where a buffer has exactly one writer, `overwrite` skips that zeroing pass: it stores 0 + g,
// which is bit for bit what zero-filling and then accumulating gives (+0 + g, so even a -0 g
// becomes +0 as before), without touching the memory twice.
#pragma once

namespace wdlab {

enum class GradWrite { accumulate, overwrite };

// dst + g, or +0 + g when overwriting (dst not read).
template <GradWrite W, typename F>
[[gnu::always_inline]] inline F grad_add(const F& dst, F g) {
  if constexpr (W == GradWrite::overwrite) {
    return F(0) + g;
  } else {
    return dst + g;
  }
}

}  // namespace wdlab
