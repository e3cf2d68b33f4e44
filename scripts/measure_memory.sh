#!/usr/bin/env bash
# Compares `wdlab run`'s memory estimate (what `wdlab config` prints) with the peak RSS of a short
# run of the same config (GNU time's "Maximum resident set size"), per family and scale, and
# prints a markdown table. The estimate should stay within 20 % of the measurement.
# Usage: scripts/measure_memory.sh [path/to/wdlab] [threads]
#   FAMILIES="gpt2 llama mixtral" SCALES="tiny small base" override the defaults.
# Runs nice'd, one at a time, into a temporary directory; a few steps each (base: ~10-30 s).
set -euo pipefail
wdlab=${1:-build/wdlab}
threads=${2:-1}
families=${FAMILIES:-gpt2 llama mixtral}
scales=${SCALES:-tiny small base}
[[ -x $wdlab ]] || { echo "measure_memory: no executable $wdlab (build with scripts/setup.sh)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "measure_memory: needs GNU time (/usr/bin/time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Three steps, all measured (the step that logs keeps a copy of the weights), one evaluation, and
# a step checkpoint after step 2 (built in memory, then written atomically).
overrides=(train.steps=3 train.log_every=1 train.eval_every=3 train.eval_batches=1
  train.checkpoint_every=2)

# "412.3 MB" -> bytes
to_bytes() {
  awk -v n="$1" -v u="$2" 'BEGIN { m = (u == "GB") ? 1e9 : (u == "MB") ? 1e6 : 1e3; printf "%.0f", n * m }'
}

echo "| family | scale | parameters | estimate MB | peak RSS MB | RSS / estimate |"
echo "|---|---|---|---|---|---|"
for family in $families; do
  for scale in $scales; do
    line=$("$wdlab" config --preset "$family" --scale "$scale" --threads "$threads" \
      "${overrides[@]}" 2>&1 >/dev/null | grep '^memory estimate: ')
    read -r number unit params _ <<<"${line#memory estimate: }"
    estimate=$(to_bytes "$number" "$unit")
    nice -n 19 /usr/bin/time -v "$wdlab" run -q --preset "$family" --scale "$scale" \
      --threads "$threads" --out "$tmp/$family-$scale" "${overrides[@]}" 2>"$tmp/time.txt" ||
      { cat "$tmp/time.txt" >&2; exit 1; }
    rss_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/time.txt")
    awk -v f="$family" -v s="$scale" -v p="${params#(}" -v e="$estimate" -v r="$rss_kb" 'BEGIN {
      printf "| %s | %s | %s | %.1f | %.1f | %.2f |\n", f, s, p, e / 1e6, r * 1024 / 1e6, r * 1024 / e }'
  done
done
