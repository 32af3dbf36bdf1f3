#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/) and runs each for a time or a number of executions,
# starting from the committed seed corpus (Fuzz/Corpus/<target>/, never modified: new inputs go
# to a scratch folder). Prints one summary line per target and, with --json FILE, one JSON
# object per target (target, executions, seconds, crashes) for the robustness report.
# Crash inputs are kept in the scratch folder's crashes/ (the path is printed); make each one
# a regression test (Tests/LookupTests/FuzzRegressionTests.swift) and a seed.
#
#   scripts/fuzz.sh [--time SECONDS | --runs N] [--json FILE] [TARGET ...]
#
# Exit status: 0 when no target crashed, 1 otherwise, 2 on a usage or build error.
set -uo pipefail
cd "$(dirname "$0")/.."

limit=(-max_total_time=60)
json=""
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    --json) json="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=(FuzzClassBenchRules FuzzClassBenchTrace FuzzIPXfrm)

# gold cannot link libFuzzer's objects here (it aborts with an internal error); lld can.
if ! swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer \
     -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld 2>&1 | tail -3; then
  echo "fuzz.sh: build failed" >&2
  exit 2
fi
bin="$(swift build --package-path Fuzz -c release --show-bin-path)"

scratch="$(mktemp -d /tmp/lookup-fuzz.XXXXXX)"
status=0
[ -n "$json" ] && : > "$json"
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target/corpus" "$scratch/$target/crashes"
  log="$scratch/$target/log"
  start=$(date +%s)
  "$bin/$target" "$scratch/$target/corpus" "Fuzz/Corpus/$target" "${limit[@]}" -print_final_stats=1 \
    -artifact_prefix="$scratch/$target/crashes/" -rss_limit_mb=2048 > "$log" 2>&1
  code=$?
  seconds=$(( $(date +%s) - start ))
  executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(find "$scratch/$target/crashes" -type f | wc -l)
  if [ "$code" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  [ "$crashes" -ne 0 ] && status=1
  echo "$target: ${executions:-?} executions in ${seconds} s, $crashes crashes (log: $log)"
  if [ "$crashes" -ne 0 ]; then grep -E "ERROR|Fatal error|deadly signal|Test unit written" "$log" | head -5; fi
  if [ -n "$json" ]; then
    printf '{"target": "%s", "executions": %s, "seconds": %s, "crashes": %s, "limit": "%s", "machine": "%s", "date": "%s"}\n' \
      "$target" "${executions:-null}" "$seconds" "$crashes" "${limit[*]}" "$(uname -srm)" "$(date -u +%Y-%m-%d)" >> "$json"
  fi
done
exit $status
