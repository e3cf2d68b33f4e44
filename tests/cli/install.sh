#!/usr/bin/env bash
# `cmake --install`: bin/wdlab and share/wdlab/configs under a prefix; the installed binary finds
# the presets installed with it, ahead of the source tree's: a preset changed (and one added)
# only in the installed copy is what it lists and runs, from any working directory.
# Usage: install.sh path/to/build-dir
set -eu
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*"
  exit 1
}
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "install"; }
exe=$tmp/prefix/bin/wdlab
share=$tmp/prefix/share/wdlab/configs
[[ -x $exe ]] || fail "no $exe"
[[ -s $share/gpt2.json && -d $share/sweeps ]] || fail "presets or sweep specs not installed in $share"
"$exe" --version | grep -q '^wdlab [0-9]' || fail "--version of the installed binary"

# Only the installed copy says so: listed, and the preset it runs.
/usr/bin/python3 - "$share" <<'PY'
import json, sys
share = sys.argv[1]
p = json.load(open(share + "/gpt2.json"))
p["description"] = "INSTALLED COPY " + p.get("description", "")
json.dump(p, open(share + "/gpt2.json", "w"))
p["name"] = "installed_probe"
json.dump(p, open(share + "/installed_probe.json", "w"))
PY
cd /
"$exe" presets >"$tmp/presets.txt"
grep -q '^gpt2 .*INSTALLED COPY' "$tmp/presets.txt" || { cat "$tmp/presets.txt"; fail "the installed gpt2.json is not the one found"; }
grep -q '^installed_probe ' "$tmp/presets.txt" || fail "a preset only in the installed copy is not listed"
"$exe" -q run --preset installed_probe --scale tiny train.steps=3 --out "$tmp/run"
grep -q '"status": "finished"' "$tmp/run/summary.json" || fail "the tiny run from the prefix"
grep -q '"preset": "installed_probe"' "$tmp/run/config.json" || fail "not the installed preset"
echo "install: ok"
