#!/usr/bin/env bash
# The README's first build as a new user runs it (issue 18, point 4): the `meson setup` and
# `meson compile` of the README's first command, taken from the README itself, in a fresh
# clone of HEAD, timed, with every compiler warning counted. apt-get is not part of it.
#
#     bash tools/bench/first_build.sh [RUNS]     (default 3 runs; quote the median)
#
# Prints each run's wall time and warning count, then the median. Target: <= 120 s on 2
# cores with no warning. Run it on a quiet machine.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-3}"
# The build steps of the README's first command: its `meson ...` parts, in order.
steps="$(sed -n '/^```sh$/{n;p;q}' "$repo/README.md" | tr -s ' ' | sed 's/ && /\n/g' |
         grep '^meson ')"
[ -n "$steps" ] || { echo "no meson steps in the README's first command" >&2; exit 1; }
echo "steps:"; echo "$steps" | sed 's/^/  /'
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
times=()
for r in $(seq 1 "$runs"); do
    rm -rf "$work/clone"
    git clone -q "$repo" "$work/clone"
    start=$(date +%s.%N)
    (cd "$work/clone" && while read -r step; do eval "$step"; done <<< "$steps") \
        > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    warnings=$(grep -c 'warning:' "$work/log" || true)
    targets=$(grep -c '^\[[0-9]*/[0-9]*\]' "$work/log" || true)
    printf 'run %d: %.1f s, %d build steps, %d compiler warnings\n' "$r" "$t" "$targets" \
        "$warnings"
    times+=("$t")
done
median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf 'median %.1f s over %d runs (target <= 120 s, no warning)\n' "$median" "$runs"
