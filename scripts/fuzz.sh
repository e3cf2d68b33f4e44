#!/usr/bin/env bash
# Runs every libFuzzer target built by `scripts/setup.sh --fuzz` for a bounded time each, from its
# committed seed corpus (fuzz/corpus/NAME) and past findings (fuzz/regressions/NAME). New inputs
# go to build-fuzz/corpus/NAME, never into the repository. Fails on any crash, sanitizer report,
# leak, timeout (one input over 10 s) or out-of-memory (2 GB); the input that caused it is kept
# as build-fuzz/findings/NAME/crash-... (or leak-, timeout-, oom-), to replay with
# `build-fuzz/fuzz/fuzz_NAME FILE`.
# With -j JOBS, JOBS targets run at a time, each on its own core for its full SECONDS (.ci/run
# uses one per core); the default is one at a time.
# Usage: scripts/fuzz.sh [-j JOBS] [SECONDS per target, default 60] [NAME...]
set -uo pipefail
cd "$(dirname "$0")/.."

jobs=1
if [[ ${1:-} == -j ]]; then
  [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: -j needs a positive number of jobs" >&2; exit 2; }
  jobs=$2
  shift 2
fi
seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
targets=("$@")
((${#targets[@]})) || targets=(overrides config sweep_spec safetensors run_results)
for name in "${targets[@]}"; do
  bin=build-fuzz/fuzz/fuzz_$name
  [[ -x $bin ]] || { echo "fuzz: $bin is missing; run scripts/setup.sh --fuzz" >&2; exit 2; }
done

# Fuzzes one target; prints one line (and the report's key lines on failure); fails on a finding.
fuzz_one() {
  local name=$1 bin=build-fuzz/fuzz/fuzz_$1
  local work=build-fuzz/corpus/$name findings=build-fuzz/findings/$name
  mkdir -p "$work" "$findings"
  local inputs=("$work" "fuzz/corpus/$name")
  [[ -d fuzz/regressions/$name ]] && inputs+=("fuzz/regressions/$name")
  local dict=()
  [[ $name != safetensors ]] && dict=(-dict=fuzz/wdlab.dict)
  local log=build-fuzz/fuzz-$name.log
  ASAN_OPTIONS=detect_leaks=1 "$bin" "${inputs[@]}" "${dict[@]}" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1
  local rc=$?
  local runs speed
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  if [[ $rc -eq 0 ]]; then
    echo "fuzz $name: ok, ${runs:-?} inputs in ${seconds}s (${speed:-?}/s)"
  else
    echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} inputs; log $log, input in $findings/"
    grep -E -m 20 'ERROR|SUMMARY|runtime error|terminate|what\(\)|Test unit written' "$log"
  fi
  return $rc
}

# Each target's lines are printed whole when it ends (build-fuzz/fuzz-NAME.out), never interleaved.
status=0
running=0
for name in "${targets[@]}"; do
  if ((running == jobs)); then
    wait -n || status=1
    running=$((running - 1))
  fi
  (
    fuzz_one "$name" >"build-fuzz/fuzz-$name.out" 2>&1
    rc=$?
    cat "build-fuzz/fuzz-$name.out"
    exit $rc
  ) &
  running=$((running + 1))
done
while ((running > 0)); do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
