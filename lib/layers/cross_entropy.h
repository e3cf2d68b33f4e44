// Softmax cross-entropy over the vocabulary, mean over the N = B*T positions, with PaLM's
// optional z-loss z_coef * log(Z)^2 (Z the softmax normaliser) that keeps logits from drifting.
#pragma once

namespace wdlab {

struct CrossEntropyLoss {
  double ce = 0.0;      // mean over rows of -log p[target]
  double z_loss = 0.0;  // z_coef * mean over rows of log(Z)^2 (0 when z_coef is 0)
};

// probs (N,V) = softmax(logits) row-wise (max-subtracted); lse (N) = log(Z) per row, kept for the
// z-loss gradient. probs may alias logits (in-place). Sums in double.
template <typename F>
CrossEntropyLoss cross_entropy_forward(F* probs, F* lse, const F* logits, const int* targets,
                                       int N, int V, double z_coef);

// Accumulates the gradient of ce + z_loss:
//   dlogits (N,V) += scale * (probs - onehot(targets) + 2 z_coef lse probs);
// scale is 1/N for the mean loss.
template <typename F>
void cross_entropy_backward(F* dlogits, const F* probs, const F* lse, const int* targets, int N,
                            int V, double z_coef, F scale);

}  // namespace wdlab
