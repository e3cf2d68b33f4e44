// WD_MULTIVERSION compiles a function for AVX-512, AVX2 and baseline x86-64 and lets the loader
// pick the best one the CPU supports (GCC target_clones), so the element-wise loops use wide
// vectors without making the binary require them. The clones compute the same bits: every lane
// does the same operations, reductions stay in order, and ISO C++ mode keeps FMA contraction off.
#pragma once

// Sanitizer builds get the baseline only: the clones' ifunc resolvers run before the sanitizer
// runtime is initialised (under TSan they crash at load time).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define WD_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WD_MULTIVERSION
#endif
