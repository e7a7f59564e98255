#!/bin/bash
# compare_builds.sh OLD_SNAPSHOT NEW_SNAPSHOT: run two builds of tests/snapshot over every
# fixture and fuzz corpus input and show where what they would mount differs. Exit 0 when the
# two agree on every file. For changes that must not change what a user sees (a refactoring, a
# speed-up): build the old commit's snapshot in a worktree, then compare.
set -euo pipefail
old=$1 new=$2
cd "$(dirname "$0")/.."
mapfile -t inputs < <(find tests/fixtures fuzz/corpus fuzz/crashes -type f | sort)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
# in chunks, so one argument list never grows too long
for ((i = 0; i < ${#inputs[@]}; i += 200)); do
    chunk=("${inputs[@]:i:200}")
    "$old" "${chunk[@]}" >"$tmp/old" 2>&1
    "$new" "${chunk[@]}" >"$tmp/new" 2>&1
    if ! cmp -s "$tmp/old" "$tmp/new"; then
        # name the input of the first line that differs
        line=$(cmp "$tmp/old" "$tmp/new" | sed -n 's/.* line \([0-9]*\).*/\1/p' || true)
        head -n "$line" "$tmp/old" | grep '^== ' | tail -n 1 || true
        diff "$tmp/old" "$tmp/new" | head -n 40 || true
        status=1
    fi
done
echo "compared ${#inputs[@]} inputs: $([ $status = 0 ] && echo same || echo DIFFERENT)"
exit $status
