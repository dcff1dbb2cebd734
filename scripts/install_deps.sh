#!/usr/bin/env bash
# Installs the Debian packages embedrank needs to build, test and run:
#   ./scripts/install_deps.sh [--spark] [--serve] [MORE_DEBIAN_PACKAGES...]
# --spark also installs Java and makes .venv-spark (Debian's Python and its
# numpy/pandas, plus pyspark and pyarrow from PyPI) for the Spark examples'
# tests; --serve installs the HTTP service's test clients (curl, wrk,
# requests, headless Chromium) and makes .venv-serve (Debian's Python plus
# the official `openai` client from PyPI) for its tests
# (scripts/test.sh asks for both). Idempotent and quiet when everything is
# already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

spark=0
serve=0
while [ $# -gt 0 ]; do
  case "$1" in
    --spark) spark=1 ;;
    --serve) serve=1 ;;
    *) break ;;
  esac
  shift
done

packages=(
  cmake g++ make pkgconf
  libeigen3-dev
  catch2 libbenchmark-dev
  python3 python3-numpy python3-pytest
  # the Python package (python/): pybind11 and the headers to build it, pandas
  # for UserKnn.fit(DataFrame), venv + setuptools + wheel for `pip install ./python`
  pybind11-dev python3-dev python3-pandas python3-venv python3-setuptools python3-wheel
  # embedrank-serve (server/): its HTTP server; JSON for it and the command-line programs
  libcpp-httplib-dev nlohmann-json3-dev
  "$@"
)
[ $spark = 1 ] && packages+=(openjdk-17-jre-headless)  # Spark 3.5 runs on Java 17
# The service's tests (tests/serve/): curl, wrk and requests as clients; for
# the page's test headless Chromium driven by selenium, and a CJK font so
# Chinese titles are drawn.
[ $serve = 1 ] && packages+=(curl wrk python3-requests chromium chromium-driver python3-selenium fonts-wqy-microhei)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PySpark 3.5 (Java 17, pandas >= 1.0.5, so Debian's pandas 1.5 serves) and
# a pyarrow that works with Debian's numpy 1.24.
spark_venv=.venv-spark
spark_packages=("pyspark==3.5.9" "pyarrow==15.0.2")
if [ $spark = 1 ] && ! "$spark_venv/bin/python" -c "import pyspark, pyarrow" 2>/dev/null; then
  echo "installing ${spark_packages[*]} from PyPI into $spark_venv"
  rm -rf "$spark_venv"
  /usr/bin/python3 -m venv --system-site-packages "$spark_venv"
  if ! "$spark_venv/bin/pip" install --quiet --disable-pip-version-check "${spark_packages[@]}"; then
    echo "error: could not install ${spark_packages[*]} from PyPI into $spark_venv (needed by tests/spark)" >&2
    exit 1
  fi
fi

# The official OpenAI Python client, to call embedrank-serve as OpenAI's API.
serve_venv=.venv-serve
serve_packages=("openai==3.63.0")
if [ $serve = 1 ] && ! "$serve_venv/bin/python" -c "import openai" 2>/dev/null; then
  echo "installing ${serve_packages[*]} from PyPI into $serve_venv"
  rm -rf "$serve_venv"
  /usr/bin/python3 -m venv --system-site-packages "$serve_venv"
  if ! "$serve_venv/bin/pip" install --quiet --disable-pip-version-check "${serve_packages[@]}"; then
    echo "error: could not install ${serve_packages[*]} from PyPI into $serve_venv (needed by tests/serve)" >&2
    exit 1
  fi
fi
