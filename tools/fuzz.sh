#!/usr/bin/env bash
# Runs every libFuzzer harness of latent (tests/fuzz/<name>.fuzz.cpp, built as fuzz_<name> with
# clang++ -fsanitize=fuzzer,address,undefined) on its kept corpus, for N executions or T
# seconds each, merges new interesting inputs back into tests/fuzz/corpus/<name>/, and fails on
# any crash, sanitizer report, property violation or undocumented exception.
#
# Usage: tools/fuzz.sh [-r RUNS | -t SECONDS] [-b BUILD_DIR] [-j JOBS] [-n] [harness...]
#   -j JOBS     harnesses run side by side (default 1)
#   -r RUNS     executions per harness (default 1000000 when neither -r nor -t is given)
#   -t SECONDS  wall time per harness instead (CI: -t 60)
#   -b DIR      build folder (default build-fuzz; configured and built here if needed)
#   -n          do not merge new inputs into the repository corpus
# Logs: DIR/fuzz-logs/<name>.log; a summary line per harness with its execution count.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/jobs.sh
source "$root/tools/jobs.sh"
build=$root/build-fuzz
runs=""
seconds=""
merge=1
jobs=1
while getopts "r:t:b:j:n" opt; do
  case $opt in
    r) runs=$OPTARG ;;
    t) seconds=$OPTARG ;;
    b) build=$OPTARG ;;
    j) jobs=$OPTARG ;;
    n) merge=0 ;;
    *) sed -n 2,12p "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[[ -z $runs && -z $seconds ]] && runs=1000000

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLATENT_BUILD_FUZZERS=ON -DLATENT_PACKAGING_TESTS=OFF -DLATENT_BUILD_BENCHMARKS=OFF \
    -DLATENT_BUILD_EXAMPLES=OFF >/dev/null
fi
if [[ $# -gt 0 ]]; then
  names=("$@")
else
  names=()
  for f in "$root"/tests/fuzz/*.fuzz.cpp; do n=$(basename "$f" .fuzz.cpp); names+=("$n"); done
fi
cmake --build "$build" --target $(printf "fuzz_%s " "${names[@]}") -j2 >"$build/fuzz-build.log" 2>&1 || { echo "build failed: $build/fuzz-build.log"; exit 1; }

logs=$build/fuzz-logs
mkdir -p "$logs"
run_one() {  # run_one NAME: fuzzes one harness; prints one line; returns non-zero on a finding
  local n=$1
  local bin=$build/tests/fuzz/fuzz_$n
  local corpus=$root/tests/fuzz/corpus/$n
  local work=$build/fuzz-work/$n
  mkdir -p "$corpus" "$work" "$build/fuzz-crashes/$n"
  local limit=(-runs="$runs")
  [[ -n $seconds ]] && limit=(-max_total_time="$seconds")
  # New inputs go to a scratch folder; the repository corpus is only read.
  if (cd "$work" && "$bin" "${limit[@]}" -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-crashes/$n/" "$work" "$corpus") >"$logs/$n.log" 2>&1; then
    local execs
    execs=$(grep -m1 'stat::number_of_executed_units' "$logs/$n.log" | awk '{print $2}')
    echo "fuzz_$n: OK, ${execs:-?} executions"
    if [[ $merge == 1 ]]; then
      "$bin" -merge=1 "$corpus" "$work" >>"$logs/$n.log" 2>&1
    fi
  else
    echo "fuzz_$n: FAILED (see $logs/$n.log; reproducer: $build/fuzz-crashes/$n/crash-*)"
    grep -E "property violated|runtime error|ERROR: (Address|libFuzzer)|uncaught" "$logs/$n.log" | head -3 || true
    return 1
  fi
}
status=0
run_jobs "$jobs" run_one "${names[@]}" || status=1
exit $status
