#include "sweep/shard.h"

#include <charconv>
#include <optional>

#include "core/error.h"

namespace wdlab {
namespace {

std::optional<int> to_int(std::string_view s) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// An environment variable that must be a non-negative integer when set.
std::optional<int> env_int(const EnvLookup& env, const char* name) {
  const char* v = env(name);
  if (!v) return std::nullopt;
  const std::optional<int> n = to_int(v);
  WD_CHECK(n && *n >= 0, "--shard auto: {}='{}' is not a non-negative integer", name, v);
  return n;
}

SweepShard checked(int index, int count, const std::string& what) {
  WD_CHECK(count >= 1, "--shard {}: the shard count must be at least 1, got {}", what, count);
  WD_CHECK(index >= 0 && index < count,
           "--shard {}: shard index {} is outside 0..{} (shards are numbered from 0)", what, index,
           count - 1);
  return {index, count};
}

SweepShard from_environment(std::optional<int> given_count, const std::string& arg,
                            const EnvLookup& env) {
  if (const std::optional<int> id = env_int(env, "SLURM_ARRAY_TASK_ID")) {
    const std::optional<int> min = env_int(env, "SLURM_ARRAY_TASK_MIN");
    const std::optional<int> max = env_int(env, "SLURM_ARRAY_TASK_MAX");
    // With N given, the array is 0..N-1 whatever subset of it was submitted (--array=3).
    if (given_count) return checked(*id, *given_count, arg);
    std::optional<int> count = env_int(env, "SLURM_ARRAY_TASK_COUNT");
    if (!count && max) count = *max - min.value_or(0) + 1;
    WD_CHECK(count,
             "--shard auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT "
             "nor SLURM_ARRAY_TASK_MAX is; give the count: --shard auto/N");
    return checked(*id - min.value_or(0), *count, arg + " (from SLURM_ARRAY_TASK_*)");
  }
  if (const std::optional<int> index = env_int(env, "JOB_COMPLETION_INDEX")) {
    WD_CHECK(given_count,
             "--shard auto: JOB_COMPLETION_INDEX={} is set (a Kubernetes Indexed Job) but the "
             "shard count is not; give it as --shard auto/N (N = the Job's completions)",
             *index);
    return checked(*index, *given_count, arg);
  }
  fail(
      "--shard {}: no shard index in the environment: neither SLURM_ARRAY_TASK_ID (a Slurm job "
      "array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; use --shard i/N",
      arg);
}

}  // namespace

SweepShard parse_shard(const std::string& arg, const EnvLookup& env) {
  const size_t slash = arg.find('/');
  const std::string head = arg.substr(0, slash);
  std::optional<int> count;
  if (slash != std::string::npos) {
    count = to_int(std::string_view(arg).substr(slash + 1));
    WD_CHECK(count, "--shard {}: expected i/N, auto or auto/N with integers i and N", arg);
  }
  if (head == "auto") return from_environment(count, arg, env);
  const std::optional<int> index = to_int(head);
  WD_CHECK(index && count, "--shard {}: expected i/N, auto or auto/N with integers i and N", arg);
  return checked(*index, *count, arg);
}

}  // namespace wdlab
