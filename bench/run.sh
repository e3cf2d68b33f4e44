#!/usr/bin/env bash
# The benchmark of issue 5 in one command: builds wdlab_bench (Release, in build-bench/, that
# target only), runs it and the PyTorch baseline (bench/torch_bench.py) on the same shapes, and
# writes bench/RESULTS.md and bench/results.json (atomically). Method: bench/README.md.
#
#   bench/run.sh            full run: tiny, small, base, large (about 45 min on 2 cores)
#   bench/run.sh --quick    tiny and small, fewer steps (a few minutes)
#   bench/run.sh --issue15  issue 15's table: the quickstart and modular shapes, Mixtral and Grok-1
#                           at tiny and small, GPT-2 and LLaMA at tiny, and the sweep level
#                           (estimated 12 min on an idle 2-core machine; not yet timed whole)
#   options passed on to both benches: --families gpt2,llama,mixtral,grok1,modular
#     --shapes tiny,small,base,large,quickstart,modular  --pairs family:shape,...
#   --sweep-level           also run the sweep-level comparison (bench/torch_sweep.py)
set -euo pipefail
cd "$(dirname "$0")/.."

# Issue 15's configurations (bench/make_report.py has the same list for its targets).
issue15_pairs=gpt2:tiny,llama:tiny,mixtral:tiny,grok1:tiny,mixtral:small,grok1:small
issue15_pairs+=,gpt2:quickstart,llama:quickstart,modular:modular

quick=()
select=()
report_dir=bench # --issue15 reports to bench/issue15/, beside the full run's tables
mode=""
sweep_level=0
while (($#)); do
  case $1 in
    --quick) quick=(--quick) mode=" --quick" ;;
    --issue15) select+=(--pairs "$issue15_pairs") sweep_level=1 mode=" --issue15" report_dir=bench/issue15 ;;
    --sweep-level) sweep_level=1 ;;
    --families | --shapes | --pairs)
      (($# >= 2)) || { echo "run.sh: $1 needs a value" >&2; exit 2; }
      select+=("$1" "$2")
      mode=" (subset)"
      shift
      ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (--quick, --issue15, --sweep-level, --families, --shapes, --pairs)" >&2; exit 2 ;;
  esac
  shift
done

build=build-bench
out=$build/bench-out
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWDLAB_BUILD_BENCH=ON \
  -DWDLAB_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target wdlab_bench wdlab --parallel 2
mkdir -p "$out"
rm -f "$out/wdlab.json" "$out/torch.json" "$out/sweep.json"

bench=$build/bench/wdlab_bench
"$bench" "${quick[@]}" "${select[@]}" --models "$out/models.json"
"$bench" "${quick[@]}" "${select[@]}" --out "$out/wdlab.json"

# Debian's python3-torch is only importable by /usr/bin/python3.
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  /usr/bin/python3 bench/torch_bench.py "${quick[@]}" "${select[@]}" --models "$out/models.json" \
    --out "$out/torch.json"
else
  echo "run.sh: no PyTorch for /usr/bin/python3 (apt-get install python3-torch);" \
    "the report will have no comparison" >&2
fi

if ((sweep_level)); then
  if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    /usr/bin/python3 bench/torch_sweep.py --wdlab "$build/wdlab" --bench "$bench" \
      --spec bench/issue15-sweep.json --work "$out/sweep" --torch-results "$out/torch.json" \
      --out "$out/sweep.json"
  else
    echo "run.sh: no PyTorch for /usr/bin/python3: the sweep level is skipped" >&2
  fi
fi

/usr/bin/python3 bench/make_report.py "${quick[@]}" --wdlab "$out/wdlab.json" \
  --torch "$out/torch.json" --sweep "$out/sweep.json" --mode "$mode" --out-dir "$report_dir" \
  --elapsed "$SECONDS" >/dev/null
echo "run.sh: wrote $report_dir/RESULTS.md and $report_dir/results.json in $((SECONDS / 60)) min $((SECONDS % 60)) s"
