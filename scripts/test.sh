#!/usr/bin/env bash
# test.sh: `make test`. Builds three configurations and runs every suite:
#   build/       release, hardened (gcc)        unit, net, conformance
#   build-asan/  ASan+UBSan (gcc)               unit, net
#   build-fuzz/  libFuzzer + ASan+UBSan (clang) fuzz (a short smoke run per target)
# Each stage's results come from meson's testlog.json; the last line printed
# is "N passed, N failed" (skips are reported but not counted as passes).
# TEST_SUITES="unit net" limits the suites; TEST_BUILDS="build" the builds.
set -u
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

SUITES=${TEST_SUITES:-"unit net fuzz conformance"}
BUILDS=${TEST_BUILDS:-"build build-asan build-fuzz"}
passed=0 failed=0 skipped=0 broken=""

want() { [[ " $SUITES " == *" $1 "* ]]; }
have_build() { [[ " $BUILDS " == *" $1 "* ]]; }

setup() { # dir, meson options...
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" --wrap-mode=nodownload "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log" >&2; return 1; }
	fi
	ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { tail -50 "$dir.ninja.log" >&2; return 1; }
}

count() { # dir: add the results of the last meson test run in dir
	local log=$1/meson-logs/testlog.json p f s
	[ -f "$log" ] || return 0
	p=$(grep -c '"result": "OK"' "$log" || true)
	f=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
	s=$(grep -cE '"result": "(SKIP|EXPECTEDFAIL)"' "$log" || true)
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		broken="$broken $(grep -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" |
			sed -E 's/.*"name": "([^"]*)".*/\1/' | sed "s|^|$1:|" | tr '\n' ' ')"
	fi
}

run_suites() { # dir suites...
	local dir=$1; shift
	local args=() s
	for s in "$@"; do want "$s" && args+=(--suite "$s"); done
	[ ${#args[@]} -gt 0 ] || return 0
	rm -f "$dir/meson-logs/testlog.json"
	echo "== $dir: ${args[*]}" >&2
	meson test -C "$dir" --no-rebuild --print-errorlogs "${args[@]}" >&2
	count "$dir"
}

build_failed() { failed=$((failed + 1)); broken="$broken $1:build"; }

scripts/install-deps.sh --check 2>/dev/null || scripts/install-deps.sh || exit 1

if have_build build; then
	if setup build; then run_suites build unit net conformance; else build_failed build; fi
fi
if have_build build-asan; then
	if setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized; then
		run_suites build-asan unit net
	else
		build_failed build-asan
	fi
fi
if have_build build-fuzz && want fuzz; then
	if CC=clang setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized; then
		run_suites build-fuzz fuzz
	else
		build_failed build-fuzz
	fi
fi

[ -z "$broken" ] || echo "failed:$broken"
[ "$skipped" = 0 ] || echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
