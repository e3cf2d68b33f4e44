// Every shipped preset builds the architecture its family actually uses (configs/README.md) and its
// decay groups come out as the family's facts say: the no-decay set under selective decay is
// pinned per family, and uniform decay leaves nothing out.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "model/transformer.h"
#include "optim/adamc_scope.h"
#include "optim/param_groups.h"
#include "run/config.h"
#include "test_presets.h"

namespace wdlab {
namespace {

struct Built {
  RunConfig run;
  std::unique_ptr<Transformer<float>> model;
};

Built build(const std::string& preset, const std::string& scale = "tiny") {
  Built b;
  b.run = test::preset_run(preset, scale);
  b.model = std::make_unique<Transformer<float>>(b.run.model, 1);
  return b;
}

// Names of the tensors outside the decay group, with the layer index replaced by '*'.
std::set<std::string> no_decay_names(const ParamTable& t, DecayScope scope) {
  const DecayPlan plan = build_decay_plan(t, scope, {});
  std::set<std::string> names;
  for (size_t i : plan.no_decay.tensors) {
    std::string n = t[i].name;
    const auto h = n.find(".h.");
    if (h != std::string::npos) n.replace(h + 3, n.find('.', h + 3) - (h + 3), "*");
    names.insert(n);
  }
  return names;
}

bool has(const ParamTable& t, const std::string& name) {
  return t.find(name).has_value();
}

TEST(Families, Gpt2NoDecaySetIsBiasesAndLayerNorms) {
  const Built b = build("gpt2");
  const std::set<std::string> expected = {
      "transformer.h.*.ln_1.weight",      "transformer.h.*.ln_1.bias",
      "transformer.h.*.attn.c_attn.bias", "transformer.h.*.attn.c_proj.bias",
      "transformer.h.*.ln_2.weight",      "transformer.h.*.ln_2.bias",
      "transformer.h.*.mlp.c_fc.bias",    "transformer.h.*.mlp.c_proj.bias",
      "transformer.ln_f.weight",          "transformer.ln_f.bias"};
  EXPECT_EQ(no_decay_names(b.model->table(), DecayScope::selective), expected);
  EXPECT_TRUE(no_decay_names(b.model->table(), DecayScope::uniform).empty());
  // Tied head: one tensor, decided once; learned positions decayed as an embedding table.
  EXPECT_FALSE(has(b.model->table(), "lm_head.weight"));
  EXPECT_TRUE(has(b.model->table(), "transformer.wpe.weight"));
}

TEST(Families, Gpt3IsGpt2WithAlternatingBandedLayers) {
  const Built b = build("gpt3");
  EXPECT_EQ(no_decay_names(b.model->table(), DecayScope::selective),
            no_decay_names(build("gpt2").model->table(), DecayScope::selective));
  EXPECT_EQ(b.run.model.window_of_layer(0), 0);
  EXPECT_EQ(b.run.model.window_of_layer(1), b.run.model.window);
  EXPECT_GT(b.run.model.window, 0);
}

TEST(Families, LlamaDecaysEverythingButRmsNormGains) {
  const Built b = build("llama");
  const std::set<std::string> expected = {"transformer.h.*.ln_1.weight",
                                          "transformer.h.*.ln_2.weight", "transformer.ln_f.weight"};
  EXPECT_EQ(no_decay_names(b.model->table(), DecayScope::selective), expected);
  EXPECT_TRUE(has(b.model->table(), "lm_head.weight"));           // untied
  EXPECT_FALSE(has(b.model->table(), "transformer.wpe.weight"));  // rotary
  // SwiGLU width: 2/3 * 4d rounded up to a multiple of 16 (64 -> 176), fused [gate; up].
  EXPECT_EQ(b.run.model.ffn_hidden(), 176);
  const auto& fc = b.model->table()[*b.model->table().find("transformer.h.0.mlp.c_fc.weight")];
  EXPECT_EQ(fc.shape, (std::vector<int64_t>{2 * 176, 64}));
}

TEST(Families, PalmParallelBlockHasOneNormPerLayerAndMultiQuery) {
  const Built b = build("palm");
  const std::set<std::string> expected = {"transformer.h.*.ln_1.weight", "transformer.ln_f.weight"};
  EXPECT_EQ(no_decay_names(b.model->table(), DecayScope::selective), expected);
  EXPECT_FALSE(has(b.model->table(), "transformer.h.0.ln_2.weight"));
  EXPECT_FALSE(has(b.model->table(), "transformer.h.0.ln_1.bias"));  // LayerNorm without bias
  EXPECT_FALSE(has(b.model->table(), "lm_head.weight"));             // shared embedding
  const int HS = b.run.model.head_size(), NH = b.run.model.n_head;
  const auto& qkv = b.model->table()[*b.model->table().find("transformer.h.0.attn.c_attn.weight")];
  EXPECT_EQ(qkv.shape[0], (NH + 2) * HS);  // one key head, one value head
  EXPECT_EQ(b.run.optim.options.decay_scaling, DecayScaling::lr_squared);
  EXPECT_GT(b.run.model.z_loss, 0.0);
}

TEST(Families, Grok1SandwichNormsAndMoE) {
  const Built b = build("grok1");
  const std::set<std::string> expected = {
      "transformer.h.*.ln_1.weight", "transformer.h.*.ln_1_post.weight",
      "transformer.h.*.ln_2.weight", "transformer.h.*.ln_2_post.weight", "transformer.ln_f.weight"};
  EXPECT_EQ(no_decay_names(b.model->table(), DecayScope::selective), expected);
  const ParamTable& t = b.model->table();
  EXPECT_EQ(t[*t.find("transformer.h.0.moe.router.weight")].kind, ParamKind::router);
  EXPECT_EQ(t[*t.find("transformer.h.1.moe.experts.7.c_proj.weight")].kind, ParamKind::expert);
  EXPECT_FALSE(has(t, "transformer.h.0.mlp.c_fc.weight"));
  EXPECT_FALSE(has(t, "lm_head.weight"));
  EXPECT_EQ(b.run.model.n_head / b.run.model.kv_heads(), 6);  // 48:8 as published
  // GeGLU experts: int(8 d) * 2 // 3 rounded up to a multiple of 8 (96 -> 512).
  EXPECT_EQ(b.run.model.ffn_hidden(), 512);
}

TEST(Families, MistralAndMixtral) {
  const Built m = build("mistral"), x = build("mixtral");
  const std::set<std::string> expected = {"transformer.h.*.ln_1.weight",
                                          "transformer.h.*.ln_2.weight", "transformer.ln_f.weight"};
  EXPECT_EQ(no_decay_names(m.model->table(), DecayScope::selective), expected);
  EXPECT_EQ(no_decay_names(x.model->table(), DecayScope::selective), expected);
  EXPECT_EQ(m.run.model.window_of_layer(0), m.run.model.block_size / 2);
  EXPECT_EQ(x.run.model.window_of_layer(0), 0);
  EXPECT_EQ(x.run.model.rope_theta, 1e6);
  EXPECT_EQ(x.run.model.moe.router, RouterKind::topk_softmax);
  EXPECT_EQ(m.run.model.n_head / m.run.model.kv_heads(), 4);  // 32:8
}

TEST(Families, DecayRuleCanExemptEmbeddingsAndRouters) {
  const Built b = build("grok1");
  const DecayPlan plan = build_decay_plan(
      b.model->table(), DecayScope::selective,
      {DecayRule{ParamKind::embedding, "", false}, DecayRule{ParamKind::router, "", false}});
  const ParamTable& t = b.model->table();
  EXPECT_FALSE(plan.decays[*t.find("transformer.wte.weight")]);
  EXPECT_FALSE(plan.decays[*t.find("transformer.h.0.moe.router.weight")]);
  EXPECT_TRUE(plan.decays[*t.find("transformer.h.0.moe.experts.0.c_fc.weight")]);
}

// AdamC's normalized layers per family, by the paper's rule (adamc_scope.h: every linear layer
// but the output head): the names that keep lr_t scaling are pinned per family.
std::set<std::string> not_normalized_names(const ParamTable& t) {
  const std::vector<bool> adamc = adamc_tensors(t, false);
  std::set<std::string> names;
  for (size_t i = 0; i < t.size(); ++i) {
    if (adamc[i]) continue;
    std::string n = t[i].name;
    const auto h = n.find(".h.");
    if (h != std::string::npos) n.replace(h + 3, n.find('.', h + 3) - (h + 3), "*");
    names.insert(n);
  }
  return names;
}

TEST(Families, AdamcNormalizedLayersAreTheLinearLayersButTheHead) {
  // gpt2: tied head (the embedding is the output layer), learned positions, LayerNorm biases.
  EXPECT_EQ(not_normalized_names(build("gpt2").model->table()),
            (std::set<std::string>{"transformer.wte.weight", "transformer.wpe.weight",
                                   "transformer.h.*.ln_1.weight", "transformer.h.*.ln_1.bias",
                                   "transformer.h.*.ln_2.weight", "transformer.h.*.ln_2.bias",
                                   "transformer.ln_f.weight", "transformer.ln_f.bias"}));
  // llama: untied head, RMSNorm gains only.
  EXPECT_EQ(not_normalized_names(build("llama").model->table()),
            (std::set<std::string>{"transformer.wte.weight", "lm_head.weight",
                                   "transformer.h.*.ln_1.weight", "transformer.h.*.ln_2.weight",
                                   "transformer.ln_f.weight"}));
  // grok1: sandwich norms; the router and every expert count as linear layers.
  const Built g = build("grok1");
  const std::set<std::string> grok = not_normalized_names(g.model->table());
  EXPECT_TRUE(grok.contains("transformer.h.*.ln_1_post.weight"));
  EXPECT_FALSE(grok.contains("transformer.h.*.moe.router.weight"));
  EXPECT_FALSE(grok.contains("transformer.h.*.moe.experts.0.c_proj.weight"));
  EXPECT_FALSE(grok.contains("transformer.h.*.attn.c_proj.weight"));
  // Every family: the hidden matrices and experts are normalized; embeddings, the untied head
  // and norm parameters are not.
  for (const char* preset : {"gpt2", "gpt3", "llama", "palm", "grok1", "mistral", "mixtral"}) {
    SCOPED_TRACE(preset);
    const Built b = build(preset);
    const ParamTable& t = b.model->table();
    const std::vector<bool> adamc = adamc_tensors(t, false);
    for (size_t i = 0; i < t.size(); ++i) {
      const ParamKind k = t[i].kind;
      const bool linear = k == ParamKind::matrix || k == ParamKind::expert ||
                          k == ParamKind::router || k == ParamKind::bias;
      EXPECT_EQ(adamc[i], linear && t[i].name != "lm_head.weight") << t[i].name;
    }
    const std::vector<bool> all = adamc_tensors(t, true);
    EXPECT_EQ(std::count(all.begin(), all.end(), true), static_cast<long>(t.size()));
  }
}

}  // namespace
}  // namespace wdlab
