#!/usr/bin/env bash
# The AdamW-basin reproduction (configs/sweeps/basin.json) in seconds: the shipped spec with a
# 3 x 3 grid per decay mode (command-line axes replace the spec's), two seeds, a few steps on a
# small synthetic language; then its report, which must carry the basin section (verdict line,
# per-lr table, seed-spread lines) and its heatmap: two panels of 3 x 3 cells, each with its mean
# and standard error, a valley marker per learning rate, rendered to PNG when rsvg-convert is
# installed. The plain lr x λ heatmap gives way to it.
# Usage: basin.sh path/to/wdlab path/to/configs/sweeps/basin.json
set -u
source "$(dirname "$0")/sweep_common.sh" "$1"
spec=$2
"$wdlab" sweep "$spec" --out basin --jobs 2 optim.lr=0.004,0.008,0.016 \
  optim.weight_decay=0.001,0.01,0.1 seeds=1,2 train.steps=12 train.log_every=4 \
  train.eval_every=12 train.eval_batches=1 optim.warmup_steps=2 data.train_tokens=2048 \
  data.val_tokens=1024 data.synthetic.order=1 >sweep.log 2>&1 ||
  { cat sweep.log; fail "the shortened sweep failed"; }
grep -q "36 runs" sweep.log || { cat sweep.log; fail "expected 36 runs (2 modes x 3 x 3 x 2 seeds)"; }
"$wdlab" report basin >report.log 2>&1 || { cat report.log; fail "report failed"; }
md=basin/summary.md
grep -q "^## The AdamW basin: learning rate × λ" "$md" || fail "summary.md lacks the basin section"
grep -qE '^\*\*AdamW basin: (reproduced|partly reproduced|not reproduced) at this scale\.\*\* Coupled L2: valley slope' \
  "$md" || { grep -n "basin" "$md"; fail "summary.md has no verdict line"; }
grep -q "AdamW basin:" report.log || { cat report.log; fail "wdlab report did not print the verdict"; }
grep -q "^| lr | coupled best λ (grid) | coupled λ\* (fitted) |" "$md" || fail "no per-lr table"
[[ $(grep -c "seed spread: largest range among the cells that decide the valley" "$md") -eq 2 ]] || fail "no seed-spread line per mode"
svg=basin/plots/basin_llama.svg
[[ -s $svg ]] || fail "no $svg"
[[ ! -e basin/plots/lr_wd_llama.svg ]] || fail "the plain lr x λ heatmap was written as well"
grep -q "plots/basin_llama.svg" "$md" || fail "summary.md does not link the heatmap"
[[ $(grep -o 'class="heatmap"' $svg | wc -l) -eq 2 ]] || fail "$svg: expected 2 panels"
[[ $(grep -o 'class="cell"' $svg | wc -l) -eq 18 ]] || fail "$svg: expected 18 cells"
[[ $(grep -o 'data-se="' $svg | wc -l) -eq 18 ]] || fail "$svg: expected a standard error per cell"
[[ $(grep -c '>± ' $svg) -eq 18 ]] || fail "$svg: expected ± under every value"
[[ $(grep -o 'class="valley"' $svg | wc -l) -eq 2 ]] || fail "$svg: expected a valley per panel"
if command -v rsvg-convert >/dev/null; then
  rsvg-convert "$svg" -o basin.png
  [[ -s basin.png ]] || fail "rsvg-convert produced nothing"
fi
echo "basin sweep (36 short runs) and report: ok"
