// The algorithmic task of the grokking papers (Power et al. 2022, "Grokking: Generalization Beyond
// Overfitting on Small Algorithmic Datasets", arXiv:2201.02177; Nanda et al. 2023, "Progress
// measures for grokking via mechanistic interpretability", arXiv:2301.05217): a binary operation
// modulo a prime p, every equation "a ∘ b = c" once, a seeded random share of them for training
// and the rest held out.
//
// Tokens: 0..p-1 are the numbers, p is the operation's symbol and p+1 is '='; vocabulary p+2.
// One example is the 5 tokens [a, ∘, b, =, c]; the model reads [a, ∘, b, =] (block_size 4) and
// only its prediction of c is graded: the other three targets are masked (kMaskedTarget).
//
//   ModularTask task{.modulus = 97, .operation = ModularOperation::add, .train_fraction = 0.5};
//   TokenDataset data = make_modular_dataset(task, /*split_seed=*/1);
#pragma once

#include <cstdint>
#include <string_view>

#include "data/dataset.h"

namespace wdlab {

enum class ModularOperation { add, sub, mul, div };

// "add" | "sub" | "mul" | "div"; anything else is an error naming data.operation and the choices.
ModularOperation parse_modular_operation(std::string_view name);
std::string_view to_string(ModularOperation op);

struct ModularTask {
  int modulus = 97;  // p, a prime (so that every b != 0 has an inverse)
  ModularOperation operation = ModularOperation::add;
  double train_fraction = 0.5;  // of all equations, in (0, 1)
};

// Tokens of one example and the graded position.
inline constexpr int kModularExampleLength = 5;   // a, op, b, =, c
inline constexpr int kModularBlockSize = 4;       // the model reads a, op, b, =
inline constexpr int kModularAnswerPosition = 3;  // the target at input position 3 is c

bool is_prime(int64_t n);

// The largest modulus accepted: p^2 equations of 5 tokens must stay a small dataset.
inline constexpr int kMaxModulus = 2003;

// a ∘ b mod p for a, b in [0, p); div is a · b^(p-2) mod p (b's inverse by Fermat), b != 0.
int modular_result(ModularOperation op, int a, int b, int p);

// Equations in the task: p^2, or p(p-1) for div (no b = 0).
int64_t modular_equation_count(const ModularTask& task);

// Every equation exactly once, shuffled by split_seed; the first round(train_fraction · count)
// train, the rest validation (each at least one, or an error). Checks the task: p prime and at
// most kMaxModulus, train_fraction in (0, 1); errors name the data.* key.
TokenDataset make_modular_dataset(const ModularTask& task, uint64_t split_seed);

}  // namespace wdlab
