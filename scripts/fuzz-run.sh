#!/bin/sh
# fuzz-run.sh TARGET CORPUS SECONDS: run one libFuzzer target for SECONDS over a
# copy of its seed corpus (new inputs go to a scratch folder, never into the
# source tree). Exits non-zero on a crash, leak or timeout; the reproducer is
# kept in the scratch folder and its path printed.
set -eu
target=$1 corpus=$2 secs=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/weft-fuzz.XXXXXX")
mkdir -p "$work/new"
status=0
"$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work/new" "$corpus" >"$work/log" 2>&1 || status=$?
if [ "$status" != 0 ]; then
	tail -60 "$work/log"
	echo "fuzz-run: $(basename "$target") failed; artifacts in $work" >&2
	exit "$status"
fi
grep -E '^stat::number_of_executed_units|^Done' "$work/log" | head -2
rm -rf "$work"
