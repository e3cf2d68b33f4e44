#!/usr/bin/env bash
# Shards sharing one sweep directory. Shards 0/2 and 1/2 and a plain sweep started at the same
# instant: every run runs exactly once, none is lost. Then a shard killed with -9 mid-run:
# rerunning it resumes that run from its checkpoint and finishes the shard. --dry-run --shard
# lists the shard's runs only.
# Usage: sweep_shards.sh path/to/wdlab
set -u
source "$(dirname "$0")/sweep_common.sh" "$1"
write_spec s.json 30
axes=(seed=1,2,3)  # 6 runs

"$wdlab" sweep s.json "${axes[@]}" --dry-run --shard 1/4 >dry.txt || fail "dry run failed"
grep -q "shard 1/4 (of 6 runs): 2 runs, 2 to run" dry.txt || { cat dry.txt; fail "dry run header"; }
[[ $(grep -cE '^  [0-9]+ ' dry.txt) -eq 2 ]] && grep -qE '^  1 ' dry.txt && grep -qE '^  5 ' dry.txt ||
  { cat dry.txt; fail "dry run of shard 1/4 does not list runs 1 and 5 only"; }
if SLURM_ARRAY_TASK_ID= "$wdlab" sweep s.json --shard auto --dry-run 2>err.txt; then
  fail "--shard auto without an environment was accepted"
fi
grep -q "SLURM_ARRAY_TASK_ID" err.txt || { cat err.txt; fail "--shard auto error does not say what is missing"; }

# Three processes at once, one directory.
"$wdlab" sweep s.json "${axes[@]}" --out shared --jobs 1 --shard 0/2 >a.log 2>&1 &
a=$!
"$wdlab" sweep s.json "${axes[@]}" --out shared --jobs 1 --shard 1/2 >b.log 2>&1 &
b=$!
"$wdlab" sweep s.json "${axes[@]}" --out shared --jobs 1 >c.log 2>&1 &
c=$!
for p in $a $b $c; do wait "$p" || { cat a.log b.log c.log; fail "a concurrent sweep failed"; }; done
runs=$(ls -d shared/0*/ | wc -l)
[[ $runs -eq 6 ]] || fail "expected 6 run directories, found $runs"
for d in shared/0*/; do
  name=$(basename "$d")
  grep -q '"status": "finished"' "$d/summary.json" || fail "$name did not finish"
  n=$(cat a.log b.log c.log | grep -c "\] $name: finished")
  [[ $n -eq 1 ]] || { cat a.log b.log c.log; fail "$name ran $n times"; }
done
grep -q "left to it\|finished by another process" c.log a.log b.log ||
  { cat a.log b.log c.log; fail "no process ever found a run taken by another"; }

# A different run list in a directory another sweep is running in: refused, with the reason.
write_spec long.json 100000
"$wdlab" sweep long.json --out busy --jobs 1 seed=1 >busy.log 2>&1 &
busy=$!
for _ in $(seq 1 300); do grep -qs '"step"' busy/*/metrics.jsonl && break; sleep 0.1; done
if "$wdlab" sweep s.json --out busy --jobs 1 2>other.txt >/dev/null; then fail "a second plan was accepted"; fi
grep -q "different run list" other.txt || { cat other.txt; fail "no reason given for the refusal"; }
kill -TERM $busy
wait $busy

# kill -9 of a shard mid-run, then the same shard again: the run resumes from its checkpoint.
write_spec cut.json 400
"$wdlab" sweep cut.json --out cut --jobs 1 --shard 1/2 >cut1.log 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
  run=$(ls -d cut/001_* 2>/dev/null | head -1)
  n=$( [[ -n $run ]] && grep -c '"train_loss"' "$run/metrics.jsonl" 2>/dev/null)
  ((${n:-0} >= 40)) && break
  sleep 0.05
done
child=$(pgrep -P "$pid" | head -n1)
kill -KILL "$pid"
wait "$pid" 2>/dev/null
# The orphaned run stops by itself, with a checkpoint; until then it keeps its lock.
for _ in $(seq 1 100); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
kill -0 "$child" 2>/dev/null && fail "the orphaned run did not stop"
[[ -s $run/checkpoint.safetensors ]] || { cat "$run/log.txt"; fail "the killed shard's run kept no checkpoint"; }
"$wdlab" sweep cut.json --out cut --jobs 1 --shard 1/2 >cut2.log 2>&1 || { cat cut2.log; fail "rerun failed"; }
grep -q "resuming from its checkpoint" cut2.log || { cat cut2.log; fail "the killed run was not resumed"; }
grep -q "shard 1/2 (of 4 runs): 2 runs" cut2.log || { cat cut2.log; fail "the rerun is not shard 1/2"; }
for r in cut/001_* cut/003_*; do
  grep -q '"status": "finished"' "$r/summary.json" || fail "$r did not finish after the rerun"
done
[[ ! -e $(ls -d cut/000_* 2>/dev/null | head -1) ]] || fail "shard 1/2 ran a run of shard 0/2"
echo "sweep_shards: ok"
