#!/usr/bin/env bash
# Bad specs and bad command-line axes: non-zero exit, an error naming the file and the JSON path
# (or the argument), and existing results left exactly as they were.
# Usage: sweep_bad_spec.sh path/to/wdlab
set -u
source "$(dirname "$0")/sweep_common.sh" "$1"
write_spec good.json 4
"$wdlab" sweep good.json --out results/good >good.log 2>&1 || { cat good.log; fail "good sweep failed"; }
before=$(fingerprint results)
failures=0

# expect_error NEEDLE SPEC [ARGS...]
expect_error() {
  local needle=$1
  shift
  "$wdlab" sweep "$@" --out results/good >out.txt 2>err.txt
  local rc=$?
  if [[ $rc -eq 0 ]]; then
    echo "FAIL [$*]: exit code 0"; failures=$((failures + 1)); return
  fi
  if ! grep -qF -- "$needle" err.txt; then
    echo "FAIL [$*]: error does not mention '$needle':"; cat err.txt; failures=$((failures + 1)); return
  fi
  if [[ $(fingerprint results) != "$before" ]] || [[ $(ls results) != good ]]; then
    echo "FAIL [$*]: results changed"; failures=$((failures + 1)); return
  fi
  echo "ok   [$*] -> $(head -1 err.txt)"
}

printf '{"base": {"preset": "gpt2"' >malformed.json
echo '{"base": {"preset": "gpt2"}, "grid": {"optim.weight_decy": [0.1]}}' >unknown_key.json
echo '{"base": {"preset": "gpt2"}, "grid": {"optim.lr": [0.001, "fast"]}}' >bad_value.json
echo '{"base": {"preset": "gpt2"}, "zip": [{"optim.lr": [0.001, 0.002], "seed": [1]}]}' >zip.json
echo '{"base": {"preset": "no_such_preset"}}' >preset.json
echo '{"base": {"preset": "gpt2"}, "seeds": [1], "grids": {}}' >top_key.json
echo '{"base": {"preset": "gpt2", "scale": "tiny"}, "grid": {"optim.lr": [0]}}' >range.json
echo '{"base": {"preset": "gpt2", "scale": "tiny"}, "grid": {"optim.lr": [1e400]}}' >overflow.json
echo '{"base": {"preset": "gpt2", "scale": "tiny"}, "grid": {"train.steps": [4294967297]}}' >wide.json

expect_error "malformed.json: malformed JSON" malformed.json
expect_error "unknown_key.json: /grid/optim.weight_decy: " unknown_key.json
expect_error "bad_value.json: /grid/optim.lr/1: " bad_value.json
expect_error "zip.json: /zip/0/seed: " zip.json
expect_error "preset.json: /base/preset: unknown preset 'no_such_preset'" preset.json
expect_error "top_key.json: /grids: unknown key" top_key.json
expect_error "optim.lr: must be positive" range.json
expect_error "overflow.json: /grid/optim.lr/0: the number 1e400 is out of range" overflow.json
expect_error "train.steps: 4294967297 is out of range" wide.json
expect_error "command line 'optim.lr=1e400': the number 1e400 is out of range" good.json optim.lr=1e400
expect_error "missing.json: no such sweep spec" missing.json
expect_error "optim.weight_decay=abc" good.json optim.weight_decay=abc
expect_error "'nokey': expected key=value" good.json nokey
# The same directory names with a different config would overwrite finished runs.
expect_error "--force" good.json train.steps=5

echo "$failures failed"
[[ $failures -eq 0 ]]
