#!/usr/bin/env bash
# Adding data sources and the loss mask must not change the existing runs: a gpt2 tiny run of 20
# steps has the config id and the losses, gradient norms and weight norms that wdlab wrote before
# them (tests/fixtures/unchanged/, from commit 617cd79). The id must match exactly; the numbers to
# 1e-6 relative, as the fp32 kernels may round differently on another CPU (on the machine that
# wrote the fixture they were the same bits).
# Usage: metrics_unchanged.sh path/to/wdlab path/to/fixture.txt
set -eu
wdlab=$1
fixture=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$wdlab" -q run --preset gpt2 --out "$tmp/run" train.steps=20 train.eval_every=10 train.log_every=5 \
  data.train_tokens=8192 data.val_tokens=2048
id=$(grep -o '"config_id": "[0-9a-f]*"' "$tmp/run/summary.json" | grep -o '[0-9a-f]\{16\}')
[[ "config_id $id" == "$(grep '^config_id' "$fixture")" ]] ||
  { echo "config id $id, the fixture has $(grep '^config_id' "$fixture")"; exit 1; }
# One "step key value" line per number, as in the fixture.
sed 's/[{}"]//g' "$tmp/run/metrics.jsonl" | awk -F, '{
  step = ""; for (i = 1; i <= NF; i++) { split($i, kv, ":"); v[kv[1]] = kv[2] }
  for (k in v) if (k == "step") step = v[k]
  n = split("train_loss val_loss grad_norm norm_decay", keys, " ")
  for (j = 1; j <= n; j++) if (keys[j] in v) print step, keys[j], v[keys[j]]
  delete v }' >"$tmp/now.txt"
grep -v '^#' "$fixture" | grep -v '^config_id' >"$tmp/expected.txt"
[[ $(wc -l <"$tmp/now.txt") -eq $(wc -l <"$tmp/expected.txt") ]] ||
  { echo "$(wc -l <"$tmp/now.txt") numbers, the fixture has $(wc -l <"$tmp/expected.txt")"; exit 1; }
paste -d' ' "$tmp/expected.txt" "$tmp/now.txt" | awk '{
  if ($1 != $4 || $2 != $5) { print "row mismatch: " $0; bad = 1; next }
  d = $3 - $6; if (d < 0) d = -d; m = $3 < 0 ? -$3 : $3
  if (d > 1e-6 * m) { print "step " $1 " " $2 ": " $6 ", before " $3; bad = 1 } }
  END { exit bad }'
echo "gpt2 tiny: config id and $(wc -l <"$tmp/now.txt") numbers as before"
