#include "layers/embedding.h"

#include <cstddef>

namespace wdlab {

template <typename F>
void embedding_forward(F* out, const int* tokens, const F* wte, const F* wpe, int B, int T, int C) {
  // out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:]. Token ids are not range-checked here: V is not
  // an argument, so validating ids is the data pipeline's job.
  for (int b = 0; b < B; ++b) {
    for (int t = 0; t < T; ++t) {
      const size_t bt = static_cast<size_t>(b) * T + t;
      F* o = out + bt * C;
      const F* tok = wte + static_cast<size_t>(tokens[bt]) * C;
      if (wpe != nullptr) {
        const F* pos = wpe + static_cast<size_t>(t) * C;
        for (int c = 0; c < C; ++c) o[c] = tok[c] + pos[c];
      } else {
        for (int c = 0; c < C; ++c) o[c] = tok[c];
      }
    }
  }
}

template <typename F>
void embedding_backward(F* dwte, F* dwpe, const F* dout, const int* tokens, int B, int T, int C) {
  // A scatter-add: a token that occurs several times (and every position, once per batch row)
  // receives the sum of its rows of dout.
  for (int b = 0; b < B; ++b) {
    for (int t = 0; t < T; ++t) {
      const size_t bt = static_cast<size_t>(b) * T + t;
      const F* d = dout + bt * C;
      F* dtok = dwte + static_cast<size_t>(tokens[bt]) * C;
      for (int c = 0; c < C; ++c) dtok[c] += d[c];
      if (dwpe != nullptr) {
        F* dpos = dwpe + static_cast<size_t>(t) * C;
        for (int c = 0; c < C; ++c) dpos[c] += d[c];
      }
    }
  }
}

template void embedding_forward<float>(float*, const int*, const float*, const float*, int, int,
                                       int);
template void embedding_forward<double>(double*, const int*, const double*, const double*, int, int,
                                        int);
template void embedding_backward<float>(float*, float*, const float*, const int*, int, int, int);
template void embedding_backward<double>(double*, double*, const double*, const int*, int, int,
                                         int);

}  // namespace wdlab
