#!/usr/bin/env bash
# Speed work must not change a single bit of any run: this runs every preset at tiny (and Mixtral
# and Grok-1 at small for a few steps, the modular task at the grokking shape, dropout on, an
# uneven batch split) with 1 and 2 threads through a reference binary and a candidate binary, and
# compares metrics.jsonl, tensor_norms.jsonl and summary.json (without the keys that measure time:
# tokens_per_s, time_s, wall_seconds) and the final weights (model.safetensors) byte for byte.
# Machine-specific by nature (the reference's bits come from this CPU's BLAS kernels), so it is a
# developer script, not a ctest.
#
# Usage: scripts/check_bit_identical.sh REFERENCE_WDLAB CANDIDATE_WDLAB [CACHE_DIR]
#   CACHE_DIR keeps the reference's run directories between calls (the reference does not change);
#   default: ${TMPDIR:-/tmp}/wdlab-bitcheck-<hash of the reference binary>.
# Exit 0 when every case is identical; 1 otherwise, naming the cases and files that differ.
set -euo pipefail
ref=$(realpath "$1")
cand=$(realpath "$2")
cache=${3:-${TMPDIR:-/tmp}/wdlab-bitcheck-$(sha256sum "$ref" | cut -c1-12)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"

# name|preset|scale|overrides (space separated); each case runs with --threads 1 and 2.
short='train.steps=40 train.eval_every=20 train.log_every=10'
cases=()
for p in gpt2 gpt3 grok1 llama mistral mixtral palm; do cases+=("$p-tiny|$p|tiny|$short"); done
cases+=("gpt2-tiny-dropout|gpt2|tiny|$short model.dropout=0.1")
cases+=("llama-tiny-batch5|llama|tiny|$short train.batch_size=5")
cases+=("mixtral-small|mixtral|small|train.steps=3 train.eval_every=3 train.log_every=1 train.eval_batches=2")
cases+=("grok1-small|grok1|small|train.steps=3 train.eval_every=3 train.log_every=1 train.eval_batches=2")
cases+=("modular-grokking|modular|grokking|train.steps=60 train.eval_every=20 train.log_every=10")
cases+=("modular-batch100|modular|grokking|train.steps=30 train.eval_every=10 train.log_every=5 train.batch_size=100")

run() {  # binary out preset scale threads overrides...
  local bin=$1 out=$2 preset=$3 scale=$4 threads=$5
  shift 5
  "$bin" -q run --preset "$preset" --scale "$scale" --threads "$threads" --out "$out" --save \
    --force "$@" >"$out.log" 2>&1 || { echo "FAILED: $bin run $preset $scale $*"; cat "$out.log"; return 1; }
}

without_timings() {
  sed -E -e 's/"(tokens_per_s|time_s|wall_seconds)": ?[^,}]*,? ?//g' "$1"
}

bad=0
for c in "${cases[@]}"; do
  IFS='|' read -r name preset scale overrides <<<"$c"
  for threads in 1 2; do
    id="$name-t$threads"
    # shellcheck disable=SC2086  # overrides are space-separated words on purpose
    [[ -f "$cache/$id/summary.json" ]] || run "$ref" "$cache/$id" "$preset" "$scale" "$threads" $overrides
    # shellcheck disable=SC2086
    run "$cand" "$work/$id" "$preset" "$scale" "$threads" $overrides
    diffs=()
    for f in metrics.jsonl tensor_norms.jsonl summary.json; do
      cmp -s <(without_timings "$cache/$id/$f") <(without_timings "$work/$id/$f") || diffs+=("$f")
    done
    cmp -s "$cache/$id/model.safetensors" "$work/$id/model.safetensors" || diffs+=(model.safetensors)
    if ((${#diffs[@]})); then
      echo "DIFFERENT $id: ${diffs[*]}"
      bad=1
    else
      echo "identical $id"
    fi
  done
done
exit $bad
