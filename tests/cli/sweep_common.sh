# Shared by the sweep CLI tests: a temporary directory and a tiny, fast sweep spec.
# Usage: source sweep_common.sh path/to/wdlab
wdlab=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# write_spec FILE STEPS: gpt2 tiny, {coupled, decoupled} x seeds {1, 2}: 4 short runs.
write_spec() {
  cat >"$1" <<JSON
{
  "description": "cli test",
  "base": {
    "preset": "gpt2",
    "scale": "tiny",
    "overrides": {"train.steps": $2, "train.log_every": 2, "train.eval_every": 4,
                  "train.eval_batches": 1, "optim.warmup_steps": 2,
                  "data.train_tokens": 8192, "data.val_tokens": 2048}
  },
  "grid": {"optim.decay_mode": ["coupled", "decoupled"]},
  "seeds": [1, 2]
}
JSON
}

# A fingerprint of every result file: path, inode and modification time.
fingerprint() {
  find "$1" -type f ! -name '*.md' ! -name '*.csv' ! -name '*.svg' ! -name sweep.json \
    ! -path '*/.locks/*' -printf '%p %i %T@\n' | sort
}

fail() {
  echo "FAIL: $*"
  exit 1
}
