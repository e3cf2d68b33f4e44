// Which tensors AdamC treats as "normalized layers" (Defazio, "Why Gradients Rapidly Increase
// Near the End of Training", 2025, arXiv:2506.02285). The paper's argument holds for a weight
// whose output is normalized: the loss depends only on its direction, so its gradient is
// orthogonal to it and scales as 1/||w||, and the decay sets ||w|| (optimizer.h).
//
// Strictly, in these families few single tensors are scale-invariant:
//   pre-norm (gpt2, gpt3, llama, mistral, mixtral; palm's parallel block): no matrix's output
//     is normalized on its own. The residual stream is: it sums the embeddings and every
//     block's output projections (attn.c_proj, mlp.c_proj, the experts' c_proj) and is
//     normalized before each block and before the head, so the loss is invariant to scaling
//     all of those together (norm eps aside), not any one alone. The input-side matrices
//     (attn.c_attn, mlp.c_fc, the experts' c_fc, the router) read a normalized input, but
//     their output goes into a softmax or an activation. A tied head (gpt2, gpt3, palm) makes
//     the logits from the embedding, which breaks even the joint invariance.
//   sandwich (grok1): attn.c_proj and the MoE output are normalized again (ln_*_post) before
//     they join the residual: attn.c_proj alone, and a layer's expert c_proj jointly, are
//     scale-invariant.
// The paper applies the correction by a practical rule instead: in its Llama-3 experiments
// every linear layer counts as normalized except the output layer. That is what `adamc` does:
//   normalized: kinds matrix (but not the untied head lm_head.weight), expert, router, and bias
//               (a linear layer's bias scales with its weight; decayed only by uniform scope
//               or a rule)
//   lr_t:       embedding (a lookup table, not a linear layer; tied, it is the output layer),
//               lm_head.weight, norm_gain and norm_bias (a norm's own affine output is not
//               normalized; decayed only by uniform scope or a rule)
// The router is a linear layer whose logits go into a softmax, as attention's q and k are;
// the paper's rule counts those, so the router counts too.
//
//   std::vector<bool> c = adamc_tensors(table, /*all=*/false);   // c[i]: lr_t^2 / lr_peak
#pragma once

#include <string_view>
#include <vector>

#include "core/param_table.h"

namespace wdlab {

// The untied output head's name (param_layout.cpp); its kind is matrix like any linear layer.
inline constexpr std::string_view kOutputHeadName = "lm_head.weight";

// Is this tensor a "normalized layer" by the paper's rule (above)?
bool is_normalized_layer(const ParamInfo& p);

// Per table row: does AdamC's corrected shrink apply (when the tensor decays)? all: every
// tensor (decay_scaling adamc_all); otherwise the normalized layers (adamc).
std::vector<bool> adamc_tensors(const ParamTable& table, bool all);

}  // namespace wdlab
