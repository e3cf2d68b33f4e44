#!/usr/bin/env bash
# `wdlab export DIR`: a sweep (and a single run) as runs.csv and metrics.csv, read back with
# Python's csv module and, where installed, pandas. Unreadable files are skipped with a warning;
# a directory that is neither a sweep nor a run is refused and nothing is written.
set -u
source "$(dirname "$0")/sweep_common.sh" "$1"

write_spec spec.json 6
"$wdlab" -q sweep spec.json --out sw --jobs 2 >/dev/null 2>&1 || fail "the sweep failed"
"$wdlab" export sw >log.txt 2>&1 || { cat log.txt; fail "export failed"; }
grep -q "runs.csv: 4 runs" log.txt || { cat log.txt; fail "export did not count 4 runs"; }
[[ -s sw/runs.csv && -s sw/metrics.csv ]] || fail "no CSV files"
head -3 sw/runs.csv
head -4 sw/metrics.csv

/usr/bin/python3 - <<'PY' || fail "the CSV files do not hold the sweep"
import csv, json, os
runs = list(csv.DictReader(open("sw/runs.csv", newline="")))
names = sorted(d for d in os.listdir("sw") if os.path.isdir(os.path.join("sw", d)) and not d.startswith("."))  # .locks: the sweep's locks
assert [r["run"] for r in runs] == names, ([r["run"] for r in runs], names)
# The keys that vary, and only those: the grid's and the seed (axis order).
header = list(runs[0].keys())
assert header[1:3] == ["optim.decay_mode", "seed"], header
assert "optim.decay_scaling" in header, header  # null for coupled, set for decoupled
assert "train.steps" not in header, header
for r in runs:
    s = json.load(open(os.path.join("sw", r["run"], "summary.json")))
    assert r["status"] == s["status"] == "finished", r
    assert r["config_id"] == s["config_id"]
    assert float(r["final_val_loss"]) == s["final_val_loss"], (r["final_val_loss"], s)
# Long format: every number of every metrics.jsonl line, as logged.
rows = list(csv.DictReader(open("sw/metrics.csv", newline="")))
assert list(rows[0].keys()) == ["run", "step", "key", "value"]
expected = 0
for n in names:
    for line in open(os.path.join("sw", n, "metrics.jsonl")):
        expected += sum(1 for k, v in json.loads(line).items()
                        if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool))
assert len(rows) == expected, (len(rows), expected)
val = {(r["run"], int(r["step"])): float(r["value"]) for r in rows if r["key"] == "val_loss"}
first = json.loads(open(os.path.join("sw", names[0], "metrics.jsonl")).readline())
assert val[(names[0], 0)] == first["val_loss"]
assert any(r["key"] == "time_s" for r in rows)
print("csv: %d runs, %d metric rows" % (len(runs), len(rows)))
PY
if /usr/bin/python3 -c 'import pandas' 2>/dev/null; then
  /usr/bin/python3 - <<'PY' || fail "pandas cannot use the CSV files"
import pandas as pd
runs = pd.read_csv("sw/runs.csv")
metrics = pd.read_csv("sw/metrics.csv")
wide = metrics.pivot_table(index=["run", "step"], columns="key", values="value")
final = wide["val_loss"].dropna().groupby(level="run").last()
joined = runs.set_index("run")["final_val_loss"]
assert (final.sort_index() == joined.sort_index()).all(), (final, joined)
print("pandas:", runs.shape, metrics.shape, "; mean final val loss by decay mode:",
      runs.groupby("optim.decay_mode")["final_val_loss"].mean().round(4).to_dict())
PY
else
  echo "pandas not installed: read with the csv module only"
fi

# One run directory; --out elsewhere.
one=$(ls -d sw/0*/ | head -1)
"$wdlab" -q export "$one" --out single || fail "export of a run directory failed"
/usr/bin/python3 - <<'PY' || fail "single run export"
import csv
rows = list(csv.DictReader(open("single/runs.csv", newline="")))
assert len(rows) == 1 and rows[0]["train.steps"] == "6" and rows[0]["status"] == "finished", rows
PY

# A torn summary.json and metrics line: skipped with a warning, the run counted as unfinished.
two=$(ls -d sw/0*/ | sed -n 2p)
echo '{"status": "fini' >"$two/summary.json"
echo '{"step": 7, "train_lo' >>"$two/metrics.jsonl"
"$wdlab" export sw --out torn >log.txt 2>&1 || { cat log.txt; fail "export with a torn file failed"; }
grep -q "metrics.jsonl:.*skipped" log.txt || { cat log.txt; fail "no warning for the torn line"; }
grep -q "^\"\?$(basename "$two").*,unfinished," torn/runs.csv || { cat torn/runs.csv; fail "torn run's status"; }

# Neither a sweep nor a run: a clear error, nothing written.
mkdir empty
code=0
"$wdlab" export empty 2>err.txt || code=$?
[[ $code == 1 ]] || fail "export of an empty directory: exit $code"
grep -q "neither a sweep directory" err.txt || { cat err.txt; fail "error message"; }
[[ ! -e empty/runs.csv && ! -e empty/metrics.csv ]] || fail "a refused export wrote files"
echo "export: ok"
