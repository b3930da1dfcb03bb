#!/usr/bin/env bash
# latent's one entry point for people and CI.
#
#   ./run.sh demo    build and run the demo example
#   ./run.sh test    build everything and run the whole test suite (CTest)
#   ./run.sh bench   build and run the benchmarks and the Python peers; writes docs/performance.md
#
# Each installs what is missing from Debian's packages (as root, or through sudo), says what
# it installs, and stops with a clear message when it cannot.
# Environment: BUILD_DIR (default build-<command>), CXX (compiler), JOBS (parallel jobs),
# CMAKE_ARGS (extra configure arguments).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
cmd="${1:-}"
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"

say() { printf 'latent: %s\n' "$*"; }
die() { printf 'latent: error: %s\n' "$*" >&2; exit 1; }

# ensure_packages PKG...: installs the Debian packages that are not installed yet.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 ||
    die "missing packages: ${missing[*]}; this script installs them with apt-get (Debian 12), which is not here. Install them by hand."
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
      die "missing packages: ${missing[*]}; run as root or install sudo, or install them by hand."
    sudo="sudo"
  fi
  say "installing from Debian: ${missing[*]}"
  $sudo apt-get update -qq || die "apt-get update failed; check the network and /etc/apt/sources.list."
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed (see the messages above)."
  say "installed: ${missing[*]}"
}

base_packages=(cmake make g++ libeigen3-dev pkg-config)

configure() {  # configure DIR [cmake args...]
  local dir="$1"; shift
  local args=(-S "$here" -B "$dir" -DCMAKE_BUILD_TYPE=Release)
  [ -n "${CXX:-}" ] && args+=(-DCMAKE_CXX_COMPILER="$CXX")
  # shellcheck disable=SC2206
  [ -n "${CMAKE_ARGS:-}" ] && args+=(${CMAKE_ARGS})
  cmake "${args[@]}" "$@" >/dev/null || die "cmake configure failed in $dir"
}

case "$cmd" in
  demo)
    ensure_packages "${base_packages[@]}"
    dir="${BUILD_DIR:-build-demo}"
    configure "$dir" -DLATENT_BUILD_TESTS=OFF -DLATENT_BUILD_BENCHMARKS=OFF -DLATENT_BUILD_EXAMPLES=ON
    say "building the demo in $dir"
    cmake --build "$dir" --target demo -j "$jobs" || die "the demo did not build"
    out="${DEMO_OUT:-$here/out/demo}"
    say "running $dir/examples/demo $out"
    "$dir/examples/demo" "$out"
    ;;
  test)
    ensure_packages "${base_packages[@]}" catch2 libbenchmark-dev libopenmpi-dev openmpi-bin
    dir="${BUILD_DIR:-build-test}"
    configure "$dir"
    say "building latent, its tests, examples and benchmarks in $dir"
    cmake --build "$dir" -j "$jobs" || die "the build failed"
    say "running the test suite"
    ctest --test-dir "$dir" --output-on-failure -j "$jobs"
    ;;
  bench)
    # The peers get Debian's OpenBLAS (libblas.so.3 alternative) rather than the reference BLAS.
    ensure_packages "${base_packages[@]}" libbenchmark-dev python3 python3-numpy python3-torch libopenblas0-pthread
    dir="${BUILD_DIR:-build-bench}"
    configure "$dir" -DLATENT_BUILD_TESTS=OFF -DLATENT_BUILD_EXAMPLES=OFF -DLATENT_BUILD_BENCHMARKS=ON
    say "building the benchmarks in $dir"
    cmake --build "$dir" -j "$jobs" || die "the benchmarks did not build"
    # Debian's python3 (with python3-numpy and python3-torch), even when another python3 is first
    # on PATH.
    py=python3
    [ -x /usr/bin/python3 ] && py=/usr/bin/python3
    "$py" "$here/tools/bench_report.py" --build "$dir" --out "$here/docs/performance.md"
    ;;
  install)
    # Used by .ci/run: ./run.sh install PACKAGE... (the same installer as the commands above).
    shift
    ensure_packages "$@"
    ;;
  *)
    echo "usage: ./run.sh demo | test | bench" >&2
    exit 2
    ;;
esac
