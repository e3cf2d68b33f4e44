#!/usr/bin/env bash
# `wdlab table` in its three formats: one row per preset, GPT-2's verdict (unsourced: GPT-1's value).
# Usage: table.sh path/to/wdlab
set -eu
wdlab=$1
md=$("$wdlab" table)
echo "$md" | head -1 | grep -q '^| model | λ (commonly quoted) | primary sources | applied | tensors | source | status |$'
echo "$md" | grep -q '^| gpt2 | 0.01 | .* | unsourced |$'
presets=$("$wdlab" presets | grep -vc " task preset: ")
[[ $(echo "$md" | wc -l) -eq $((presets + 2)) ]] || { echo "expected one row per preset"; exit 1; }
"$wdlab" table --format csv | head -1 | grep -q '^model,λ (commonly quoted),primary sources,applied,tensors,source,status$'
"$wdlab" table --format csv | grep -q '^gpt2,0.01,'
"$wdlab" table --format json | grep -q '"model": "gpt2"'
if "$wdlab" table --format xml 2>/dev/null; then echo "accepted --format xml"; exit 1; fi
echo "table: ok"
