# Sourced by tools/fuzz.sh and tools/valgrind.sh.
# run_jobs JOBS FUNCTION ITEM...: calls FUNCTION ITEM for every item, at most JOBS at a time, in
# the background; returns non-zero if any call did.
run_jobs() {
  local jobs=$1 fn=$2
  shift 2
  local status=0 running=0 item
  for item in "$@"; do
    if (( running >= jobs )); then
      wait -n || status=1
      running=$((running - 1))
    fi
    "$fn" "$item" &
    running=$((running + 1))
  done
  while (( running > 0 )); do
    wait -n || status=1
    running=$((running - 1))
  done
  return $status
}
