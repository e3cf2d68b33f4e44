#!/usr/bin/env bash
# `wdlab completion bash`: the script loads in bash, registers itself for wdlab and completes
# subcommands, options and values from the CLI's own definitions. `wdlab presets --format json`
# and `wdlab inspect --format json` print JSON that a script can read.
# Usage: completion_and_json.sh path/to/wdlab
set -eu
wdlab=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

fail() {
  echo "FAIL: $*"
  exit 1
}

"$wdlab" completion bash >wdlab.bash
bash -n wdlab.bash || fail "the completion script is not valid bash"
# complete COMMAND-LINE...: the candidates bash would offer for the last word.
cat >complete.sh <<'SH'
source "$1"
shift
complete -p wdlab
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_wdlab
printf '%s\n' "${COMPREPLY[@]}"
SH
out=$(bash complete.sh wdlab.bash wdlab sw)
grep -qx "complete -F _wdlab wdlab" <<<"$out" || { echo "$out"; fail "complete -p wdlab"; }
[[ $(sed 1d <<<"$out") == sweep ]] || { echo "$out"; fail "wdlab sw does not complete to sweep"; }
bash complete.sh wdlab.bash wdlab run --th | grep -qx -- --threads || fail "run --th"
bash complete.sh wdlab.bash wdlab sweep x.json --tens | grep -qx -- --tensorboard ||
  fail "sweep --tensorboard"
bash complete.sh wdlab.bash wdlab run --preset lla | grep -qx llama || fail "--preset lla"
bash complete.sh wdlab.bash wdlab inspect --format j | grep -qx json || fail "--format j"
bash complete.sh wdlab.bash wdlab run optim.decay_m | grep -qx optim.decay_mode= ||
  fail "run optim.decay_m"
bash complete.sh wdlab.bash wdlab completion b | grep -qx bash || fail "completion b"
"$wdlab" completion zsh >/dev/null 2>err.txt && fail "completion zsh was accepted"
grep -q "zsh" err.txt || { cat err.txt; fail "completion zsh: no clear error"; }

"$wdlab" presets --format json >presets.json
"$wdlab" inspect --preset llama --format json >inspect.json
/usr/bin/python3 - presets.json inspect.json <<'PY' || fail "presets/inspect JSON"
import json, sys
presets = json.load(open(sys.argv[1]))
names = [p["name"] for p in presets]
assert "gpt2" in names and "mixtral" in names, names
gpt2 = presets[names.index("gpt2")]
assert "tiny" in gpt2["scales"] and gpt2["description"] and gpt2["file"].endswith("gpt2.json"), gpt2
table = json.load(open(sys.argv[2]))
assert table["preset"] == "llama" and table["scale"] == "tiny", table.keys()
kinds = {t["kind"] for t in table["tensors"]}
assert "norm_gain" in kinds and "matrix" in kinds, kinds
assert sum(t["numel"] for t in table["tensors"]) == table["parameters"]
sel = table["groups"]["selective"]
assert sel["decay"]["parameters"] + sel["no_decay"]["parameters"] == table["parameters"]
assert all(t["selective"] == "no_decay" for t in table["tensors"] if t["kind"] == "norm_gain")
assert all(t["uniform"] == "decay" for t in table["tensors"])
PY
"$wdlab" presets | grep -q '^gpt2' || fail "text output of presets changed"
echo "completion and json: ok"
