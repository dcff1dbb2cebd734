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

# A venv of Debian's Python (its numpy, pandas, pytest, ...) plus PyPI packages:
#   python_venv DIR IMPORTS WHAT_NEEDS_IT PACKAGE...
# made only when DIR cannot import IMPORTS yet.
python_venv() {
  local dir=$1 imports=$2 needed_by=$3
  shift 3
  "$dir/bin/python" -c "import $imports" 2>/dev/null && return 0
  echo "installing $* from PyPI into $dir"
  rm -rf "$dir"
  /usr/bin/python3 -m venv --system-site-packages "$dir"
  if ! "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"; then
    echo "error: could not install $* from PyPI into $dir (needed by $needed_by)" >&2
    exit 1
  fi
}

# PySpark 3.5 (Java 17, pandas >= 1.0.5, so Debian's pandas 1.5 serves) and
# a pyarrow that works with Debian's numpy 1.24.
[ $spark = 1 ] && python_venv .venv-spark "pyspark, pyarrow" tests/spark "pyspark==3.5.9" "pyarrow==15.0.2"
# The official OpenAI Python client, to call embedrank-serve as OpenAI's API.
[ $serve = 1 ] && python_venv .venv-serve openai tests/serve "openai==3.63.0"
exit 0
