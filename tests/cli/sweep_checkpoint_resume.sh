#!/usr/bin/env bash
# A sweep stopped by SIGTERM mid-run continues that run from its checkpoint when rerun (and says
# so), and its results equal those of a sweep never interrupted (timings aside).
# Usage: sweep_checkpoint_resume.sh path/to/wdlab
set -u
source "$(dirname "$0")/sweep_common.sh" "$1"
source "$(dirname "$0")/timings.sh"
write_spec long.json 400

"$wdlab" -q sweep long.json --out whole --jobs 1 seed=1 || fail "the uninterrupted sweep failed"

"$wdlab" sweep long.json --out cut --jobs 1 seed=1 >first.log 2>&1 &
pid=$!
# Into the second run, past its first steps.
for _ in $(seq 1 1200); do
  run=$(ls -d cut/001_* 2>/dev/null | head -1)
  [[ -n $run ]] && (($(grep -c '"train_loss"' "$run/metrics.jsonl" 2>/dev/null || echo 0) >= 40)) && break
  sleep 0.05
done
kill -TERM "$pid"
wait "$pid"
rc=$?
[[ $rc -eq 130 ]] || { cat first.log; fail "interrupted sweep exited $rc, expected 130"; }
[[ -s $run/checkpoint.safetensors ]] || { cat first.log; fail "the interrupted run kept no checkpoint"; }
# The checkpoint's step, from its safetensors header's metadata.
step=$(head -c 65536 "$run/checkpoint.safetensors" | grep -ao '"step":"[0-9]*"' | grep -o '[0-9][0-9]*')

"$wdlab" sweep long.json --out cut --jobs 1 seed=1 >second.log 2>&1 || { cat second.log; fail "rerun failed"; }
grep -q "1 resumed from their checkpoints" second.log || { cat second.log; fail "no resume announced"; }
grep -q "resuming from its checkpoint at step $step" second.log ||
  { cat second.log; fail "the run was not resumed at step $step"; }
for d in whole/*/; do
  name=$(basename "$d")
  for f in metrics.jsonl tensor_norms.jsonl; do
    cmp -s <(without_timings "whole/$name/$f") <(without_timings "cut/$name/$f") ||
      fail "$name/$f differs from the uninterrupted sweep's"
  done
done
grep -q "resuming from the checkpoint at step $step" "$run/log.txt" || fail "log.txt lost the resume"
grep -q "interrupted" "$run/log.txt" || fail "log.txt lost the first part of the run"
echo "sweep_checkpoint_resume: ok (resumed at step $step)"
