#!/usr/bin/env bash
# Spec search keys through the CLI: range and logspace generators and random search as
# `wdlab sweep --dry-run` lists them (the same list twice for the same seed), a grid group's
# own preset, and one clear error per bad key naming the file and the JSON path.
# Usage: sweep_search.sh path/to/wdlab
set -eu
source "$(dirname "$0")/sweep_common.sh" "$1"

cat >gen.json <<'JSON'
{"base": {"preset": "gpt2", "scale": "tiny", "overrides": {"optim.decay_mode": "decoupled"}},
 "grid": {"optim.weight_decay": {"logspace": [0.001, 1, 4]},
          "optim.lr": {"range": [0.001, 0.003, 0.001]}}}
JSON
"$wdlab" sweep gen.json --dry-run >out.txt
grep -q "12 runs, 12 to run" out.txt || { cat out.txt; fail "range x logspace: expected 12 runs"; }
for name in 000_weight_decay=0.001,lr=0.001 002_weight_decay=0.001,lr=0.003 \
            003_weight_decay=0.01,lr=0.001 011_weight_decay=1,lr=0.003; do
  grep -q " $name\$" out.txt || { cat out.txt; fail "no run $name"; }
done

cat >random.json <<'JSON'
{"base": {"preset": "gpt2", "scale": "tiny"},
 "grid": {"optim.decay_mode": ["coupled", "decoupled"],
          "optim.weight_decay": {"logspace": [0.0001, 1, 5]}, "optim.lr": [0.001, 0.003, 0.01]},
 "seeds": [1, 2],
 "method": "random", "run_cap": 6, "seed": 3}
JSON
"$wdlab" sweep random.json --dry-run >r1.txt
"$wdlab" sweep random.json --dry-run >r2.txt
grep -q "12 runs, 12 to run" r1.txt || { cat r1.txt; fail "random: expected 6 points x 2 seeds"; }
grep -q "random search: 6 points of grid x zip drawn with seed 3" r1.txt || { cat r1.txt; fail "no random line"; }
cmp -s r1.txt r2.txt || fail "random search is not deterministic"
[[ $(grep -c '_seed\|,seed=' r1.txt) -eq 12 ]] || { cat r1.txt; fail "runs without seeds"; }
sed 's/seed=3/seed=4/; s/"seed": 3/"seed": 4/' random.json >random4.json
"$wdlab" sweep random4.json --dry-run --out results/random >r4.txt
! cmp -s <(grep -o '[0-9]*_.*' r1.txt) <(grep -o '[0-9]*_.*' r4.txt) || fail "another seed, same sample"

cat >mixed.json <<'JSON'
{"base": {"scale": "tiny"},
 "grid": [{"preset": "gpt2", "optim.decay_mode": ["coupled", "decoupled"]},
          {"preset": "llama", "optim.decay_mode": "none"}]}
JSON
"$wdlab" sweep mixed.json --dry-run --format json >mixed.out
/usr/bin/python3 - mixed.out <<'PY' || fail "mixed presets"
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert [r["preset"] for r in runs] == ["gpt2", "gpt2", "llama"], runs
assert runs[2]["command"][3] == "llama", runs[2]["command"]
PY

# Each bad key: exit 1, one line naming the file, the path and what is allowed; nothing written.
expect_error() {  # SPEC-JSON EXPECTED-TEXT
  echo "$1" >bad.json
  if "$wdlab" sweep bad.json --dry-run >/dev/null 2>err.txt; then fail "accepted: $1"; fi
  grep -qF -- "$2" err.txt || { cat err.txt; fail "error for $1 does not say: $2"; }
  [[ $(wc -l <err.txt) -eq 1 ]] || { cat err.txt; fail "more than one line"; }
}
base='"base": {"preset": "gpt2"}'
expect_error "{$base, \"grid\": {\"optim.lr\": {\"range\": [1, 0, 1]}}}" \
  'bad.json: /grid/optim.lr/range: expected [start, stop, step]'
expect_error "{$base, \"grid\": {\"optim.lr\": {\"logspace\": [0, 1, 3]}}}" \
  'bad.json: /grid/optim.lr/logspace/0: expected [low, high, n]'
expect_error "{$base, \"grid\": {\"optim.lr\": [0.1, 0.2]}, \"method\": \"random\", \"run_cap\": 3}" \
  'bad.json: /run_cap: expected an integer from 1 to 2'
expect_error "{$base, \"method\": \"sobol\"}" 'bad.json: /method: expected "grid"'
expect_error "{$base, \"metric\": \"loss\"}" 'bad.json: /metric: expected one of final_val_loss'
expect_error "{$base, \"goal\": \"down\"}" 'bad.json: /goal: expected "minimize" or "maximize"'
expect_error '{"base": {}, "grid": [{"preset": "gpt2"}, {"optim.lr": 0.1}]}' \
  'bad.json: /base/preset: required'
[[ ! -e results ]] || fail "a refused spec wrote results"
echo "sweep_search: ok"
