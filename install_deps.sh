#!/usr/bin/env bash
# Installs, from Debian 12 packages only, whatever transcendence needs and is missing.
# Idempotent: a second run installs nothing. Usage: bash install_deps.sh [--bench]
#   --bench  also installs the PyTorch anchor used by the transformer benchmark.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libeigen3-dev libxtensor-dev libxsimd-dev
  libdnnl-dev ocl-icd-opencl-dev
  libboost-test-dev
  clang libclang-rt-dev libomp-dev
  libzstd-dev zstd nlohmann-json3-dev libcli11-dev
  libopenmpi-dev openmpi-bin
  doxygen graphviz gnuplot-nox
  stockfish
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(libbenchmark-dev python3-torch libopenblas0-openmp)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install_deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
