#!/usr/bin/env bash
# The CLI's exit codes (`wdlab --help` lists them): 2 for usage errors, with a "did you mean"
# where a known command or option is close; 3 for a diverged run; 130 for an interrupted one.
# Usage: exit_codes.sh path/to/wdlab
set -u
wdlab=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_exit CODE NEEDLE ARGS...: wdlab ARGS exits CODE and its stderr mentions NEEDLE.
expect_exit() {
  local code=$1 needle=$2
  shift 2
  "$wdlab" "$@" >out.txt 2>err.txt
  local rc=$?
  if [[ $rc -ne $code ]]; then
    fail "[$*] exited $rc, expected $code:"; cat err.txt; return
  fi
  if ! grep -qF -- "$needle" err.txt; then
    fail "[$*] stderr does not mention '$needle':"; cat err.txt; return
  fi
  echo "ok   [$*] -> $rc: $(head -1 err.txt)"
}

expect_exit 2 "did you mean 'run'?" rn
expect_exit 2 "did you mean 'sweep'?" -q swep configs/sweeps/smoke.json
expect_exit 2 "unknown command 'frobnicate'" frobnicate
expect_exit 2 "a command is required"
expect_exit 2 "did you mean '--threads'?" run --thread 2
expect_exit 2 "did you mean '--explain'?" config --explian
expect_exit 2 "unknown option '--zzzzzzzz' for 'run'" run --zzzzzzzz
expect_exit 2 "--threads" run --threads many
expect_exit 1 "optim.weight_decy" run optim.weight_decy=0.1

"$wdlab" --help >help.txt 2>&1 || fail "--help exited non-zero"
for code in "2 usage error" "3 the run diverged" "130 interrupted"; do
  grep -qF "$code" help.txt || fail "--help does not document exit code '$code'"
done
"$wdlab" config --explain >explain.txt || fail "config --explain exited non-zero"
grep -q '^optim.decay_scaling .*decoupled only' explain.txt ||
  fail "config --explain does not document optim.decay_scaling"
[[ $(grep -c '^[a-z]' explain.txt) -ge 60 ]] || fail "config --explain lists too few keys"

# A diverged run: exit 3, and summary.json says so.
"$wdlab" -q run --out diverged optim.lr=1e4 optim.warmup_steps=0 optim.grad_clip=0 \
  train.steps=30 train.eval_every=10 >/dev/null 2>&1
rc=$?
[[ $rc -eq 3 ]] || fail "a diverging run exited $rc, expected 3"
grep -q '"status": "diverged"' diverged/summary.json 2>/dev/null ||
  fail "the diverged run's summary does not say diverged"

# SIGINT during a run: exit 130, summary.json says interrupted.
"$wdlab" -q run --out interrupted train.steps=100000 train.log_every=1 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [[ -s interrupted/metrics.jsonl ]] && break
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"
rc=$?
[[ $rc -eq 130 ]] || fail "an interrupted run exited $rc, expected 130"
grep -q '"status": "interrupted"' interrupted/summary.json 2>/dev/null ||
  fail "the interrupted run's summary does not say interrupted"

[[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }
echo "exit_codes: ok"
