#!/usr/bin/env bash
# A run's provenance: run.json (command line, working directory, host, threads, the git commit
# wdlab was built from, start and end times; one entry per invocation, --resume included), "time_s"
# in every metrics.jsonl row (monotonic across a resume), and --init-from: the file and its
# SHA-256 in config.json, in the config id (a sweep sees such a run as another config), and a
# run from a weights file resumes like any other.
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
# value FILE DOTTED.KEY: a value of a JSON file (lists indexed by number).
value() {
  /usr/bin/python3 -c 'import json,sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v = v[int(k)] if isinstance(v, list) else v[k]
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}
# time_ok FILE: every metrics row has a time_s, and they never decrease.
time_ok() {
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
t = [json.loads(l)["time_s"] for l in open(sys.argv[1])]
assert len(t) > 2 and all(b >= a for a, b in zip(t, t[1:])) and t[0] >= 0, t
PY
}
iso='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'

# run.json of a plain run, started from a subdirectory.
mkdir sub
(cd sub && "$wdlab" -q run --preset gpt2 --scale tiny train.steps=12 train.log_every=2 --threads 2 --out ../plain)
[[ $(value plain/run.json status) == finished ]] || fail "run.json status"
[[ $(value plain/run.json invocations.0.cwd) == "$(pwd -P)/sub" ]] || fail "cwd: $(value plain/run.json invocations.0.cwd)"
[[ $(value plain/run.json invocations.0.host) == "$(hostname)" ]] || fail "host"
[[ $(value plain/run.json invocations.0.threads) == 2 ]] || fail "threads"
[[ $(value plain/run.json invocations.0.argv.1) == -q && $(value plain/run.json invocations.0.argv.2) == run ]] ||
  fail "argv: $(value plain/run.json invocations.0.argv)"
[[ $(value plain/run.json invocations.0.executable) == "$(readlink -f "$wdlab")" ]] || fail "executable"
for k in started ended invocations.0.start invocations.0.end; do
  [[ $(value plain/run.json $k) =~ $iso ]] || fail "$k: $(value plain/run.json $k) is not UTC ISO 8601"
done
[[ $(value plain/run.json config_id) == $(value plain/config.json wdlab.config_id) ]] || fail "config_id"
[[ $(value plain/run.json init_from) == null ]] || fail "init_from of a run from the seed"
# The build's commit: the one --version names; a hash, or "unknown" outside a git checkout.
commit=$(value plain/run.json invocations.0.git_commit)
[[ $commit =~ ^[0-9a-f]{40}$ || $commit == unknown ]] || fail "git_commit: $commit"
"$wdlab" --version | grep -q "$commit" || fail "--version does not name $commit"
dirty=$(value plain/run.json invocations.0.git_dirty)
[[ $dirty == true || $dirty == false ]] || fail "git_dirty: $dirty"
if [[ $dirty == true ]]; then "$wdlab" --version | grep -q dirty || fail "--version hides dirty"; fi
time_ok plain/metrics.jsonl || fail "plain: time_s"
# Provenance is not config: config.json carries no run record.
grep -q '"argv"\|"host"\|"cwd"' plain/config.json && fail "provenance in config.json"

# --init-from: the file's path and SHA-256 in config.json, and another config id.
"$wdlab" -q run --preset gpt2 --scale tiny train.steps=5 --save --out base
sha=$(sha256sum base/model.safetensors | cut -d' ' -f1)
args=(--preset gpt2 --scale tiny train.steps=200 train.log_every=10 train.eval_every=50
      train.checkpoint_every=40)
"$wdlab" -q run "${args[@]}" --init-from base/model.safetensors --save --out init-ref
[[ $(value init-ref/config.json wdlab.init_from.sha256) == "$sha" ]] || fail "init_from.sha256"
[[ $(value init-ref/config.json wdlab.init_from.path) == "$tmp/base/model.safetensors" || \
   $(value init-ref/config.json wdlab.init_from.path) == "$(pwd -P)/base/model.safetensors" ]] ||
  fail "init_from.path: $(value init-ref/config.json wdlab.init_from.path)"
[[ $(value init-ref/run.json init_from.sha256) == "$sha" ]] || fail "run.json init_from"
"$wdlab" -q run "${args[@]}" --out scratch-200
[[ $(value init-ref/config.json wdlab.config_id) != $(value scratch-200/config.json wdlab.config_id) ]] ||
  fail "a run from a checkpoint has the config id of a run from scratch"
[[ $(value init-ref/summary.json config_id) == $(value init-ref/config.json wdlab.config_id) ]] ||
  fail "summary.json and config.json ids differ"

# A run from a weights file, interrupted and resumed: the same results as uninterrupted (the
# checkpoint carries the id with the file's hash), two invocations, time_s monotonic.
"$wdlab" -q run "${args[@]}" --init-from base/model.safetensors --save --out init-cut &
pid=$!
pids+=("$pid")
for _ in $(seq 600); do
  [[ -s init-cut/checkpoint.safetensors ]] && grep -q '"step":[5-9]0,' init-cut/metrics.jsonl 2>/dev/null && break
  sleep 0.05
done
kill -INT "$pid"
code=0
wait "$pid" || code=$?
[[ $code == 130 ]] || fail "the interrupted run exited $code (it finished too soon?)"
[[ $(value init-cut/run.json status) == interrupted ]] || fail "run.json of the interrupted run"
[[ $(value init-cut/run.json ended) =~ $iso ]] || fail "no end time after the interrupt"
"$wdlab" -q run --resume init-cut
[[ $(value init-cut/run.json status) == finished ]] || fail "run.json after the resume"
[[ $(value init-cut/run.json invocations.1.argv.3) == --resume && \
   $(value init-cut/run.json invocations.1.argv.4) == init-cut ]] || fail "resume argv"
[[ $(value init-cut/run.json invocations.1.from_step) -gt 0 ]] || fail "from_step"
[[ $(value init-cut/run.json started) == $(value init-cut/run.json invocations.0.start) ]] || fail "started"
time_ok init-cut/metrics.jsonl || fail "time_s goes back after the resume"
cmp -s <(without_timings init-ref/metrics.jsonl) \
  <(without_timings init-cut/metrics.jsonl) ||
  fail "the resumed run from a weights file differs from the uninterrupted one"
cmp -s init-ref/model.safetensors init-cut/model.safetensors || fail "final weights differ"

# A sweep: a run from a weights file in a run's directory is another config (a conflict), the
# same run from scratch is that run (done).
cat >spec.json <<'JSON'
{"base": {"preset": "gpt2", "scale": "tiny", "overrides": {"train.steps": 4}},
 "grid": {"optim.decay_mode": ["coupled", "decoupled"]}}
JSON
"$wdlab" -q sweep spec.json --out sw --jobs 1 >/dev/null 2>&1 || fail "the sweep failed"
run0=$(/usr/bin/python3 -c 'import json; print(json.load(open("sw/sweep.json"))["runs"][0]["name"])')
mapfile -t cmd < <("$wdlab" sweep spec.json --out sw --dry-run --format json |
  /usr/bin/python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["runs"][0]["command"][1:]))')
"$wdlab" -q "${cmd[@]}" --force --init-from base/model.safetensors
"$wdlab" sweep spec.json --out sw --dry-run >plan.txt
grep -q "conflict: sw/$run0: holds a finished run of another config" plan.txt ||
  { cat plan.txt; fail "the sweep took a run from a weights file for its own"; }
"$wdlab" -q "${cmd[@]}" --force
"$wdlab" sweep spec.json --out sw --dry-run >plan.txt
grep -q conflict plan.txt && { cat plan.txt; fail "the same run from scratch is a conflict"; }
grep -q "$run0" plan.txt && grep "$run0" plan.txt | grep -q done || { cat plan.txt; fail "not done"; }
echo "run_records: ok"
