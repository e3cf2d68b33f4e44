#!/usr/bin/env bash
# The grokking reproduction in seconds: configs/sweeps/grokking.json at the modular preset's test
# scale (p = 7, a few steps), then its report. Checks that every run logs train_acc and val_acc,
# that summaries carry the final accuracies, and that the report has the accuracy section, the
# verdict line and an accuracy plot (rendered to PNG when rsvg-convert is installed); then that
# bad task settings fail with one clear line and leave no run directory.
# Usage: grokking.sh path/to/wdlab path/to/configs/sweeps/grokking.json
set -eu
source "$(dirname "${BASH_SOURCE[0]}")/timings.sh"
wdlab=$1
spec=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

"$wdlab" sweep "$spec" scale=test train.steps=30 train.eval_every=10 --jobs 2 --out g \
  >sweep.log 2>&1 || { cat sweep.log; exit 1; }
"$wdlab" report g >report.log 2>&1 || { cat report.log; exit 1; }
runs=$(find g -name summary.json | wc -l)
[[ $runs -eq 9 ]] || { echo "expected 9 runs (3 arms x 3 seeds), found $runs"; exit 1; }
for m in g/*/metrics.jsonl; do
  evals=$(grep -c '"val_loss"' "$m")
  [[ $(grep -c '"val_acc"' "$m") -eq $evals && $(grep -c '"train_acc"' "$m") -eq $evals ]] ||
    { echo "$m: not every evaluation has train_acc and val_acc"; exit 1; }
done
for s in g/*/summary.json; do
  for key in final_train_acc final_val_acc steps_to_val_acc_99; do
    grep -q "\"$key\"" "$s" || { echo "$s lacks $key"; exit 1; }
  done
done
grep -q '^## Accuracy: when each configuration generalised' g/summary.md ||
  { echo "summary.md has no accuracy section"; exit 1; }
grep -Eq '^\*\*Grokking: (reproduced|partly reproduced|not reproduced) at this scale\.\*\*' \
  g/summary.md || { echo "summary.md has no verdict line"; exit 1; }
grep -q 'steps to 99% val acc' g/summary.md || { echo "no steps-to-99% table"; exit 1; }
grep -q 'Grokking:' report.log || { echo "wdlab report did not print the verdict"; exit 1; }
svg=g/plots/accuracy_curves.svg
[[ -s $svg ]] || { echo "no $svg"; exit 1; }
# 3 panels x 3 seeds x (train, validation)
series=$(grep -o 'class="series"' $svg | wc -l)
[[ $series -eq 18 ]] || { echo "$svg: expected 18 series, found $series"; exit 1; }
if command -v rsvg-convert >/dev/null; then
  rsvg-convert $svg -o accuracy.png
  [[ -s accuracy.png ]] || { echo "rsvg-convert produced nothing"; exit 1; }
fi

# Resume: a run stopped by SIGINT and continued with --resume ends with the uninterrupted run's
# metrics (timings aside) and summary accuracies, steps to 99% included (read back from the log).
long=(--preset modular --scale test train.steps=3000 train.eval_every=20 data.train_fraction=0.8
      train.checkpoint_every=100)
"$wdlab" -q run --out ref "${long[@]}"
"$wdlab" -q run --out cut "${long[@]}" &
pid=$!
for _ in $(seq 1200); do
  [[ -s cut/checkpoint.safetensors ]] && grep -q '"step":200,' cut/metrics.jsonl 2>/dev/null && break
  sleep 0.05
done
kill -INT $pid
wait $pid || true
grep -q '"status": "interrupted"' cut/summary.json || { echo "the run was not interrupted"; exit 1; }
"$wdlab" -q run --resume cut
cmp -s <(without_timings ref/metrics.jsonl) \
  <(without_timings cut/metrics.jsonl) || { echo "resumed metrics differ"; exit 1; }
for key in final_train_acc final_val_acc steps_to_val_acc_99; do
  [[ $(grep "\"$key\"" ref/summary.json) == $(grep "\"$key\"" cut/summary.json) ]] ||
    { echo "resumed $key differs"; exit 1; }
done

# Bad task settings: one line naming the key, exit 1, no run directory.
check_bad() {
  local expected=$1
  shift
  if "$wdlab" -q run --preset modular --scale test --out bad "$@" 2>err.txt; then
    echo "accepted: $*"; exit 1
  fi
  [[ $(wc -l <err.txt) -eq 1 ]] || { echo "not one line for $*:"; cat err.txt; exit 1; }
  grep -qF "$expected" err.txt || { echo "for $*, expected '$expected', got:"; cat err.txt; exit 1; }
  [[ ! -e bad ]] || { echo "a run directory was left by $*"; exit 1; }
}
check_bad "data.modulus: must be a prime" data.modulus=9
check_bad "data.operation: 'pow' is not one of add, sub, mul, div" data.operation=pow
check_bad "data.train_fraction: must be in (0, 1)" data.train_fraction=1.5
check_bad "model.block_size: data.source=modular reads 'a op b =' and needs 4" model.block_size=8
check_bad "data.source: 'modulo' is not one of synthetic, text, modular" data.source=modulo
echo "grokking sweep (9 short runs) and report: ok"
