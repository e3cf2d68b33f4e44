// The parameter table of a config and its initialisation (param_layout.h).
#include "model/param_layout.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/rng.h"

namespace wdlab {

ParamLayout make_param_layout(const ModelConfig& c) {
  const int64_t V = c.vocab_size, C = c.d_model, L = c.n_layer, maxT = c.block_size;
  const int64_t NH = c.n_head, NKV = c.kv_heads(), HS = c.head_size(), H = c.ffn_hidden();
  const int64_t E = c.moe.n_expert;
  const int64_t fc_rows = c.gated() ? 2 * H : H;  // gated MLPs fuse [gate | up]
  const bool norm_bias = c.norm == NormKind::layernorm && c.norm_bias;
  const bool sandwich = c.norm_placement == NormPlacement::sandwich;
  ParamLayout layout;
  ParamTable& t = layout.table;
  TopParams& top = layout.top;

  auto add_norm = [&](const std::string& name, size_t& w, size_t& b) {
    w = t.add(name + ".weight", {C}, ParamKind::norm_gain);
    if (norm_bias) b = t.add(name + ".bias", {C}, ParamKind::norm_bias);
  };
  top.wte = t.add("transformer.wte.weight", {V, C}, ParamKind::embedding);
  if (c.positions == PositionKind::learned) {
    top.wpe = t.add("transformer.wpe.weight", {maxT, C}, ParamKind::embedding);
  }
  layout.blocks.resize(L);
  for (int64_t l = 0; l < L; ++l) {
    BlockParams& y = layout.blocks[l];
    const std::string h = "transformer.h." + std::to_string(l) + ".";
    add_norm(h + "ln_1", y.ln1_w, y.ln1_b);
    y.qkv_w = t.add(h + "attn.c_attn.weight", {(NH + 2 * NKV) * HS, C}, ParamKind::matrix);
    if (c.bias) y.qkv_b = t.add(h + "attn.c_attn.bias", {(NH + 2 * NKV) * HS}, ParamKind::bias);
    y.attproj_w = t.add(h + "attn.c_proj.weight", {C, NH * HS}, ParamKind::matrix);
    if (c.bias) y.attproj_b = t.add(h + "attn.c_proj.bias", {C}, ParamKind::bias);
    if (sandwich) add_norm(h + "ln_1_post", y.ln1p_w, y.ln1p_b);
    if (c.block == BlockKind::sequential) add_norm(h + "ln_2", y.ln2_w, y.ln2_b);
    if (c.is_moe()) {
      y.router = t.add(h + "moe.router.weight", {E, C}, ParamKind::router);
      // Experts stacked contiguously: the MoE layer reads (E, 2H, C) and (E, C, H) arrays.
      for (int64_t e = 0; e < E; ++e) {
        const size_t r = t.add(h + "moe.experts." + std::to_string(e) + ".c_fc.weight",
                               {fc_rows, C}, ParamKind::expert);
        if (e == 0) y.experts_fc = r;
      }
      for (int64_t e = 0; e < E; ++e) {
        const size_t r = t.add(h + "moe.experts." + std::to_string(e) + ".c_proj.weight", {C, H},
                               ParamKind::expert);
        if (e == 0) y.experts_proj = r;
      }
    } else {
      y.fc_w = t.add(h + "mlp.c_fc.weight", {fc_rows, C}, ParamKind::matrix);
      if (c.bias) y.fc_b = t.add(h + "mlp.c_fc.bias", {fc_rows}, ParamKind::bias);
      y.proj_w = t.add(h + "mlp.c_proj.weight", {C, H}, ParamKind::matrix);
      if (c.bias) y.proj_b = t.add(h + "mlp.c_proj.bias", {C}, ParamKind::bias);
    }
    if (sandwich) add_norm(h + "ln_2_post", y.ln2p_w, y.ln2p_b);
  }
  add_norm("transformer.ln_f", top.lnf_w, top.lnf_b);
  if (!c.tie_embeddings) top.lm_head = t.add("lm_head.weight", {V, C}, ParamKind::matrix);
  return layout;
}

template <typename F>
void init_params(F* params, const ParamTable& table, const ModelConfig& c, uint64_t seed) {
  Rng rng(seed, RngStream::init);
  const double residual_std = c.init_std / std::sqrt(2.0 * c.n_layer);
  const double emb_std = c.embedding_init_std > 0.0 ? c.embedding_init_std : c.init_std;
  for (const ParamInfo& p : table) {
    F* w = params + p.offset;
    switch (p.kind) {
      case ParamKind::matrix:
      case ParamKind::embedding:
      case ParamKind::router:
      case ParamKind::expert: {
        // The projections that write into the residual stream are scaled down (GPT-2 §2.3).
        const bool residual_out = p.name.ends_with("c_proj.weight");
        const double std = p.name == "transformer.wte.weight" ? emb_std
                           : residual_out                     ? residual_std
                                                              : c.init_std;
        for (size_t i = 0; i < p.numel; ++i) w[i] = static_cast<F>(std * rng.normal());
        break;
      }
      case ParamKind::bias:
      case ParamKind::norm_bias:
        std::fill(w, w + p.numel, F(0));
        break;
      case ParamKind::norm_gain:
        std::fill(w, w + p.numel, F(1));
        break;
    }
  }
}

template void init_params<float>(float*, const ParamTable&, const ModelConfig&, uint64_t);
template void init_params<double>(double*, const ParamTable&, const ModelConfig&, uint64_t);

}  // namespace wdlab
