#!/usr/bin/env bash
# Builds the `rtms` command line of an earlier revision, for the fleet's rolling-upgrade test
# (Tests/RTMSFleetTests/RollingUpgradeTests.swift): two versions of the binary on one database.
#
#   bash scripts/previous-rtms.sh [REV]      prints the path of the built binary (last line)
#
# REV defaults to the last revision whose fleet schema was version 2 (the current one migrates
# it to 3). The sources are exported with `git archive` into .ci-work/previous/<rev>/ and built
# there (debug, its own scratch path); a second call with the built binary in place only prints
# its path. Needs the repository's history (a clone, not an export).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rev=${1:-c2529a5}
full=$(git -C "$root" rev-parse --verify --quiet "$rev^{commit}") || {
    echo "previous-rtms: revision $rev is not in this repository's history" >&2
    exit 1
}
dir="$root/.ci-work/previous/${full:0:12}"
bin="$dir/.build/debug/rtms"
if [ ! -x "$bin" ]; then
    rm -rf "$dir/src"
    mkdir -p "$dir/src"
    git -C "$root" archive "$full" | tar -x -C "$dir/src"
    # The same resolved dependency versions as then (from this machine's package copies).
    t0=$(date +%s)
    echo "previous-rtms: building rtms of ${full:0:12} into ${dir#$root/}" >&2
    if ! swift build --package-path "$dir/src" --scratch-path "$dir/.build" --product rtms >"$dir/build.log" 2>&1; then
        grep -vE '^\[[0-9]+/[0-9]+\] ' "$dir/build.log" | tail -30 >&2
        echo "previous-rtms: build failed (log: $dir/build.log)" >&2
        exit 1
    fi
    echo "previous-rtms: built in $(( $(date +%s) - t0 )) s" >&2
fi
echo "$bin"
