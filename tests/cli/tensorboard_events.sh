#!/usr/bin/env bash
# --tensorboard: the event files of a run, of a run killed with kill -9 and resumed, and of a
# sweep's runs are read back by tests/cli/check_tfevents.py (Python's protobuf, its own CRC-32C)
# and match metrics.jsonl number for number, with no step twice. A flipped byte must fail it.
# Exit 77 (skipped) only when python3-protobuf is missing and cannot be installed.
set -eu
wdlab=$1
here=$(cd "$(dirname "$0")" && pwd)
check=("/usr/bin/python3" "$here/check_tfevents.py")
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
cd "$tmp"

fail() {
  echo "FAIL: $*"
  exit 1
}

if ! /usr/bin/python3 -c 'import google.protobuf' 2>/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3-protobuf >/dev/null 2>&1 || true
  fi
  if ! /usr/bin/python3 -c 'import google.protobuf' 2>/dev/null; then
    echo "SKIP: needs Debian's python3-protobuf for /usr/bin/python3 (scripts/setup.sh installs it)"
    exit 77
  fi
fi

tiny=(--preset gpt2 --scale tiny train.log_every=5 train.eval_every=10 train.eval_batches=1
      data.train_tokens=8192 data.val_tokens=2048)

# 1. A run: the file is there, parses, and matches metrics.jsonl; MoE and decoupled decay log
# more keys (aux_loss, wd_step, wd_budget, expert norms).
"$wdlab" -q run "${tiny[@]}" train.steps=30 --tensorboard --out plain
"$wdlab" -q run --preset mixtral --scale tiny train.steps=10 train.log_every=5 train.eval_every=5 \
  train.eval_batches=1 optim.decay_mode=decoupled --tensorboard --out moe
"${check[@]}" plain moe || fail "the events files do not match metrics.jsonl"
grep -q '"tensorboard": true' plain/config.json || fail "config.json does not record --tensorboard"
"$wdlab" -q run "${tiny[@]}" train.steps=5 --out without
! ls without/events.out.tfevents.* >/dev/null 2>&1 || fail "an events file without --tensorboard"

# 2. A flipped byte in a record's data fails the check (the CRC is really checked).
mkdir broken
cp plain/metrics.jsonl broken/
f=$(ls plain/events.out.tfevents.*)
cp "$f" broken/
/usr/bin/python3 - "broken/$(basename "$f")" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
data[len(data) - 6] ^= 0x01  # inside the last record's data
open(path, "wb").write(bytes(data))
PY
if "${check[@]}" broken >out.txt; then fail "a flipped byte was not caught"; fi
grep -q "data CRC" out.txt || { cat out.txt; fail "the flipped byte was not reported as a CRC"; }

# 3. kill -9 after a checkpoint, with steps logged past it, then --resume: the events past the
# checkpoint are cut, the resumed run writes a second file, and the steps match metrics.jsonl.
logged_step() {
  local s
  s=$({ grep -o '"step":[0-9]*' "$1/metrics.jsonl" 2>/dev/null || true; } | sed 's/.*://' |
    sort -n | tail -1)
  echo "${s:-0}"
}
"$wdlab" -q run "${tiny[@]}" train.steps=600 train.log_every=1 train.checkpoint_every=50 \
  --tensorboard --out killed &
pid=$!
pids+=("$pid")
for _ in $(seq 1500); do
  (($(logged_step killed) >= 60)) && [[ -s killed/checkpoint.safetensors ]] && break
  sleep 0.02
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
[[ ! -e killed/summary.json ]] || fail "the run finished before it could be killed"
killed_at=$(logged_step killed)
first=$(ls killed/events.out.tfevents.*)
size_before=$(stat -c %s "$first")
"$wdlab" -q run --resume killed || fail "resume failed"
grep -q '"status": "finished"' killed/summary.json || fail "the resumed run did not finish"
n=$(ls killed/events.out.tfevents.* | wc -l)
((n == 2)) || fail "expected 2 events files after one resume, found $n"
# Killed between checkpoints (almost always: one logged step in 50 is a checkpoint's), the first
# file lost the steps after the checkpoint.
if ((killed_at % 50 != 0)); then
  (($(stat -c %s "$first") < size_before)) || fail "killed at step $killed_at: nothing was cut"
fi
"${check[@]}" killed || fail "the resumed run's events do not match metrics.jsonl"

# 4. A sweep passes --tensorboard to each run.
cat >spec.json <<'JSON'
{"base": {"preset": "gpt2", "scale": "tiny",
          "overrides": {"train.steps": 10, "train.log_every": 5, "train.eval_every": 5,
                        "train.eval_batches": 1, "data.train_tokens": 8192,
                        "data.val_tokens": 2048}},
 "grid": {"optim.decay_mode": ["coupled", "decoupled"]}}
JSON
"$wdlab" -q sweep spec.json --out sw --tensorboard --jobs 2
"${check[@]}" sw/0*/ || fail "a sweep run's events do not match"
echo "tensorboard events: ok"
