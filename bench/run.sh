#!/usr/bin/env bash
# The benchmark of issue 5 in one command: builds wdlab_bench (Release, in build-bench/, that
# target only), runs it and the PyTorch baseline (bench/torch_bench.py) on the same shapes, and
# writes bench/RESULTS.md and bench/results.json (atomically). Method: bench/README.md.
#
#   bench/run.sh            full run: tiny, small, base, large (about 45 min on 2 cores)
#   bench/run.sh --quick    tiny and small, fewer steps (a few minutes)
#   options passed on to both benches: --families gpt2,llama,mixtral  --shapes tiny,small,...
set -euo pipefail
cd "$(dirname "$0")/.."

quick=()
select=()
while (($#)); do
  case $1 in
    --quick) quick=(--quick) ;;
    --families | --shapes)
      (($# >= 2)) || { echo "run.sh: $1 needs a value" >&2; exit 2; }
      select+=("$1" "$2")
      shift
      ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (--quick, --families, --shapes)" >&2; exit 2 ;;
  esac
  shift
done

build=build-bench
out=$build/bench-out
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWDLAB_BUILD_BENCH=ON \
  -DWDLAB_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target wdlab_bench --parallel 2
mkdir -p "$out"
rm -f "$out/wdlab.json" "$out/torch.json"

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

/usr/bin/python3 bench/make_report.py "${quick[@]}" --wdlab "$out/wdlab.json" \
  --torch "$out/torch.json" --out-dir bench --elapsed "$SECONDS" >/dev/null
echo "run.sh: wrote bench/RESULTS.md and bench/results.json in $((SECONDS / 60)) min $((SECONDS % 60)) s"
