#include "data/modular_arithmetic.h"

#include <fmt/format.h>

#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"

namespace wdlab {
namespace {

int64_t power_mod(int64_t base, int64_t exponent, int64_t p) {
  int64_t result = 1;
  base %= p;
  for (; exponent > 0; exponent >>= 1) {
    if (exponent & 1) result = result * base % p;
    base = base * base % p;
  }
  return result;
}

const char* symbol(ModularOperation op) {
  switch (op) {
    case ModularOperation::add:
      return "+";
    case ModularOperation::sub:
      return "-";
    case ModularOperation::mul:
      return "*";
    case ModularOperation::div:
      return "/";
  }
  return "?";
}

}  // namespace

ModularOperation parse_modular_operation(std::string_view name) {
  if (name == "add") return ModularOperation::add;
  if (name == "sub") return ModularOperation::sub;
  if (name == "mul") return ModularOperation::mul;
  if (name == "div") return ModularOperation::div;
  fail("data.operation: '{}' is not one of add, sub, mul, div", name);
}

std::string_view to_string(ModularOperation op) {
  switch (op) {
    case ModularOperation::add:
      return "add";
    case ModularOperation::sub:
      return "sub";
    case ModularOperation::mul:
      return "mul";
    case ModularOperation::div:
      return "div";
  }
  return "?";
}

bool is_prime(int64_t n) {
  if (n < 2) return false;
  for (int64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

int modular_result(ModularOperation op, int a, int b, int p) {
  WD_CHECK(a >= 0 && a < p && b >= 0 && b < p, "modular_result: operands {}, {} outside [0, {})", a,
           b, p);
  const int64_t A = a, B = b, P = p;
  switch (op) {
    case ModularOperation::add:
      return static_cast<int>((A + B) % P);
    case ModularOperation::sub:
      return static_cast<int>((A - B + P) % P);
    case ModularOperation::mul:
      return static_cast<int>(A * B % P);
    case ModularOperation::div:
      WD_CHECK(b != 0, "modular_result: division by 0 (mod {})", p);
      return static_cast<int>(A * power_mod(B, P - 2, P) % P);
  }
  fail("modular_result: unknown operation");
}

int64_t modular_equation_count(const ModularTask& task) {
  const int64_t p = task.modulus;
  return task.operation == ModularOperation::div ? p * (p - 1) : p * p;
}

TokenDataset make_modular_dataset(const ModularTask& task, uint64_t split_seed) {
  const int p = task.modulus;
  WD_CHECK(p >= 2 && p <= kMaxModulus, "data.modulus: must be a prime in [2, {}], got {}",
           kMaxModulus, p);
  WD_CHECK(is_prime(p),
           "data.modulus: {} is not a prime (division needs every b != 0 to have an inverse mod "
           "p); e.g. 53, 59, 97, 113",
           p);
  WD_CHECK(task.train_fraction > 0.0 && task.train_fraction < 1.0,
           "data.train_fraction: must be in (0, 1), got {}", task.train_fraction);
  const int64_t count = modular_equation_count(task);
  const int64_t n_train = std::llround(static_cast<double>(count) * task.train_fraction);
  WD_CHECK(n_train >= 1 && n_train < count,
           "data.train_fraction: {} of the {} equations mod {} leaves {} for training and {} for "
           "validation; each needs at least one",
           task.train_fraction, count, p, n_train, count - n_train);

  // Every equation once, in (a, b) order, then a Fisher-Yates shuffle from the split seed.
  std::vector<int> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(split_seed, RngStream::data_split);
  for (size_t i = order.size() - 1; i > 0; --i) {
    std::swap(order[i], order[static_cast<size_t>(rng.below(i + 1))]);
  }
  const int first_b = task.operation == ModularOperation::div ? 1 : 0;
  const int n_b = p - first_b;
  const int op_token = p, equals_token = p + 1;

  ExampleSet examples;
  examples.length = kModularExampleLength;
  examples.graded_from = kModularAnswerPosition;
  for (int64_t k = 0; k < count; ++k) {
    const int index = order[static_cast<size_t>(k)];
    const int a = index / n_b, b = first_b + index % n_b;
    std::vector<int>& set = k < n_train ? examples.train : examples.val;
    set.insert(set.end(), {a, op_token, b, equals_token, modular_result(task.operation, a, b, p)});
  }

  TokenDataset data;
  data.vocab_size = p + 2;
  data.examples = std::move(examples);
  data.description = fmt::format(
      "modular arithmetic a {} b mod {} ({}): {} train / {} validation equations "
      "(train_fraction {}, split seed {}), vocab {}; loss on the answer only",
      symbol(task.operation), p, to_string(task.operation), n_train, count - n_train,
      task.train_fraction, split_seed, data.vocab_size);
  return data;
}

}  // namespace wdlab
