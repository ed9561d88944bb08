#!/usr/bin/env bash
# Builds everything and runs the tests: the README's second quick-start command, and what CI runs.
#   bash run_tests.sh            unit, slow (≈ 40 s here), docs and short fuzz tests, then the unit
#                                tests again under ASan + UBSan, built with Clang
#   bash run_tests.sh --fast     without the tests labelled 'slow'
#   bash run_tests.sh --no-sanitize   skip the sanitizer pass
# Build trees: build/ (Release, GCC) and build-sanitize/ (Debug, ASan+UBSan, Clang).
set -euo pipefail
cd "$(dirname "$0")"

slow=1
sanitize=1
for arg in "$@"; do
  case "$arg" in
    --fast) slow=0 ;;
    --no-sanitize) sanitize=0 ;;
    *) echo "usage: bash run_tests.sh [--fast] [--no-sanitize]" >&2; exit 2 ;;
  esac
done

bash ./install_deps.sh
jobs=$(nproc)

echo "== Release build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
labels='unit|docs|fuzz'
if ((slow)); then labels='unit|docs|fuzz|slow'; fi
ctest --test-dir build -L "$labels" -j"$jobs" --output-on-failure --timeout 900

if ((sanitize)); then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer build (Clang) and tests"
  # Clang, not GCC: it builds this tree with the sanitizers in about half of GCC's time (6.5 against
  # 12 minutes here), and a second compiler catches what one lets through.
  # nvcc code cannot be sanitized and the Release pass already builds it: no CUDA here.
  cmake -S . -B build-sanitize -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
        -DCMAKE_BUILD_TYPE=Debug -DTRANSCENDENCE_SANITIZE=ON \
        -DTRANSCENDENCE_BUILD_DOCS=OFF -DTRANSCENDENCE_BUILD_BENCHMARKS=OFF \
        -DTRANSCENDENCE_BUILD_INTEGRITY_TESTS=OFF -DCMAKE_DISABLE_FIND_PACKAGE_CUDAToolkit=ON >/dev/null
  cmake --build build-sanitize -j"$jobs"
  # Compile-fail tests do not run our code: the Release pass covers them.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-sanitize -L unit -LE 'compile_fail|sanitize_skip' -j"$jobs" \
          --output-on-failure --timeout 1800
fi
echo "run_tests.sh: all tests passed"
