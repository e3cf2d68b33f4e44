#!/usr/bin/env bash
# kill -9 of a sweep, five times at random moments, then a rerun to completion: the results equal
# those of a sweep that was never interrupted. The kills alternate between the sweep's whole
# process group (sweep and runs die at once) and the sweep alone (its runs must then stop by
# themselves). After each kill: no process of the sweep is left, and every run a rerun would
# skip is complete (a summary "finished" after all its steps; a torn run must be redone). At the
# end: the rerun ran exactly the runs not finished, left the finished ones untouched, and every
# run's metrics.jsonl (without the timing fields tokens_per_s and time_s) and summary.json (without
# wall_seconds and tokens_per_s) equal the uninterrupted sweep's, as do the checkpoints.
# Usage: sweep_kill_loop.sh path/to/wdlab
set -u
source "$(dirname "$0")/sweep_common.sh" "$1"
RANDOM=20240611  # the same kill moments on every run of the test
steps=40
write_spec kill.json $steps
sweep=("$wdlab" sweep kill.json --jobs 2 --threads 1)

# The result files as compared: timing fields and resume records removed (JSON keys are sorted,
# one per line in summary.json, inline in each metrics.jsonl row).
normalised() {
  local dir=$1
  for f in "$dir"/*/metrics.jsonl; do
    echo "== ${f#"$dir"/}"
    sed -E -e 's/"tokens_per_s":[^,}]*,?//' -e 's/"time_s":[^,}]*,?//' "$f"
  done
  for f in "$dir"/*/summary.json; do
    echo "== ${f#"$dir"/}"
    # resumed_at lists where a run was resumed from a checkpoint: how, not what, it computed.
    sed -e '/"resumed_at": \[\]/d' -e '/"resumed_at": \[/,/\]/d' "$f" | grep -v -E '^ *"(wall_seconds|tokens_per_s)":'
  done
  for f in "$dir"/*/model.safetensors; do
    [[ -e $f ]] && echo "== ${f#"$dir"/} $(cksum <"$f")"
  done
}

# The run directories whose summary says finished.
finished_dirs() {
  grep -l '"status": "finished"' "$1"/*/summary.json 2>/dev/null | xargs -r -n1 dirname | sort
}

# Every run the sweep would skip is complete: all its steps in summary and metrics.
check_finished_complete() {
  local d
  for d in $(finished_dirs "$1"); do
    grep -q "\"steps\": $steps," "$d/summary.json" || fail "$d: finished, but not after $steps steps"
    grep -q "^{.*\"step\":$steps,.*\"val_loss\"" "$d/metrics.jsonl" ||
      fail "$d: finished, but its metrics.jsonl has no evaluation at step $steps"
  done
}

"${sweep[@]}" --out reference >reference.log 2>&1 || { cat reference.log; fail "reference sweep failed"; }

# Progress of the current attempt: metrics lines written since it started (the sweep clears the
# directories of torn runs; their old lines are older than the marker).
progress() {
  find killed -name metrics.jsonl -newer attempt.marker -exec cat {} + 2>/dev/null | wc -l
}

# Each kill comes at a random point of the sweep's progress, whatever the machine's speed: at
# target 0 a random moment of its first half second (plan, directories, starting runs), else once
# the attempt has written that many metrics lines (a run writes 30: mid-run, at the end of a run,
# between runs).
landed=0
for kill in 1 2 3 4 5; do
  target=$((RANDOM % 70))
  touch attempt.marker
  setsid "${sweep[@]}" --out killed >"kill$kill.log" 2>&1 &
  pid=$!  # setsid runs the sweep as the leader of a new process group: pgid = pid
  if ((target == 0)); then
    sleep "0.$((RANDOM % 5))"
  else
    while kill -0 "$pid" 2>/dev/null && (($(progress) < target)); do sleep 0.02; done
  fi
  if kill -0 "$pid" 2>/dev/null; then
    landed=$((landed + 1))
    if ((kill % 2)); then
      kill -KILL -- "-$pid"  # the sweep and its runs
      what="group"
    else
      kill -KILL "$pid"  # the sweep alone: its runs get SIGTERM (parent death) and stop
      what="sweep"
    fi
  else
    what="none (the sweep had ended)"
  fi
  wait "$pid" 2>/dev/null
  for _ in $(seq 1 150); do
    pgrep -g "$pid" >/dev/null || break
    sleep 0.1
  done
  if pgrep -g "$pid" >/dev/null; then
    ps -o pid,pgid,args -g "$pid"
    kill -KILL -- "-$pid"
    fail "kill $kill ($what): processes of the sweep were still running 15 s later"
  fi
  check_finished_complete killed
  echo "kill $kill at $target lines: $what; $(finished_dirs killed | wc -l) of 4 runs finished"
done
((landed >= 3)) || fail "only $landed of 5 kills hit a running sweep: the test exercised too little"

finished=$(finished_dirs killed)
n=$(echo -n "$finished" | grep -c .)
before=$(for d in $finished; do fingerprint "$d"; done)
"${sweep[@]}" --out killed >rerun.log 2>&1 || { cat rerun.log; fail "the rerun failed"; }
grep -q "4 runs, $n done already, $((4 - n)) to run" rerun.log ||
  { cat rerun.log; fail "the rerun did not run exactly the $((4 - n)) unfinished runs"; }
after=$(for d in $finished; do fingerprint "$d"; done)
[[ "$before" == "$after" ]] || fail "the rerun touched runs that had finished"
[[ $(finished_dirs killed | wc -l) -eq 4 ]] || fail "not every run finished after the rerun"

diff <(normalised reference) <(normalised killed) >results.diff ||
  { head -n 40 results.diff; fail "the results differ from the uninterrupted sweep's"; }
echo "sweep_kill_loop: ok ($landed kills landed, $n runs finished before the rerun, $((4 - n)) redone)"
