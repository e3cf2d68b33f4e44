#!/usr/bin/env bash
# The AdamC reproduction (configs/sweeps/adamc.json) in seconds: the shipped spec with few steps
# via command-line overrides, one preset, two seeds; then its report, which must carry the
# AdamW-against-AdamC section (verdict, rise table) and its two plots.
# Usage: sweep_adamc.sh path/to/wdlab path/to/configs/sweeps/adamc.json
set -u
source "$(dirname "$0")/sweep_common.sh" "$1"
spec=$2
"$wdlab" sweep "$spec" --out adamc preset=llama train.steps=60 train.log_every=5 \
  train.eval_every=30 train.eval_batches=2 seeds=1,2 >sweep.log 2>&1 ||
  { cat sweep.log; fail "the shortened sweep failed"; }
grep -q "4 runs" sweep.log || { cat sweep.log; fail "expected 4 runs (2 arms x 2 seeds)"; }
"$wdlab" report adamc >report.log 2>&1 || { cat report.log; fail "report failed"; }
md=adamc/summary.md
grep -q "^## Gradient norm at the end of training: AdamW against AdamC" "$md" ||
  fail "summary.md lacks the AdamC section"
grep -qE "^- llama, .*\*\*(reproduced|partly|not reproduced)\*\*" "$md" ||
  { grep -n "AdamC" "$md"; fail "summary.md has no verdict line"; }
grep -qE "(reproduced|partly|not reproduced)" report.log || { cat report.log; fail "no verdict printed"; }
for plot in adamc_grad_norm_llama.svg adamc_norm_llama.svg; do
  [[ -s adamc/plots/$plot ]] || fail "plots/$plot missing"
done
# Each run records which decayed tensors AdamC corrects and which keep lr_t (the head, wte).
groups=$(ls -d adamc/*decay_scaling=adamc*/ | head -1)param_groups.json
grep -q '"decay_scaling": "lr"' "$groups" || fail "$groups: no lr-scaled tensor recorded"
grep -q '"decay_scaling": "adamc"' "$groups" || fail "$groups: no AdamC tensor recorded"
echo "sweep_adamc: ok"
