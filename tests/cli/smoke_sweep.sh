#!/usr/bin/env bash
# The CI smoke sweep: every preset x {coupled, decoupled} x {selective, uniform} at tiny, then
# its report. Prints the wall time (the budget is 60 s on 2 cores).
# Usage: smoke_sweep.sh path/to/wdlab path/to/configs/sweeps/smoke.json
set -eu
wdlab=$1
spec=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s%N)
"$wdlab" sweep "$spec" --out "$tmp/smoke" >"$tmp/sweep.log" 2>&1 || { cat "$tmp/sweep.log"; exit 1; }
"$wdlab" report "$tmp/smoke" >"$tmp/report.log" 2>&1 || { cat "$tmp/report.log"; exit 1; }
end=$(date +%s%N)
tail -1 "$tmp/sweep.log"
for p in $("$wdlab" presets | grep -v " task preset: " | cut -d" " -f1); do
  grep -q "^### $p\$" "$tmp/smoke/summary.md" || { echo "summary.md lacks preset $p"; exit 1; }
done
[[ -s $tmp/smoke/plots/loss_curves.svg ]]
ms=$(((end - start) / 1000000))
printf 'smoke sweep + report: %d.%01d s wall\n' $((ms / 1000)) $((ms % 1000 / 100))
