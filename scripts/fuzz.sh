#!/usr/bin/env bash
# Runs every libFuzzer target built by `scripts/setup.sh --fuzz` for a bounded time each, from its
# committed seed corpus (fuzz/corpus/NAME) and past findings (fuzz/regressions/NAME). New inputs
# go to build-fuzz/corpus/NAME, never into the repository. Fails on any crash, sanitizer report,
# leak, timeout (one input over 10 s) or out-of-memory (2 GB); the input that caused it is kept
# as build-fuzz/findings/NAME/crash-... (or leak-, timeout-, oom-), to replay with
# `build-fuzz/fuzz/fuzz_NAME FILE`.
# Usage: scripts/fuzz.sh [SECONDS per target, default 60] [NAME...]
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
targets=("$@")
((${#targets[@]})) || targets=(overrides config sweep_spec safetensors run_results)

status=0
for name in "${targets[@]}"; do
  bin=build-fuzz/fuzz/fuzz_$name
  [[ -x $bin ]] || { echo "fuzz: $bin is missing; run scripts/setup.sh --fuzz" >&2; exit 2; }
  work=build-fuzz/corpus/$name findings=build-fuzz/findings/$name
  mkdir -p "$work" "$findings"
  inputs=("$work" "fuzz/corpus/$name")
  [[ -d fuzz/regressions/$name ]] && inputs+=("fuzz/regressions/$name")
  dict=()
  [[ $name != safetensors ]] && dict=(-dict=fuzz/wdlab.dict)
  log=build-fuzz/fuzz-$name.log
  ASAN_OPTIONS=detect_leaks=1 "$bin" "${inputs[@]}" "${dict[@]}" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  if [[ $rc -eq 0 ]]; then
    echo "fuzz $name: ok, ${runs:-?} inputs in ${seconds}s (${speed:-?}/s)"
  else
    status=1
    echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} inputs; log $log, input in $findings/"
    grep -E -m 20 'ERROR|SUMMARY|runtime error|terminate|what\(\)|Test unit written' "$log"
  fi
done
exit $status
