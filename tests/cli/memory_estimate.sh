#!/usr/bin/env bash
# The memory estimate: `wdlab config` prints it (on stderr: stdout stays the JSON config); a run
# that cannot fit is refused before it allocates anything (exit 1, one line naming both numbers
# and --allow-large, nothing written); --allow-large skips the check, and `wdlab sweep` passes it
# on to its runs.
# Usage: memory_estimate.sh path/to/wdlab
set -u
source "$(dirname "$0")/sweep_common.sh" "$1"

"$wdlab" config --preset gpt2 --scale small >config.json 2>config.err ||
  { cat config.err; fail "wdlab config failed"; }
[[ $(head -c 1 config.json) == "{" ]] || { cat config.json; fail "stdout is not the JSON config"; }
grep -q "^memory estimate: .* parameters: .*; available: " config.err ||
  { cat config.err; fail "wdlab config printed no memory estimate"; }

# d_model 2^21: about 10^14 parameters, more than any machine holds.
huge=model.d_model=2097152
"$wdlab" run --results results "$huge" >run.out 2>run.err
rc=$?
[[ $rc -eq 1 ]] || { cat run.err; fail "a run too large for memory exited $rc, expected 1"; }
[[ $(wc -l <run.err) -eq 1 ]] || { cat run.err; fail "expected a one-line error"; }
grep -q "error: the run needs an estimated .* of memory, but .* is available (.*--allow-large" \
  run.err || { cat run.err; fail "the refusal does not name both numbers and --allow-large"; }
[[ ! -e results ]] || fail "a refused run left files behind: $(ls -R results)"

# --allow-large skips the check; here the allocation itself then fails.
"$wdlab" run --results results --allow-large "$huge" >run.out 2>run.err
rc=$?
if [[ $rc -ne 1 ]] || grep -q "needs an estimated" run.err || ! grep -q "out of memory" run.err; then
  cat run.err; fail "--allow-large did not skip the check (exit $rc)"
fi
[[ ! -e results ]] || fail "a run that could not allocate left files behind"

# A sweep's run is refused by the run itself, and the sweep shows why; --allow-large is passed on.
cat >big.json <<JSON
{"base": {"preset": "gpt2", "scale": "tiny", "overrides": {"model.d_model": 2097152}}}
JSON
"$wdlab" sweep big.json --jobs 1 >sweep.log 2>&1 && fail "a sweep of a run too large succeeded"
grep -q "FAILED (exit code 1): error: the run needs an estimated" sweep.log ||
  { cat sweep.log; fail "the sweep does not show the run's refusal"; }
"$wdlab" sweep big.json --dry-run --format json --allow-large >dry.json ||
  fail "dry run failed"
grep -q '"--allow-large"' dry.json || { cat dry.json; fail "--allow-large is not passed to the runs"; }
echo "memory_estimate: ok"
