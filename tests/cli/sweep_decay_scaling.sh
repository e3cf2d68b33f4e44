#!/usr/bin/env bash
# decay_scaling only matters with decoupled decay: a sweep over decay_mode x decay_scaling runs
# each coupled / none configuration once and says how many it dropped.
# Usage: sweep_decay_scaling.sh path/to/wdlab
set -u
source "$(dirname "$0")/sweep_common.sh" "$1"
cat >modes.json <<JSON
{
  "base": {"preset": "gpt2", "scale": "tiny"},
  "grid": {"optim.decay_mode": ["none", "coupled", "decoupled"],
           "optim.decay_scaling": ["lr", "schedule", "lr_squared"]}
}
JSON
"$wdlab" sweep modes.json --dry-run >dry.txt 2>&1 || { cat dry.txt; fail "dry run failed"; }
grep -q "5 runs" dry.txt || { cat dry.txt; fail "expected 5 runs (none, coupled, 3 decoupled)"; }
grep -qF "4 duplicate configurations dropped (decay_scaling has no effect without decoupled decay)" \
  dry.txt || { cat dry.txt; fail "the dropped duplicates are not reported"; }
# The ids differ between the runs that are kept.
ids=$(grep -o '^  [0-9]\+ \+[0-9a-f]\{16\}' dry.txt | awk '{print $2}' | sort -u | wc -l)
[[ $ids -eq 5 ]] || { cat dry.txt; fail "expected 5 distinct config ids, got $ids"; }
echo "sweep_decay_scaling: ok"
