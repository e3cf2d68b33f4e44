#!/usr/bin/env bash
# A tiny sweep run twice: the second run does no work and touches no run directory; the report
# then holds every configuration. Usage: sweep_resume.sh path/to/wdlab
set -eu
source "$(dirname "$0")/sweep_common.sh" "$1"
write_spec tiny.json 6

"$wdlab" sweep tiny.json --jobs 2 >first.log 2>&1 || { cat first.log; fail "first sweep failed"; }
[[ $(ls -d results/tiny/0*/ | wc -l) -eq 4 ]] || fail "expected 4 run directories"
[[ $(grep -l '"status": "finished"' results/tiny/*/summary.json | wc -l) -eq 4 ]] ||
  fail "expected 4 finished runs"
for d in results/tiny/0*/; do
  [[ -s $d/log.txt ]] || fail "$d has no log.txt"
  grep -q "run directory" "$d/log.txt" || fail "$d/log.txt lacks the run's log"
done
before=$(fingerprint results/tiny)

"$wdlab" sweep tiny.json >second.log 2>&1 || { cat second.log; fail "second sweep failed"; }
grep -q "4 done already, 0 to run" second.log || { cat second.log; fail "second sweep did work"; }
[[ $(fingerprint results/tiny) == "$before" ]] || fail "the second sweep touched run files"

# A new seed runs only the new runs, though the numbering shifts.
"$wdlab" sweep tiny.json seed=1,2,3 >third.log 2>&1 || { cat third.log; fail "third sweep failed"; }
grep -q "6 runs, 4 done already (2 renamed), 2 to run" third.log || { cat third.log; fail "seed 3 redid runs"; }

"$wdlab" report results/tiny >report.log 2>&1 || { cat report.log; fail "report failed"; }
for f in summary.md summary.csv plots/loss_curves.svg; do
  [[ -s results/tiny/$f ]] || fail "report did not write $f"
done
grep -q "decay_mode=decoupled" results/tiny/summary.md || fail "summary.md lacks a configuration"
grep -q "3 finished" results/tiny/summary.md || fail "summary.md does not count 3 seeds"
echo "sweep_resume: ok"
