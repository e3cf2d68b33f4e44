#!/usr/bin/env bash
# Resume bit for bit: a run stopped by SIGINT, SIGTERM or kill -9 (twice) and continued with
# `wdlab run --resume DIR` ends with the same metrics.jsonl (timings aside), tensor_norms.jsonl
# and final weights as the same run uninterrupted. Also: resuming with another config is refused,
# naming the key, and changes nothing.
set -eu
source "$(dirname "${BASH_SOURCE[0]}")/timings.sh"
wdlab=$1
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
cd "$tmp"

fail() {
  echo "FAIL: $*"
  exit 1
}

# Dropout on (its RNG must resume too), two threads, a checkpoint every 100 steps.
common=(--threads 2 --save train.steps=600 train.log_every=10 train.eval_every=50
        train.eval_batches=2 train.checkpoint_every=100 model.dropout=0.1)

# The largest step logged so far (0 if none).
logged_step() {
  local s
  s=$({ grep -o '"step":[0-9]*' "$1/metrics.jsonl" 2>/dev/null || true; } | sed 's/.*://' |
    sort -n | tail -1)
  echo "${s:-0}"
}
# start DIR ARGS...: a run in the background; its pid in $pid.
start() {
  local dir=$1
  shift
  "$wdlab" -q run --out "$dir" "$@" &
  pid=$!
  pids+=("$pid")
}
# wait_for DIR STEP [checkpoint]: until the run logged STEP (and has a checkpoint, if asked).
wait_for() {
  for _ in $(seq 600); do
    if (($(logged_step "$1") >= $2)) && { [[ $# -lt 3 ]] || [[ -s $1/checkpoint.safetensors ]]; }; then
      return 0
    fi
    sleep 0.05
  done
  fail "$1 never reached step $2"
}
# same REF DIR: identical results, tokens_per_s and wall times aside.
same() {
  for f in metrics.jsonl tensor_norms.jsonl; do
    cmp -s <(without_timings "$1/$f") <(without_timings "$2/$f") ||
      fail "$2/$f differs from the uninterrupted run's"
  done
  cmp -s "$1/model.safetensors" "$2/model.safetensors" || fail "$2: final weights differ"
  grep -q '"status": "finished"' "$2/summary.json" || fail "$2 did not finish"
  [[ ! -e $2/checkpoint.safetensors ]] || fail "$2: a finished run kept its checkpoint"
}

run_case() {  # NAME PRESET-ARGS...: reference, then SIGINT, SIGTERM and two kill -9s
  local name=$1
  shift
  "$wdlab" -q run --out "$name-ref" "$@" "${common[@]}"

  for sig in INT TERM; do
    start "$name-$sig" "$@" "${common[@]}"
    wait_for "$name-$sig" 230
    kill -"$sig" "$pid"
    code=0
    wait "$pid" || code=$?
    [[ $code == 130 ]] || fail "SIGTERM/SIGINT run exited $code, expected 130 (interrupted)"
    [[ -s $name-$sig/checkpoint.safetensors ]] || fail "SIG$sig wrote no checkpoint"
    grep -q '"status": "interrupted"' "$name-$sig/summary.json" || fail "not marked interrupted"
    "$wdlab" -q run --resume "$name-$sig"
    same "$name-ref" "$name-$sig"
  done

  # kill -9 leaves the last periodic checkpoint and log lines past it: both handled.
  start "$name-KILL" "$@" "${common[@]}"
  wait_for "$name-KILL" 260 checkpoint
  kill -9 "$pid"
  wait "$pid" || true
  start "$name-KILL" --resume "$name-KILL"  # --out is not allowed with --resume: see below
  wait "$pid" && fail "--resume with --out was accepted"
  "$wdlab" -q run --resume "$name-KILL" &
  pid=$!
  pids+=("$pid")
  wait_for "$name-KILL" 480
  kill -9 "$pid"
  wait "$pid" || true
  "$wdlab" -q run --resume "$name-KILL"
  same "$name-ref" "$name-KILL"
  grep -A3 '"resumed_at"' "$name-KILL/summary.json" | tr -d ' \n' | grep -q '\[[0-9]*,[0-9]*\]' ||
    fail "summary.json does not list both resumes"
}

run_case gpt2 --preset gpt2
# SGD's momentum buffers and an MoE's router and experts resume too.
run_case mixtral-sgd --preset mixtral optim.name=sgd optim.momentum=0.9 optim.lr=0.05

# Resuming with another config: refused, naming the key; the run and its checkpoint untouched.
start other --preset gpt2 "${common[@]}"
wait_for other 150
kill -TERM "$pid"
wait "$pid" || true
before=$(md5sum other/checkpoint.safetensors other/metrics.jsonl)
if "$wdlab" -q run --resume other optim.lr=0.01 2>err.txt; then fail "another config was resumed"; fi
grep -q "optim.lr" err.txt || { cat err.txt; fail "the error does not name optim.lr"; }
[[ $(md5sum other/checkpoint.safetensors other/metrics.jsonl) == "$before" ]] ||
  fail "a refused resume changed the run"
# The same config restated (and another checkpoint schedule) is fine.
"$wdlab" -q run --resume other --preset gpt2 train.steps=600 train.checkpoint_every=0
grep -q '"status": "finished"' other/summary.json || fail "a restated config was not resumed"
if "$wdlab" -q run --resume other 2>err.txt; then fail "a finished run was resumed"; fi
grep -q "no checkpoint" err.txt || { cat err.txt; fail "unclear error for a finished run"; }
echo "run_resume: ok"
