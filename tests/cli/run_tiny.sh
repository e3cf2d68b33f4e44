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
# Checkpoints: --save writes model.safetensors, --init-from starts from it (the first eval of the
# second run equals the last eval of the first), and a checkpoint of another shape is refused.
"$wdlab" -q run --preset gpt2 --scale tiny train.steps=5 --save --out ck1
[[ -s ck1/model.safetensors ]] || { echo "--save wrote no model.safetensors"; exit 1; }
"$wdlab" -q run --preset gpt2 --scale tiny train.steps=5 --init-from ck1/model.safetensors --out ck2
last=$(grep val_loss ck1/metrics.jsonl | tail -1 | sed 's/.*"val_loss":\([^,}]*\).*/\1/')
first=$(grep val_loss ck2/metrics.jsonl | head -1 | sed 's/.*"val_loss":\([^,}]*\).*/\1/')
[[ "$last" == "$first" ]] || { echo "init-from: $first != $last"; exit 1; }
if "$wdlab" -q run --preset gpt2 --scale tiny model.d_model=32 --init-from ck1/model.safetensors --out ck3 2>err.txt; then
  echo "a checkpoint of another shape was accepted"; exit 1
fi
grep -q "shape" err.txt || { echo "shape mismatch error does not say so:"; cat err.txt; exit 1; }
[[ ! -e ck3 ]] || { echo "a refused --init-from left ck3 behind"; exit 1; }
# Text data: byte-level training on a file.
head -c 20000 /dev/urandom | base64 >corpus.txt
"$wdlab" -q run --preset gpt2 --scale tiny train.steps=3 data.source=text data.path=corpus.txt --out txt
grep -q '"vocab_size": 256' txt/config.json || { echo "text run did not use bytes"; exit 1; }
echo "run_tiny: ok"
