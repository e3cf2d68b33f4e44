// Tests of the modular-arithmetic task (data.source=modular): every equation exactly once across
// the splits, the answers, the seeded split, the loss mask of its examples, its batches and its
// config checks.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "data/dataset.h"
#include "data/modular_arithmetic.h"
#include "layers/cross_entropy.h"
#include "run/config.h"
#include "test_util.h"

namespace wdlab {
namespace {

using test::error_of;

struct Equation {
  int a, op, b, eq, c;
};

std::vector<Equation> equations(const ExampleSet& e, const std::vector<int>& set) {
  std::vector<Equation> out;
  for (int i = 0; i < e.count(set); ++i) {
    const int* x = set.data() + static_cast<size_t>(i) * e.length;
    out.push_back({x[0], x[1], x[2], x[3], x[4]});
  }
  return out;
}

TEST(Modular, PrimesAndResults) {
  EXPECT_FALSE(is_prime(0));
  EXPECT_FALSE(is_prime(1));
  EXPECT_TRUE(is_prime(2));
  EXPECT_TRUE(is_prime(97));
  EXPECT_FALSE(is_prime(91));  // 7 * 13
  EXPECT_TRUE(is_prime(113));
  EXPECT_EQ(modular_result(ModularOperation::add, 5, 4, 7), 2);
  EXPECT_EQ(modular_result(ModularOperation::sub, 2, 5, 7), 4);
  EXPECT_EQ(modular_result(ModularOperation::mul, 3, 5, 7), 1);
  EXPECT_EQ(modular_result(ModularOperation::div, 1, 3, 7), 5);  // 3 * 5 = 15 = 1 mod 7
  EXPECT_THROW(modular_result(ModularOperation::div, 1, 0, 7), Error);
}

// Every equation (a, b) of the task appears exactly once over train and validation, with the
// right answer, the operation and '=' tokens, and the split sizes follow train_fraction.
TEST(Modular, EveryEquationExactlyOnceWithItsAnswer) {
  for (const ModularOperation op : {ModularOperation::add, ModularOperation::sub,
                                    ModularOperation::mul, ModularOperation::div}) {
    for (const int p : {2, 7, 13}) {
      const ModularTask task{p, op, 0.3};
      if (op == ModularOperation::div && p == 2) continue;  // 2 equations: 0/1, 1/1
      const TokenDataset data = make_modular_dataset(task, 5);
      ASSERT_TRUE(data.examples);
      EXPECT_TRUE(data.train.empty() && data.val.empty());
      EXPECT_EQ(data.vocab_size, p + 2);
      const ExampleSet& e = *data.examples;
      const int64_t count = modular_equation_count(task);
      EXPECT_EQ(count, op == ModularOperation::div ? p * (p - 1) : p * p);
      EXPECT_EQ(e.train_count(), std::llround(0.3 * static_cast<double>(count)));
      EXPECT_EQ(e.train_count() + e.val_count(), count);
      std::set<std::pair<int, int>> seen;
      for (const auto* set : {&e.train, &e.val}) {
        for (const Equation& q : equations(e, *set)) {
          EXPECT_TRUE(seen.insert({q.a, q.b}).second) << q.a << " ∘ " << q.b << " twice";
          EXPECT_EQ(q.op, p);
          EXPECT_EQ(q.eq, p + 1);
          ASSERT_TRUE(q.a >= 0 && q.a < p && q.b >= 0 && q.b < p && q.c >= 0 && q.c < p);
          // Checked against the definition, not against modular_result.
          switch (op) {
            case ModularOperation::add:
              EXPECT_EQ((q.a + q.b) % p, q.c);
              break;
            case ModularOperation::sub:
              EXPECT_EQ((q.c + q.b) % p, q.a);
              break;
            case ModularOperation::mul:
              EXPECT_EQ((q.a * q.b) % p, q.c);
              break;
            case ModularOperation::div:
              EXPECT_NE(q.b, 0);
              EXPECT_EQ((q.c * q.b) % p, q.a) << q.a << " / " << q.b << " = " << q.c;
              break;
          }
        }
      }
      EXPECT_EQ(static_cast<int64_t>(seen.size()), count);
    }
  }
}

// The split depends only on the seed: the same seed, the same split; another seed, another.
TEST(Modular, SplitIsSeeded) {
  const ModularTask task{11, ModularOperation::add, 0.5};
  const TokenDataset a = make_modular_dataset(task, 1), b = make_modular_dataset(task, 1),
                     c = make_modular_dataset(task, 2);
  EXPECT_EQ(a.examples->train, b.examples->train);
  EXPECT_EQ(a.examples->val, b.examples->val);
  EXPECT_NE(a.examples->train, c.examples->train);
}

// Inputs [a, op, b, =], targets [masked, masked, masked, c]: only the answer is graded.
TEST(Modular, ExamplesMaskEverythingButTheAnswer) {
  const TokenDataset data = make_modular_dataset({7, ModularOperation::mul, 0.5}, 3);
  const ExampleSet& e = *data.examples;
  EXPECT_EQ(e.length, kModularExampleLength);
  const int n = 3, T = kModularBlockSize;
  std::vector<int> tokens(n * T), targets(n * T);
  e.batch(e.val, 1, n, tokens.data(), targets.data());
  const std::vector<Equation> val = equations(e, e.val);
  for (int i = 0; i < n; ++i) {
    const Equation& q = val[1 + i];
    EXPECT_EQ(std::vector<int>(tokens.begin() + i * T, tokens.begin() + (i + 1) * T),
              (std::vector<int>{q.a, 7, q.b, 8}));
    EXPECT_EQ(std::vector<int>(targets.begin() + i * T, targets.begin() + (i + 1) * T),
              (std::vector<int>{kMaskedTarget, kMaskedTarget, kMaskedTarget, q.c}));
  }
  EXPECT_THROW(e.batch(e.val, e.val_count() - 1, 2, tokens.data(), targets.data()), Error);
}

// A batch at least the training set is the training set, in order, every step (full batch);
// a smaller one draws training examples from the seed.
TEST(Modular, FullBatchOrSeededDraws) {
  const TokenDataset data = make_modular_dataset({5, ModularOperation::add, 0.4}, 9);
  const ExampleSet& e = *data.examples;
  const int n = e.train_count(), T = kModularBlockSize;
  EXPECT_EQ(data.batch_size(1000), n);
  EXPECT_EQ(data.batch_size(3), 3);
  std::vector<int> expected_tokens(n * T), expected_targets(n * T);
  e.batch(e.train, 0, n, expected_tokens.data(), expected_targets.data());
  BatchSampler full(data, n, T, 1);
  for (int step = 0; step < 3; ++step) {
    std::vector<int> tokens(n * T), targets(n * T);
    full.next(tokens.data(), targets.data());
    EXPECT_EQ(tokens, expected_tokens);
    EXPECT_EQ(targets, expected_targets);
  }
  // Drawn: every row is one of the training examples; the same seed gives the same rows.
  std::set<std::vector<int>> train_rows;
  for (int i = 0; i < n; ++i)
    train_rows.insert(
        std::vector<int>(expected_tokens.begin() + i * T, expected_tokens.begin() + (i + 1) * T));
  BatchSampler s1(data, 3, T, 4), s2(data, 3, T, 4);
  std::vector<int> t1(3 * T), y1(3 * T), t2(3 * T), y2(3 * T);
  for (int step = 0; step < 5; ++step) {
    s1.next(t1.data(), y1.data());
    s2.next(t2.data(), y2.data());
    EXPECT_EQ(t1, t2);
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(
          train_rows.contains(std::vector<int>(t1.begin() + i * T, t1.begin() + (i + 1) * T)));
      EXPECT_EQ(y1[i * T], kMaskedTarget);
    }
  }
  EXPECT_THROW(BatchSampler(data, n + 1, T, 1), Error);  // batch_size() caps it
  EXPECT_THROW(BatchSampler(data, n, T + 1, 1), Error);
}

TEST(Modular, BadTasksNameTheKey) {
  EXPECT_NE(error_of([] {
              make_modular_dataset({9, ModularOperation::add, 0.5}, 1);
            }).find("data.modulus: 9 is not a prime"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_modular_dataset({1, ModularOperation::add, 0.5}, 1);
            }).find("data.modulus: must be a prime in [2, "),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_modular_dataset({kMaxModulus + 2, ModularOperation::add, 0.5}, 1);
            }).find("data.modulus"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_modular_dataset({7, ModularOperation::add, 1.0}, 1);
            }).find("data.train_fraction: must be in (0, 1)"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              make_modular_dataset({2, ModularOperation::add, 0.1}, 1);
            }).find("leaves 0 for training"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_modular_operation("pow");
            }).find("data.operation: 'pow' is not one of add, sub, mul, div"),
            std::string::npos);
}

// Through the config: the keys, the block size the task needs, and the ids of other sources'
// runs, which the task's keys must not change.
TEST(Modular, ConfigKeysAndChecks) {
  using nlohmann::json;
  const json preset = load_preset("modular");
  const RunConfig r = parse_run_config(resolve_config(preset, "test", {}));
  EXPECT_EQ(r.data.source, "modular");
  EXPECT_EQ(r.data.modular.modulus, 7);
  EXPECT_EQ(r.model.block_size, kModularBlockSize);
  EXPECT_NE(error_of([&] {
              parse_run_config(resolve_config(preset, "test", {"model.block_size=5"}));
            }).find("model.block_size: data.source=modular reads 'a op b =' and needs 4, got 5"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              parse_run_config(resolve_config(preset, "test", {"data.modulus=15"}));
            }).find("data.modulus: must be a prime"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              parse_run_config(resolve_config(preset, "test", {"data.operation=pow"}));
            }).find("data.operation: 'pow'"),
            std::string::npos);

  // The modular keys change the id of a modular run, and leave every other run's id alone.
  const json gpt2 = resolve_config(load_preset("gpt2"), "tiny", {});
  const json gpt2_other = resolve_config(load_preset("gpt2"), "tiny", {"data.modulus=13"});
  EXPECT_EQ(config_id(gpt2), config_id(gpt2_other));
  json old_form = gpt2;  // as configs were resolved before the task existed
  for (const char* key : {"modulus", "operation", "train_fraction"}) old_form["data"].erase(key);
  EXPECT_EQ(config_id(gpt2), config_id(old_form));
  const json mod = resolve_config(preset, "test", {});
  EXPECT_NE(config_id(mod), config_id(resolve_config(preset, "test", {"data.modulus=11"})));
}

}  // namespace
}  // namespace wdlab
