#!/usr/bin/env bash
# kill -9 of a sweep: its running child stops by itself (as "interrupted", never "finished")
# instead of training on as an orphan.
# Usage: sweep_orphan.sh path/to/wdlab
set -u
source "$(dirname "$0")/sweep_common.sh" "$1"
write_spec long.json 100000

"$wdlab" sweep long.json --jobs 1 >sweep.log 2>&1 &
sweep=$!
child=""
for _ in $(seq 1 300); do
  child=$(pgrep -P "$sweep" | head -n1)
  [[ -n $child ]] && grep -q "step" results/long/*/log.txt 2>/dev/null && break
  sleep 0.1
done
[[ -n $child ]] || { cat sweep.log; fail "no run started"; }
kill -KILL "$sweep"
wait "$sweep" 2>/dev/null

for _ in $(seq 1 100); do
  kill -0 "$child" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$child" 2>/dev/null; then
  kill -KILL "$child"
  fail "the run went on for 10 s after its sweep was killed"
fi
summary=$(ls results/long/*/summary.json 2>/dev/null | head -n1)
[[ -n $summary ]] || fail "the orphaned run wrote no summary"
grep -q '"status": "interrupted"' "$summary" || fail "the orphaned run's summary is not interrupted"
echo "sweep_orphan: ok (the run stopped as interrupted)"
