#include "run/config_model.h"

namespace wdlab {
using nlohmann::json;

const SectionSchema& model_schema() {
  static const SectionSchema schema{
      "model",
      {
          {"family", "gpt2", "a label for logs and reports; the keys below define the model"},
          {"block_size", 64, "context length in tokens"},
          {"n_layer", 2, "transformer blocks"},
          {"n_head", 4, "attention (query) heads"},
          {"n_kv_head", 0, "key/value heads for grouped-query attention; 0: n_head"},
          {"d_model", 64, "residual stream width"},
          {"head_dim", 0, "width of one head; 0: d_model / n_head"},
          {"ffn_rule", "ratio",
           "MLP width: ratio (ffn_ratio * d_model) | two_thirds (2/3 of that, LLaMA)"},
          {"ffn_ratio", 4.0, "MLP width as a multiple of d_model"},
          {"ffn_multiple_of", 1, "round the MLP width up to a multiple of this"},
          {"activation", "gelu", "MLP activation: gelu | swiglu | geglu"},
          {"norm", "layernorm", "normalisation: layernorm | rmsnorm"},
          {"norm_bias", true, "LayerNorm has a bias"},
          {"norm_eps", 1e-5, "epsilon of the norms"},
          {"norm_placement", "pre", "pre (pre-norm) | sandwich (also after each sublayer)"},
          {"block", "sequential", "sequential (attention then MLP) | parallel (PaLM, GPT-J)"},
          {"positions", "learned", "position encoding: learned | rope"},
          {"rope_theta", 10000.0, "RoPE base frequency"},
          {"bias", true, "linear layers have biases"},
          {"tie_embeddings", true, "the output head shares the token embedding"},
          {"attention", "dense", "dense | sliding (window) | alternating (dense and sliding)"},
          {"window", 0, "sliding attention window in tokens"},
          {"attn_softcap", 0.0, "tanh soft cap of the attention logits; 0: none"},
          {"embedding_scale", "none", "embedding multiplier: none | sqrt_d_model"},
          {"logit_scale", "none", "output logit multiplier: none | inv_sqrt_d_model | inv_sqrt_3"},
          {"z_loss", 0.0, "coefficient of the z-loss on the output logits"},
          {"moe.n_expert", 0, "experts per MoE layer; 0: dense MLP"},
          {"moe.top_k", 2, "experts each token is routed to"},
          {"moe.router", "softmax_topk", "softmax_topk | topk_softmax"},
          {"moe.aux_loss_coef", 0.0, "coefficient of the load-balancing loss"},
          {"dropout", 0.0, "dropout probability"},
          {"init_std", 0.02, "standard deviation of the weight init"},
          {"embedding_init_std", 0.0, "standard deviation of the embedding init; 0: init_std"},
      }};
  return schema;
}

ModelConfig parse_model_config(const json& config) {
  const SectionReader m(config, "model");
  ModelConfig mc;
  mc.family = m.get<std::string>("family");
  mc.block_size = m.get<int>("block_size");
  mc.n_layer = m.get<int>("n_layer");
  mc.n_head = m.get<int>("n_head");
  mc.n_kv_head = m.get<int>("n_kv_head");
  mc.d_model = m.get<int>("d_model");
  mc.head_dim = m.get<int>("head_dim");
  mc.ffn_rule = m.choice<FfnRule>("ffn_rule",
                                  {{"ratio", FfnRule::ratio}, {"two_thirds", FfnRule::two_thirds}});
  mc.ffn_ratio = m.get<double>("ffn_ratio");
  mc.ffn_multiple_of = m.get<int>("ffn_multiple_of");
  mc.activation = m.choice<Activation>(
      "activation",
      {{"gelu", Activation::gelu}, {"swiglu", Activation::swiglu}, {"geglu", Activation::geglu}});
  mc.norm = m.choice<NormKind>(
      "norm", {{"layernorm", NormKind::layernorm}, {"rmsnorm", NormKind::rmsnorm}});
  mc.norm_bias = m.get<bool>("norm_bias");
  mc.norm_eps = m.get<double>("norm_eps");
  mc.norm_placement = m.choice<NormPlacement>(
      "norm_placement", {{"pre", NormPlacement::pre}, {"sandwich", NormPlacement::sandwich}});
  mc.block = m.choice<BlockKind>(
      "block", {{"sequential", BlockKind::sequential}, {"parallel", BlockKind::parallel}});
  mc.positions = m.choice<PositionKind>(
      "positions", {{"learned", PositionKind::learned}, {"rope", PositionKind::rope}});
  mc.rope_theta = m.get<double>("rope_theta");
  mc.bias = m.get<bool>("bias");
  mc.tie_embeddings = m.get<bool>("tie_embeddings");
  mc.attention =
      m.choice<AttentionPattern>("attention", {{"dense", AttentionPattern::dense},
                                               {"sliding", AttentionPattern::sliding},
                                               {"alternating", AttentionPattern::alternating}});
  mc.window = m.get<int>("window");
  mc.attn_softcap = m.get<double>("attn_softcap");
  mc.embedding_scale = m.choice<EmbeddingScale>(
      "embedding_scale",
      {{"none", EmbeddingScale::none}, {"sqrt_d_model", EmbeddingScale::sqrt_d_model}});
  mc.logit_scale =
      m.choice<LogitScale>("logit_scale", {{"none", LogitScale::none},
                                           {"inv_sqrt_d_model", LogitScale::inv_sqrt_d_model},
                                           {"inv_sqrt_3", LogitScale::inv_sqrt_3}});
  mc.z_loss = m.get<double>("z_loss");
  mc.moe.n_expert = m.get<int>("moe.n_expert");
  mc.moe.top_k = m.get<int>("moe.top_k");
  mc.moe.router = m.choice<RouterKind>("moe.router", {{"softmax_topk", RouterKind::softmax_topk},
                                                      {"topk_softmax", RouterKind::topk_softmax}});
  mc.moe.aux_loss_coef = m.get<double>("moe.aux_loss_coef");
  mc.dropout = m.get<double>("dropout");
  mc.init_std = m.get<double>("init_std");
  mc.embedding_init_std = m.get<double>("embedding_init_std");
  mc.vocab_size = 2;  // placeholder for validation; set from the data by the trainer
  validate(mc);
  mc.vocab_size = 0;
  return mc;
}

}  // namespace wdlab
