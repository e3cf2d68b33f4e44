#!/usr/bin/env bash
# --dry-run lists the numbered runs (text and JSON) and writes nothing.
# Usage: sweep_dry_run.sh path/to/wdlab
set -eu
source "$(dirname "$0")/sweep_common.sh" "$1"
write_spec tiny.json 6

"$wdlab" sweep tiny.json --dry-run optim.weight_decay=0.01,0.1 >out.txt
[[ ! -e results ]] || fail "--dry-run wrote results"
grep -q "8 runs, 8 to run" out.txt || { cat out.txt; fail "wrong run count"; }
grep -Eq '^  0 +[0-9a-f]{16} +to run +000_decay_mode=coupled,weight_decay=0.01,seed=1$' out.txt ||
  { cat out.txt; fail "first run line"; }
grep -Eq '^  7 +[0-9a-f]{16} +to run +007_decay_mode=decoupled,weight_decay=0.1,seed=2$' out.txt ||
  { cat out.txt; fail "last run line"; }

"$wdlab" sweep tiny.json --dry-run --format json --out elsewhere >out.json
[[ ! -e elsewhere ]] || fail "--dry-run --format json wrote results"
[[ $(grep -c '"index":' out.json) -eq 4 ]] || fail "expected 4 runs in the JSON"
grep -q '"root": "elsewhere"' out.json || fail "--out not honoured"
grep -q '"state": "to run"' out.json || fail "no state in the JSON"
if command -v python3 >/dev/null; then
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["runs"]) == 4' out.json ||
    fail "invalid JSON"
fi
echo "sweep_dry_run: ok"
