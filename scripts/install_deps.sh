#!/usr/bin/env bash
# Installs the Debian packages embedrank needs to build, test and run.
# Idempotent and quiet when everything is already installed.
set -euo pipefail

packages=(
  cmake g++ make pkgconf
  libeigen3-dev
  catch2 libbenchmark-dev
  python3 python3-numpy python3-pytest
  # the Python package (python/): pybind11 and the headers to build it, pandas
  # for UserKnn.fit(DataFrame), venv + setuptools + wheel for `pip install ./python`
  pybind11-dev python3-dev python3-pandas python3-venv python3-setuptools python3-wheel
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
