#!/usr/bin/env bash
# A run that diverges is a result; a run that dies without a summary is a failure. Either way
# the sweep goes on; a failure makes it exit non-zero and is the only run a rerun retries.
# Usage: sweep_failure.sh path/to/wdlab
set -u
source "$(dirname "$0")/sweep_common.sh" "$1"
cat >f.json <<'JSON'
{
  "base": {
    "preset": "gpt2",
    "scale": "tiny",
    "overrides": {"train.steps": 8, "train.log_every": 2, "train.eval_every": 4,
                  "train.eval_batches": 1, "optim.warmup_steps": 1, "optim.min_lr": 0,
                  "data.train_tokens": 8192, "data.val_tokens": 2048,
                  "data.path": "/nonexistent/corpus.txt"}
  },
  "grid": [{"optim.lr": [0.003, 100]}, {"data.source": "text"}]
}
JSON
"$wdlab" sweep f.json --jobs 1 >first.log 2>&1
rc=$?
[[ $rc -eq 1 ]] || { cat first.log; fail "a sweep with a failed run exited $rc, expected 1"; }
grep -q "001_lr=100: diverged at step" first.log || { cat first.log; fail "no divergence reported"; }
grep -q "002_source=text: FAILED (exit code 1): error: data.path" first.log ||
  { cat first.log; fail "the failure and its cause were not reported"; }
grep -q '"status": "diverged"' results/f/001_lr=100/summary.json || fail "not marked diverged"
grep -q '"diverged_step"' results/f/001_lr=100/summary.json || fail "no diverged_step"

"$wdlab" report results/f >report.log 2>&1 || { cat report.log; fail "report failed"; }
grep -q "1 finished, 1 diverged, 1 not completed" results/f/summary.md || fail "report counts"

"$wdlab" sweep f.json --jobs 1 >second.log 2>&1
grep -q "3 runs, 2 done already, 1 to run" second.log || { cat second.log; fail "rerun"; }
echo "sweep_failure: ok"
