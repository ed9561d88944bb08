#!/usr/bin/env bash
# The main job: the README's first quick-start command.
# Builds the example programs and runs, in order, the toy theory demo (toy_majority_vote) and the
# chess transcendence experiment when it is built. Results go to out/ (override: OUT=dir).
set -euo pipefail
cd "$(dirname "$0")"
out=${OUT:-out}

bash ./install_deps.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs" --target toy_majority_vote

echo "== The theory, executable: experts, mixtures and temperature (toy_majority_vote)"
./build/examples/toy_majority_vote/toy_majority_vote --out "$out/toy"

if [[ -d examples/chess_transcendence ]]; then
  cmake --build build -j"$jobs" --target chess_transcendence
  echo "== The chess transcendence experiment (chess_transcendence, default preset)"
  ./build/examples/chess_transcendence/chess_transcendence --preset default --out "$out/chess"
fi
echo "run_experiment.sh: results in $out/"
