#include "run/config_data.h"

namespace wdlab {
using nlohmann::json;

const SectionSchema& data_schema() {
  static const SectionSchema schema{
      "data",
      {
          {"source", "synthetic",
           "synthetic (the embedded seeded language) | text (a file) | modular (a ∘ b mod p)"},
          {"path", "", "text: the file to train on (bytes as tokens)"},
          {"val_fraction", 0.1, "text: held-out tail of the file, in (0, 1)"},
          {"language_seed", 1234, "synthetic: seed of the language (not of the run)"},
          {"train_tokens", 200000, "synthetic: tokens sampled for training (> block_size)"},
          {"val_tokens", 32768, "synthetic: tokens sampled for validation (> block_size)"},
          {"synthetic.vocab_size", 64, "synthetic: vocabulary size"},
          {"synthetic.order", 3, "synthetic: how many previous tokens the next one depends on"},
          {"synthetic.rank", 16, "synthetic: width of the random score embeddings"},
          {"synthetic.temperature", 0.5, "synthetic: lower is more predictable"},
          {"modulus", 97, "modular: the prime p (vocabulary p + 2: the numbers, the op, '=')"},
          {"operation", "add", "modular: add | sub | mul | div (a · b^-1, b != 0)"},
          {"train_fraction", 0.5,
           "modular: share of all equations trained on, in (0, 1); the rest is validation, "
           "split by the run seed"},
      }};
  return schema;
}

DataConfig parse_data_config(const json& config, int block_size) {
  const SectionReader d(config, "data");
  DataConfig r;
  r.source = d.get<std::string>("source");
  WD_CHECK(r.source == "synthetic" || r.source == "text" || r.source == "modular",
           "data.source: '{}' is not one of synthetic, text, modular", r.source);
  r.path = d.get<std::string>("path");
  WD_CHECK(r.source != "text" || !r.path.empty(),
           "data.path: required when data.source=text (the file to train on)");
  r.val_fraction = d.get<double>("val_fraction");
  WD_CHECK(r.val_fraction > 0.0 && r.val_fraction < 1.0,
           "data.val_fraction: must be in (0, 1), got {}", r.val_fraction);
  r.language_seed = d.get<uint64_t>("language_seed");  // a negative seed is out of range
  const int64_t train_tokens = d.get<int64_t>("train_tokens");
  const int64_t val_tokens = d.get<int64_t>("val_tokens");
  WD_CHECK(train_tokens > block_size,
           "data.train_tokens: must exceed model.block_size ({}), got {}", block_size,
           train_tokens);
  WD_CHECK(val_tokens > block_size, "data.val_tokens: must exceed model.block_size ({}), got {}",
           block_size, val_tokens);
  r.train_tokens = static_cast<size_t>(train_tokens);
  r.val_tokens = static_cast<size_t>(val_tokens);
  r.synthetic.vocab_size = d.get<int>("synthetic.vocab_size");
  r.synthetic.order = d.get<int>("synthetic.order");
  r.synthetic.rank = d.get<int>("synthetic.rank");
  r.synthetic.temperature = d.get<double>("synthetic.temperature");
  r.modular.modulus = d.get<int>("modulus");
  r.modular.operation = parse_modular_operation(d.get<std::string>("operation"));
  r.modular.train_fraction = d.get<double>("train_fraction");
  if (r.source == "modular") {
    WD_CHECK(block_size == kModularBlockSize,
             "model.block_size: data.source=modular reads 'a op b =' and needs {}, got {}",
             kModularBlockSize, block_size);
    WD_CHECK(
        r.modular.modulus >= 2 && r.modular.modulus <= kMaxModulus && is_prime(r.modular.modulus),
        "data.modulus: must be a prime in [2, {}], got {}", kMaxModulus, r.modular.modulus);
    WD_CHECK(r.modular.train_fraction > 0.0 && r.modular.train_fraction < 1.0,
             "data.train_fraction: must be in (0, 1), got {}", r.modular.train_fraction);
  }
  return r;
}

}  // namespace wdlab
