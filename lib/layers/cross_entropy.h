// Softmax cross-entropy over the vocabulary, mean over the N = B*T positions.
#pragma once

namespace wdlab {

// probs (N,V) = softmax(logits) row-wise (max-subtracted); returns the mean over rows of
// -log probs[n, targets[n]], accumulated in double. probs may alias logits (in-place).
template <typename F>
double cross_entropy_forward(F* probs, const F* logits, const int* targets, int N, int V);

// Accumulates dlogits (N,V) += scale * (probs - onehot(targets)); scale is 1/N for the mean loss.
template <typename F>
void cross_entropy_backward(F* dlogits, const F* probs, const int* targets, int N, int V, F scale);

}  // namespace wdlab
