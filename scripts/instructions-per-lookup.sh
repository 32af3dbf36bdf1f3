#!/usr/bin/env bash
# Instructions and L1 data-cache misses per single lookup of one SPD structure, counted by
# callgrind (valgrind): a figure that does not move with the noise of a shared machine, for
# comparing two versions of a structure where wall-clock medians cannot tell them apart.
#
#   scripts/instructions-per-lookup.sh STRUCTURE TYPE RULES TRACE [BINARY]
#
# STRUCTURE is a lookupbench name (tuplespace, radix, hashed, linear), TYPE the Swift type
# behind it (TupleSpaceTable, RadixPolicyTree, HashedSelectorTable, LinearPolicyTable).
# Counts cover the timed single-lookup loop of `lookupbench bench --passes 1` (one pass over
# the trace plus the 1 % probe pass); the cache simulation is valgrind's default for this CPU.
# Needs valgrind and a release build (swift build -c release).
set -euo pipefail
if [ $# -lt 4 ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
structure=$1 type=$2 rules=$3 trace=$4
binary=${5:-.build/release/lookupbench}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install -y valgrind)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# valgrind 3.19 cannot read Swift 6's DWARF 5: count on a copy without debug information.
objcopy --strip-debug "$binary" "$work/lookupbench"
loop='$s11lookupbench20measureSingleLookups_4keys6passesSaySdGx_Say3KeyQzGSit6Lookup0H9StructureRzAA0H8Checksum6ResultRpzlFySRyAGGXEfU_AI'${#type}${type}'V_Tg5'
lookups=$(grep -c . "$trace")
valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file="$work/out" "--toggle-collect=$loop" \
  "$work/lookupbench" bench --rules "$rules" --trace "$trace" --structures "$structure" --passes 1 \
  > "$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
instructions=$(grep -E "I +refs:" "$work/log" | awk '{gsub(",", "", $4); print $4}')
misses=$(grep -E "D1 +misses:" "$work/log" | awk '{gsub(",", "", $4); print $4}')
awk -v i="$instructions" -v m="$misses" -v n="$lookups" -v s="$structure" -v r="$rules" -v t="$trace" 'BEGIN {
  n = n + int(n / 100)  # the timed pass and the 1 % probe pass
  printf "{\"structure\": \"%s\", \"rule_set\": \"%s\", \"trace\": \"%s\", \"instructions_per_lookup\": %.1f, \"d1_misses_per_lookup\": %.2f}\n", s, r, t, i / n, m / n
}'
