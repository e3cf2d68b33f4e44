#!/usr/bin/env bash
# SIGTERM in the middle of a sweep: exit code 130, no unfinished run looks finished, and the
# rerun runs exactly the missing runs without touching the finished ones.
# Usage: sweep_interrupt.sh path/to/wdlab
set -u
source "$(dirname "$0")/sweep_common.sh" "$1"
write_spec long.json 60

"$wdlab" sweep long.json --jobs 1 >first.log 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
  n=$(grep -l '"status": "finished"' results/long/*/summary.json 2>/dev/null | wc -l)
  [[ $n -ge 1 ]] && break
  sleep 0.1
done
sleep 0.5  # into the next run
kill -TERM "$pid"
wait "$pid"
rc=$?
[[ $rc -eq 130 ]] || { cat first.log; fail "interrupted sweep exited $rc, expected 130"; }

finished=$(grep -l '"status": "finished"' results/long/*/summary.json 2>/dev/null | wc -l)
[[ $finished -ge 1 && $finished -lt 4 ]] || fail "expected a partial sweep, $finished finished"
# Every finished summary is a complete run of 60 steps.
for s in $(grep -l '"status": "finished"' results/long/*/summary.json); do
  grep -q '"steps": 60,' "$s" || fail "$s claims to be finished but is not complete"
done
grep -q "interrupted" first.log || fail "the sweep did not report the interruption"
grep -l '"status": "finished"' results/long/*/summary.json | xargs -n1 dirname >done_dirs.txt
before=$(while read -r d; do fingerprint "$d"; done <done_dirs.txt)

missing=$((4 - finished))
"$wdlab" sweep long.json --jobs 1 >second.log 2>&1 || { cat second.log; fail "rerun failed"; }
grep -q "4 runs, $finished done already, $missing to run" second.log ||
  { cat second.log; fail "rerun did not run exactly the $missing missing runs"; }
[[ $(grep -l '"status": "finished"' results/long/*/summary.json | wc -l) -eq 4 ]] ||
  fail "not every run finished after the rerun"
after=$(while read -r d; do fingerprint "$d"; done <done_dirs.txt)
[[ "$before" == "$after" ]] || fail "the rerun touched runs that had finished"
echo "sweep_interrupt: ok ($finished finished before the interruption, $missing rerun)"
