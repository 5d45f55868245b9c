#!/usr/bin/env bash
# fuzz.sh [--seconds N]: `make fuzz`. Builds build-fuzz/ (clang, libFuzzer,
# ASan+UBSan) and runs every fuzz target for N seconds (default 60).
set -eu
cd "$(dirname "$0")/.."
secs=60
[ "${1:-}" = "--seconds" ] && secs=$2
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz --wrap-mode=nodownload -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
fi
ninja -C build-fuzz
fail=0
for t in build-fuzz/tests/fuzz/fuzz_*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	name=$(basename "$t"); name=${name#fuzz_}
	echo "== $name (${secs}s)"
	scripts/fuzz-run.sh "$t" "tests/fuzz/corpus/$name" "$secs" || fail=1
done
exit $fail
