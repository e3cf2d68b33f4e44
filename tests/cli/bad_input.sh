#!/usr/bin/env bash
# Bad input must give a non-zero exit, a one-line error naming the key or file, and leave no run
# directory behind. Usage: bad_input.sh path/to/wdlab
set -u
wdlab=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect_error NEEDLE ARGS...: run `wdlab run` with ARGS into an empty results dir.
expect_error() {
  local needle=$1
  shift
  local results="$tmp/results"
  rm -rf "$results"
  mkdir -p "$results"
  # A timeout: input that hangs the run (a device as a corpus) fails the case instead of the suite.
  timeout 60 "$wdlab" run --results "$results" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$tmp/err")
  if [[ $rc -eq 0 ]]; then
    echo "FAIL [$*]: exit code 0"; failures=$((failures + 1)); return
  fi
  if ! grep -qF -- "$needle" "$tmp/err"; then
    echo "FAIL [$*]: error does not mention '$needle':"; cat "$tmp/err"; failures=$((failures + 1)); return
  fi
  if [[ $lines -ne 1 ]]; then
    echo "FAIL [$*]: expected a one-line error, got $lines lines:"; cat "$tmp/err"; failures=$((failures + 1)); return
  fi
  if [[ -n $(ls -A "$results") ]]; then
    echo "FAIL [$*]: left files behind: $(ls -A "$results")"; failures=$((failures + 1)); return
  fi
  echo "ok   [$*] -> $(cat "$tmp/err")"
}

printf '{"config": {' >"$tmp/broken.json"
mkdir -p "$tmp/a_directory"
head -c 50 /dev/zero >"$tmp/short.txt"

expect_error "optim.weight_decy" optim.weight_decy=0.1
expect_error "optim.lr" optim.lr=fast
expect_error "model.n_head" model.n_head=3
expect_error "optim.weight_decay" optim.weight_decay=-0.1
expect_error "optim.lr" optim.lr=0
expect_error "optim.decay_mode" optim.decay_mode=l2
expect_error "/nonexistent/corpus.txt" data.source=text data.path=/nonexistent/corpus.txt
expect_error "$tmp/a_directory" data.source=text data.path="$tmp/a_directory"
expect_error "$tmp/short.txt" data.source=text data.path="$tmp/short.txt"
expect_error "$tmp/broken.json" --preset "$tmp/broken.json"
expect_error "no_such_preset" --preset no_such_preset
expect_error "huge" --scale huge
expect_error "--threads" --threads 0

# Numbers out of range: an integer beyond the type it is stored in (never truncated), a number
# beyond a double (nlohmann's own message names neither key nor file).
printf '{"config": {"model": {"d_model": 4294967360}}, "scales": {"tiny": {}}}' >"$tmp/wide_int.json"
printf '{"config": {"optim": {"lr": 1e400}}, "scales": {"tiny": {}}}' >"$tmp/overflow.json"
expect_error "model.d_model: 4294967360 is out of range: at most 2147483647" model.d_model=4294967360
expect_error "train.steps: 4294967297 is out of range" train.steps=4294967297
expect_error "model.d_model: 4294967360 is out of range" --preset "$tmp/wide_int.json"
expect_error "optim.lr: the number 1e400 is out of range" optim.lr=1e400
expect_error "$tmp/overflow.json: /config/optim/lr: the number 1e400 is out of range" \
  --preset "$tmp/overflow.json"

# data.path must be a regular file (a device or a FIFO would be read forever), of at most 1 GiB.
mkfifo "$tmp/fifo"
truncate -s $((1024 * 1024 * 1024 + 1)) "$tmp/big.txt"  # sparse: takes no disk space
expect_error "data.path: '/dev/zero' is not a regular file" data.source=text data.path=/dev/zero
expect_error "data.path: '$tmp/fifo' is not a regular file" data.source=text data.path="$tmp/fifo"
expect_error "'$tmp/big.txt' is 1073741825 bytes, above the byte-level loader's limit of 1073741824" \
  data.source=text data.path="$tmp/big.txt"

# --init-from a checkpoint holding a NaN: refused at load, naming the file and the tensor.
if "$wdlab" run -q --out "$tmp/ckpt_run" --save train.steps=2 train.eval_every=2 \
  train.eval_batches=1 data.train_tokens=4096 data.val_tokens=1024 >/dev/null 2>"$tmp/err"; then
  cp "$tmp/ckpt_run/model.safetensors" "$tmp/nan.safetensors"
  header=$(od -An -tu8 -N8 "$tmp/nan.safetensors" | tr -d ' ')
  # The second float of the first tensor (transformer.wte.weight) becomes a quiet NaN.
  printf '\x00\x00\xc0\x7f' |
    dd of="$tmp/nan.safetensors" bs=1 seek=$((8 + header + 4)) conv=notrunc status=none
  expect_error "$tmp/nan.safetensors: tensor 'transformer.wte.weight' holds 1 non-finite value" \
    --init-from "$tmp/nan.safetensors"
else
  echo "FAIL: could not write a checkpoint to corrupt:"; cat "$tmp/err"; failures=$((failures + 1))
fi

# An existing run directory is never overwritten without --force, and stays as it was.
mkdir -p "$tmp/existing" && echo keep >"$tmp/existing/summary.json"
if "$wdlab" run --out "$tmp/existing" -q 2>"$tmp/err"; then
  echo "FAIL: run into a non-empty --out succeeded"; failures=$((failures + 1))
elif [[ $(cat "$tmp/existing/summary.json") != keep ]] || ! grep -q -- "--force" "$tmp/err"; then
  echo "FAIL: existing results touched or no hint about --force"; failures=$((failures + 1))
else
  echo "ok   [non-empty --out] -> $(cat "$tmp/err")"
fi

echo "$failures failed"
[[ $failures -eq 0 ]]
