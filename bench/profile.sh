#!/usr/bin/env bash
# Where a run's time goes: `wdlab run` under `perf record` (sampling, no call graphs), its samples
# grouped into what they are (sgemm micro-kernels, sgemm packing, memset, libm, each element-wise
# layer, the optimizer, data set-up) by bench/profile_report.py. The run's synthetic data come from
# a data cache filled beforehand, as a sweep's runs get them, so the profile is the steady state.
#
#   bench/profile.sh gpt2 tiny                        one run: the preset, its scale, 300 steps
#   bench/profile.sh --steps 40 grok1 small           fewer steps for a slow shape
#   bench/profile.sh --threads 2 llama tiny train.batch_size=16     overrides go to `wdlab run`
#   bench/profile.sh --issue15     the shapes behind issue 15's missed targets, into
#                                  bench/issue15/PROFILE.md (about 3 min on an idle machine)
#
# Needs `perf` (apt-get install linux-perf) and permission to use it (root, or
# kernel.perf_event_paranoid <= 1). Samples are CPU time of the process's own threads, so a busy
# machine changes the absolute time but little of the shares.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=1
steps=300
issue15=0
args=()
while (($#)); do
  case $1 in
    --threads | --steps)
      (($# >= 2)) || { echo "profile.sh: $1 needs a value" >&2; exit 2; }
      [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "profile.sh: $1 must be a positive integer, got '$2'" >&2; exit 2; }
      [[ $1 == --threads ]] && threads=$2 || steps=$2
      shift
      ;;
    --issue15) issue15=1 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "profile.sh: unknown option $1 (--threads, --steps, --issue15)" >&2; exit 2 ;;
    *) args+=("$1") ;;
  esac
  shift
done
if ((issue15 == 0 && ${#args[@]} < 2)); then
  echo "profile.sh: give PRESET SCALE [key=value ...], or --issue15 (--help)" >&2
  exit 2
fi
command -v perf >/dev/null || { echo "profile.sh: perf not found (apt-get install linux-perf)" >&2; exit 1; }

build=build-bench
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWDLAB_BUILD_BENCH=ON \
  -DWDLAB_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target wdlab --parallel 2 >/dev/null
wdlab=$(realpath "$build/wdlab")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# profile NAME STEPS PRESET SCALE [overrides...]: writes $work/NAME.txt (perf's flat report).
profile() {
  local name=$1 n=$2 preset=$3 scale=$4
  shift 4
  export WDLAB_DATA_CACHE=$work/cache
  # Fill the data cache first (and fail early on a bad config).
  "$wdlab" -q run --preset "$preset" --scale "$scale" --threads "$threads" --out "$work/$name-warm" \
    "$@" train.steps=1 >/dev/null
  perf record -q -F 999 -o "$work/$name.data" -- "$wdlab" -q run --preset "$preset" \
    --scale "$scale" --threads "$threads" --out "$work/$name-run" "$@" train.steps="$n" >/dev/null 2>&1
  perf report -q -i "$work/$name.data" --no-children --sort dso,symbol --stdio -g none \
    --percent-limit 0 2>/dev/null >"$work/$name.txt"
  unset WDLAB_DATA_CACHE
}

report=(/usr/bin/python3 bench/profile_report.py)
if ((issue15)); then
  # The sweep level's runs (bench/issue15-sweep.json: the quickstart's overrides), the tiny
  # shape's share of the sgemm peak, and Grok-1 small (the weakest ratio).
  quickstart=(data.train_tokens=16384 train.eval_every=100 train.eval_batches=16 train.log_every=50
    optim.decay_mode=decoupled optim.weight_decay=1)
  profile gpt2-quickstart 600 gpt2 tiny "${quickstart[@]}"
  profile llama-quickstart 600 llama tiny "${quickstart[@]}"
  profile grok1-small 80 grok1 small train.eval_every=1000 train.log_every=20
  commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- lib app || echo "+changes")
  "${report[@]}" --title "wdlab $commit, $threads thread(s), $(date -u '+%Y-%m-%d %H:%M UTC')" \
    --out bench/issue15/PROFILE.md \
    "GPT-2 tiny, a sweep-level run (600 of its 1500 steps, its evaluations)=$work/gpt2-quickstart.txt" \
    "LLaMA tiny, a sweep-level run (600 of its 1500 steps, its evaluations)=$work/llama-quickstart.txt" \
    "Grok-1 small (80 steps; start-up included)=$work/grok1-small.txt"
  echo "profile.sh: wrote bench/issue15/PROFILE.md"
else
  profile run "$steps" "${args[@]}"
  "${report[@]}" --title "wdlab run --preset ${args[0]} --scale ${args[1]} --threads $threads" \
    "${args[*]} ($steps steps)=$work/run.txt"
fi
