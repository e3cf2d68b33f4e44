#!/usr/bin/env bash
# A short tiny run through the CLI: the run directory holds what the README promises, and a
# second run with the same name gets a fresh directory instead of overwriting the first.
set -eu
wdlab=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$wdlab" -q run --preset gpt2 --scale tiny train.steps=40 train.eval_every=20
for f in config.json param_groups.json metrics.jsonl summary.json; do
  [[ -s results/gpt2-tiny/$f ]] || { echo "missing results/gpt2-tiny/$f"; exit 1; }
done
grep -q '"status": "finished"' results/gpt2-tiny/summary.json
grep -q '"config_id"' results/gpt2-tiny/config.json
"$wdlab" -q run --preset gpt2 --scale tiny train.steps=5
[[ -s results/gpt2-tiny-2/summary.json ]] || { echo "second run did not get gpt2-tiny-2"; exit 1; }
"$wdlab" config --preset gpt2 --scale tiny optim.decay_mode=coupled | grep -q '"decay_mode": "coupled"'
"$wdlab" presets | grep -q '^gpt2'
echo "run_tiny: ok"
