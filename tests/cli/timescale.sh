#!/usr/bin/env bash
# The AdamW timescale reproduction in seconds: configs/sweeps/timescale.json with every run's
# steps divided by 32 (so the token budget stays the same for every batch size), 2 warmup steps,
# three λ per batch size (2, 8, 32) and two seeds, then its report. Checks the report's timescale section (verdict line, one λ_opt row per
# batch size), that `wdlab report` prints the verdict, and the two plots: loss against λ and τ_EMA
# (a series and a fitted parabola per batch size, where the optimum is interior) and λ_opt against
# B (rendered to PNG when rsvg-convert is installed).
# Usage: timescale.sh path/to/wdlab path/to/configs/sweeps/timescale.json
set -u
source "$(dirname "$0")/sweep_common.sh" "$1"
spec=$2
jq '.grid |= map(.["train.steps"] /= 32 | .["optim.warmup_steps"] = 2
                 | .["train.eval_every"] = .["train.steps"]
                 | .["optim.weight_decay"] = {"logspace": [2, 32, 3]})' "$spec" >short.json ||
  fail "cannot shorten $spec"
batch_sizes=$(jq '.grid | length' short.json)
lambdas=$((3 * batch_sizes))
"$wdlab" sweep short.json --out ts seeds=1,2 --jobs 2 >sweep.log 2>&1 ||
  { cat sweep.log; fail "the shortened sweep failed"; }
grep -q "$((2 * lambdas)) runs" sweep.log ||
  { cat sweep.log; fail "expected $((2 * lambdas)) runs ($lambdas configurations x 2 seeds)"; }
# The token budget is the same for every batch size: batch_size x steps.
[[ $(jq '[.grid[] | .["train.batch_size"] * .["train.steps"]] | unique | length' short.json) -eq 1 ]] ||
  fail "the shortened spec does not keep the token budget fixed"
"$wdlab" report ts >report.log 2>&1 || { cat report.log; fail "report failed"; }
md=ts/summary.md
grep -q '^## The AdamW timescale: λ_opt against batch size at a fixed token budget' "$md" ||
  fail "summary.md lacks the timescale section"
grep -Eq '^\*\*AdamW timescale: (reproduced|partly reproduced|not reproduced) at this scale\.\*\* λ_opt ∝ B\^s with s = ' \
  "$md" || { grep -n "timescale" "$md"; fail "summary.md has no verdict line"; }
grep -q 'AdamW timescale:' report.log || { cat report.log; fail "wdlab report did not print the verdict"; }
rows=$(grep -cE '^\| (4|8|16|32|64) \| [0-9]+ \| [0-9]+ \| ' "$md")
[[ $rows -eq $batch_sizes ]] || fail "expected $batch_sizes λ_opt rows, found $rows"
loss=ts/plots/timescale_val_vs_lambda.svg
opt=ts/plots/timescale_lambda_opt.svg
[[ -s $loss && -s $opt ]] || fail "timescale plots missing"
# Two panels (against λ, against τ_EMA), each a series per batch size plus a fitted parabola per
# interior optimum.
interior=$(grep -cE '^\| (4|8|16|32|64) \| .*\| [0-9.]+ \(×/÷' "$md")
series=$(grep -o 'class="series"' $loss | wc -l)
[[ $series -eq $((2 * (batch_sizes + interior))) ]] ||
  fail "$loss: expected $((2 * (batch_sizes + interior))) series, found $series"
grep -q 'data-log-x="1"' $loss || fail "$loss: λ axis not logarithmic"
grep -q 'data-log-x="1" data-log-y="1"' $opt || fail "$opt: not log-log"
if command -v rsvg-convert >/dev/null; then
  for svg in $loss $opt; do
    rsvg-convert "$svg" -o plot.png && [[ -s plot.png ]] || fail "rsvg-convert could not render $svg"
  done
fi
echo "timescale: ok ($((2 * lambdas)) short runs, $interior of $batch_sizes optima interior)"
