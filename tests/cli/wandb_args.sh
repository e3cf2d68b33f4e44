#!/usr/bin/env bash
# Config keys as options, the way W&B sweep agents (`${program} ${args}`: --key=value per
# parameter) and Hydra-style launchers pass them: `--optim.lr=0.003` and `--train.steps 20` are
# the overrides optim.lr=0.003 and train.steps=20, for run, config and sweep. Real options keep
# working, a misspelt one stays a usage error (exit 2) and an unknown key the override's error.
set -eu
wdlab=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

fail() {
  echo "FAIL: $*"
  exit 1
}
# value FILE DOTTED.KEY: a value of a JSON file, as JSON (lists indexed by number).
value() {
  /usr/bin/python3 -c 'import json,sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v))' "$1" "$2"
}

# A W&B agent's command line for a binary program, as it generates it (plus a space-separated
# value, as a Hydra-style launcher or a person would type it).
"$wdlab" -q run --preset gpt2 --scale tiny --optim.weight_decay=0.1 --optim.lr=0.003 \
  --train.steps 20 --out wandb --threads 2 || fail "the W&B-style command line was refused"
[[ $(value wandb/config.json optim.weight_decay) == 0.1 ]] || fail "optim.weight_decay not set"
[[ $(value wandb/config.json optim.lr) == 0.003 ]] || fail "optim.lr not set"
[[ $(value wandb/config.json train.steps) == 20 ]] || fail "train.steps not set"
[[ $(value wandb/config.json wdlab.threads) == 2 ]] || fail "--threads lost"
grep -q '"status": "finished"' wandb/summary.json || fail "the run did not finish"
# The command line is recorded as typed.
[[ $(value wandb/run.json invocations.0.argv) == *'"--optim.weight_decay=0.1", "--optim.lr=0.003", "--train.steps", "20"'* ]] ||
  fail "run.json does not hold the command line: $(value wandb/run.json invocations.0.argv)"

# The same run as key=value overrides: the same config id.
"$wdlab" -q run --preset gpt2 --scale tiny optim.weight_decay=0.1 optim.lr=0.003 train.steps=20 \
  --out plain
[[ $(value wandb/config.json wdlab.config_id) == $(value plain/config.json wdlab.config_id) ]] ||
  fail "--key=value and key=value give different config ids"

# config: every form prints the same config; top-level keys too (--seed, --name).
"$wdlab" config --preset llama --seed=7 --name wb --optim.decay_mode coupled train.steps=9 \
  >options.json 2>/dev/null
"$wdlab" config --preset llama seed=7 name=wb optim.decay_mode=coupled train.steps=9 \
  >positional.json 2>/dev/null
cmp -s options.json positional.json || fail "config: options and overrides differ"
grep -q '"seed": 7' options.json || fail "--seed=7 not applied"

# A misspelt option stays a usage error with a suggestion; options keep their values.
code=0
"$wdlab" run --thread 2 --train.steps=2 --out typo 2>err.txt || code=$?
[[ $code == 2 ]] || fail "--thread: exit $code, expected 2 (usage)"
grep -q "unknown option '--thread'.*did you mean '--threads'" err.txt || { cat err.txt; fail "--thread"; }
[[ ! -e typo ]] || fail "a usage error left a run directory"

# An unknown key: the override's own error (exit 1), naming the key and what is allowed.
code=0
"$wdlab" run --optim.weight_decy=0.1 --out unknown 2>err.txt || code=$?
[[ $code == 1 ]] || fail "unknown key: exit $code, expected 1"
grep -q "unknown key 'optim.weight_decy'; allowed: .*optim.weight_decay" err.txt ||
  { cat err.txt; fail "unknown key message"; }
[[ ! -e unknown ]] || fail "an unknown key left a run directory"
# A key without a value.
code=0
"$wdlab" config --optim.lr 2>err.txt >/dev/null || code=$?
[[ $code == 1 ]] && grep -q "expected key=value" err.txt || { cat err.txt; fail "--optim.lr without a value: exit $code"; }
# A value of the wrong type, as an option.
code=0
"$wdlab" config --train.steps=many 2>err.txt >/dev/null || code=$?
[[ $code == 1 ]] && grep -q "train.steps expects" err.txt || { cat err.txt; fail "--train.steps=many: exit $code"; }

# sweep: axes as options, "--key=v1,v2" and "--key v1,v2", equal the positional form.
cat >spec.json <<'JSON'
{"base": {"preset": "gpt2", "scale": "tiny", "overrides": {"train.steps": 4}},
 "grid": {"optim.decay_mode": ["coupled", "decoupled"]}}
JSON
"$wdlab" sweep spec.json --dry-run --format json --optim.weight_decay=0.01,0.1 --seed 1,2 \
  --out s >options.json
"$wdlab" sweep spec.json --dry-run --format json optim.weight_decay=0.01,0.1 seed=1,2 \
  --out s >positional.json
/usr/bin/python3 - <<'PY' || fail "sweep: options and axes give different plans"
import json
a, b = json.load(open("options.json")), json.load(open("positional.json"))
ids = lambda p: [r["id"] for r in p["runs"]]
assert len(a["runs"]) == 8, len(a["runs"])
assert ids(a) == ids(b), (ids(a), ids(b))
PY
echo "wandb_args: ok"
