// Softmax cross-entropy over the vocabulary, mean over the N = B*T positions, with PaLM's
// optional z-loss z_coef * log(Z)^2 (Z the softmax normaliser) that keeps logits from drifting.
//
// Loss mask: a row whose target is kMaskedTarget has weight 0 (every other row weight 1). It adds
// nothing to the loss, the z-loss or the gradient, and the means are over the counted rows only
// (as PyTorch's ignore_index). A task that grades only some positions (data.source=modular: the
// answer token) masks the rest; streams of text mask nothing.
#pragma once

namespace wdlab {

// The target of a position the loss skips.
inline constexpr int kMaskedTarget = -1;

struct CrossEntropyLoss {
  double ce = 0.0;      // mean over counted rows of -log p[target]
  double z_loss = 0.0;  // z_coef * mean over counted rows of log(Z)^2 (0 when z_coef is 0)
  int counted = 0;      // rows not masked: the denominator of both means
  int correct = 0;      // counted rows whose target is the argmax (the first largest logit)
};

// probs (N,V) = softmax(logits) row-wise (max-subtracted); lse (N) = log(Z) per row, kept for the
// z-loss gradient. probs may alias logits (in-place). Sums in double. Masked rows are left as they
// are (logits, not probabilities) and their lse is 0: backward skips them.
template <typename F>
CrossEntropyLoss cross_entropy_forward(F* probs, F* lse, const F* logits, const int* targets, int N,
                                       int V, double z_coef);

// Accumulates the gradient of ce + z_loss:
//   dlogits (N,V) += scale * (probs - onehot(targets) + 2 z_coef lse probs) on counted rows;
// masked rows get nothing. scale is 1/counted for the mean loss (1/N when nothing is masked).
template <typename F>
void cross_entropy_backward(F* dlogits, const F* probs, const F* lse, const int* targets, int N,
                            int V, double z_coef, F scale);

}  // namespace wdlab
