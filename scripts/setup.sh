#!/usr/bin/env bash
# Sets up and builds wdlab (Release) in build/.
#   - installs the Debian packages it needs when run as root (prints the apt-get line otherwise);
#   - configures with CMake + Ninja and builds everything (CLI, tests, benchmarks).
# Usage: scripts/setup.sh [--sanitize | --tsan | --fuzz] [TARGET...]
#   --sanitize  builds build-asan/ with ASan + UBSan instead
#   --tsan      builds the multi-threaded tests (test_data_parallel, test_optimizer) into
#               build-tsan/ with ThreadSanitizer instead
#   --fuzz      builds the libFuzzer targets of fuzz/ into build-fuzz/ with clang, ASan + UBSan
#               instead (run them with scripts/fuzz.sh)
#   TARGET...   builds only these targets, e.g. `--sanitize unit_tests` (what `ctest -L unit`
#               runs; .ci/run does that)
# The sanitizer and fuzz builds carry line tables only (-g1): their reports still name file, line
# and inlined frames, and full debug info (-g) cost about a tenth more compile time here (GCC's
# ASan build; up to a quarter for single files; a few percent with clang).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build libcli11-dev nlohmann-json3-dev libspdlog-dev libopenblas-dev
          libgtest-dev python3-protobuf)
# clang brings libFuzzer; its runtimes (libclang-rt) are only a recommendation of it.
mode=
[[ ${1:-} == --* ]] && { mode=$1; shift; }
[[ $mode == --fuzz ]] && packages+=(clang libclang-rt-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing packages; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

build=build
flags=(-DCMAKE_BUILD_TYPE=Release)
targets=()
line_tables=-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
case $mode in
  --sanitize)
    # -O1, as AddressSanitizer's documentation advises: the same checks; with -g1 the unit_tests
    # build took 1090 core-seconds against about 2190 at -O2 -g, and `ctest -L unit` 98 against 77.
    build=build-asan
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG"
           -DWDLAB_SANITIZE=ON -DWDLAB_BUILD_BENCH=OFF)
    ;;
  --tsan)
    build=build-tsan
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "$line_tables" -DWDLAB_TSAN=ON -DWDLAB_BUILD_BENCH=OFF)
    targets=(test_data_parallel test_optimizer)
    ;;
  --fuzz)
    build=build-fuzz
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "$line_tables" -DCMAKE_CXX_COMPILER=clang++
           -DWDLAB_FUZZ=ON -DWDLAB_BUILD_TESTS=OFF -DWDLAB_BUILD_BENCH=OFF)
    targets=(fuzzers)
    ;;
  "") ;;
  *) echo "setup: unknown option $mode (--sanitize, --tsan, --fuzz)" >&2; exit 2 ;;
esac
(($#)) && targets=("$@")
only=()
((${#targets[@]})) && only=(--target "${targets[@]}")
cmake -S . -B "$build" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$build" --parallel "$(nproc)" "${only[@]}"
echo "setup: built $build/"
