#!/usr/bin/env bash
# A sweep builds the synthetic data once (its .cache/data/) and every run trains on the same bits
# as a plain `wdlab run` without the cache: metrics, norms, summary and final weights identical
# (timings aside); a damaged cache entry is rebuilt, never trusted. Usage: sweep_data_cache.sh wdlab
set -eu
here=$(cd "$(dirname "$0")" && pwd)
source "$here/sweep_common.sh" "$1"
source "$here/timings.sh"
write_spec tiny.json 6

# compare RUN_DIR: the sweep's run against the same config run plainly (no cache).
compare() {
  local dir=$1 plain=$tmp/plain-$(basename "$1")
  local overrides
  overrides=$(python3 -c 'import json,sys; r=[r for r in json.load(open(sys.argv[1]))["runs"] if r["name"]==sys.argv[2]][0]; print(" ".join(r["overrides"]))' sw/sweep.json "$(basename "$dir")")
  local threads  # as the sweep ran it (--jobs 1 gives the run both cores)
  threads=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wdlab"]["threads"])' "$dir/config.json")
  # shellcheck disable=SC2086
  env -u WDLAB_DATA_CACHE "$wdlab" run --preset gpt2 --scale tiny --out "$plain" --force --threads "$threads" \
    $overrides >/dev/null 2>&1 || fail "plain run of $dir"
  for f in metrics.jsonl tensor_norms.jsonl; do
    cmp -s <(without_timings "$dir/$f") <(without_timings "$plain/$f") || fail "$dir/$f differs"
  done
  cmp -s <(grep -v -e wall_seconds -e tokens_per_s "$dir/summary.json") \
    <(grep -v -e wall_seconds -e tokens_per_s "$plain/summary.json") || fail "$dir/summary.json differs"
}

"$wdlab" sweep tiny.json --out sw --jobs 1 >/dev/null 2>&1 || fail "sweep"
entries=(sw/.cache/data/synthetic-*.bin)
[[ ${#entries[@]} -eq 1 && -s ${entries[0]} ]] || fail "expected one cache entry, got ${entries[*]}"
grep -q "synthetic streams built and stored in the cache" sw/000_*/log.txt || fail "first run did not store"
for d in sw/00[1-3]_*; do
  grep -q "synthetic streams read from the cache" "$d/log.txt" || fail "$d did not read the cache"
done
for d in sw/00[0-3]_*; do compare "$d"; done

# A damaged entry (one flipped byte in the tokens) is noticed, rebuilt and rewritten whole.
cp "${entries[0]}" good.bin
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[len(b)//2]^=1; open(sys.argv[1],"wb").write(b)' "${entries[0]}"
"$wdlab" sweep tiny.json --out sw --jobs 1 --force >/dev/null 2>&1 || fail "sweep --force"
grep -q "unusable (checksum mismatch)" sw/000_*/log.txt || fail "the damage went unnoticed"
cmp -s good.bin "${entries[0]}" || fail "the entry was not rebuilt whole"
for d in sw/00[0-3]_*; do compare "$d"; done
echo "sweep_data_cache: ok"
