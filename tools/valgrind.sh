#!/usr/bin/env bash
# Runs a representative subset of latent's test executables under valgrind memcheck
# (--error-exitcode=1, leak check full) in a Release build with debug info (-O2 -g), and fails
# if any reports an error. The subset covers every area: core math, the random engine and
# its SIMD kernels, Gaussian distributions and KLs, DDPM/DDIM steps, sigma-space samplers,
# Langevin/MALA, the VQ lookup (blocked GEMM, workspace), and the reliability suites.
#
# Usage: tools/valgrind.sh [-b BUILD_DIR] [-j JOBS] [test...]   (-j: tests side by side)
# A test is named as CTest names it, <folder>/<file> (tests/<folder>/<file>.test.cpp): with
# LATENT_TEST_UNITY (the default) the folder's executable runs that file's cases, otherwise
# the file's own executable.
# SIMD note: valgrind does not emulate AVX-512; the build uses -march=x86-64-v3 (AVX2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/jobs.sh
source "$root/tools/jobs.sh"
build=$root/build-valgrind
jobs=1
while getopts "b:j:" opt; do
  case $opt in
    b) build=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) sed -n 2,10p "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(core/math random/noise distributions/diag_gaussian diffusion/ddpm score/samplers
           score/langevin quantize/nearest reliability/strong_guarantee reliability/reproducibility)
fi
command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 2; }
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g" \
    -DLATENT_ARCH_FLAGS="-march=x86-64-v3" \
    -DLATENT_PACKAGING_TESTS=OFF -DLATENT_BUILD_BENCHMARKS=OFF -DLATENT_BUILD_EXAMPLES=OFF >/dev/null
fi
unity=1
grep -q '^LATENT_TEST_UNITY:BOOL=OFF' "$build/CMakeCache.txt" && unity=0
exe_target() {  # exe_target folder/file: the executable holding that file's tests
  if [[ $unity == 1 ]]; then echo "test_${1%%/*}"; else echo "test_${1//\//_}"; fi
}
build_targets=()
for t in "${targets[@]}"; do build_targets+=("$(exe_target "$t")"); done
cmake --build "$build" --target "${build_targets[@]}" -j2 >/dev/null
mkdir -p "$build/valgrind-logs"
run_one() {  # run_one folder/file: memcheck of that file's tests; prints one line
  local t=$1
  local log=$build/valgrind-logs/${t//\//_}.log
  local exe
  exe=$(find "$build/tests" -maxdepth 1 -name "$(exe_target "$t")" -type f | head -1)
  local spec=""
  [[ $unity == 1 ]] && spec="[#${t##*/}.test]~[.]"
  # valgrind computes x87 long double at 64-bit precision, so the long-double Box-Muller
  # reference of this one test is wrong under valgrind (an emulation artifact, not memory).
  [[ $t == random/noise ]] && spec="$spec~*3 ulp of exact Box-Muller*"
  local args=()
  [[ -n $spec ]] && args=(-# "$spec")
  if valgrind --tool=memcheck --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
      --track-origins=yes "$exe" "${args[@]}" >"$log" 2>&1; then
    echo "$t: clean ($(grep -m1 'ERROR SUMMARY' "$log" | sed 's/==[0-9]*== //'))"
  else
    echo "$t: FAILED (see $log)"
    grep -E "ERROR SUMMARY|Invalid|uninitialised|definitely lost|FAILED" "$log" | head -5 || true
    return 1
  fi
}
status=0
run_jobs "$jobs" run_one "${targets[@]}" || status=1
exit $status
