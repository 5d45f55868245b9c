#!/usr/bin/env bash
# run.sh: `make bench`. The tunnel benchmark (bench/peers.sh) for weftd and
# wireguard-go in the same run, plus raw veth as the ceiling. Results go to
# stdout; docs/BENCHMARKS.md records
# the figures with the machine and versions.
#   bench/run.sh [--time S] [--runs N]      (defaults: 10 s, 3 runs)
set -eu
cd "$(dirname "$0")/.."
time=10 runs=3
while [ $# -gt 0 ]; do
	case $1 in
	--time) time=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: bench/run.sh [--time S] [--runs N]" >&2; exit 2 ;;
	esac
done
export WEFTD=${WEFTD:-$PWD/build/src/weftd/weftd}
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
bench/peers.sh --only raw,wireguard-go,weft --time "$time" --runs "$runs"
bench/peers.sh --only wireguard-go,weft --bulk-only --blackhole 1280
