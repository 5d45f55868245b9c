#!/bin/sh
# install-deps.sh: install the Debian packages weft's build and tests need.
# Idempotent: does nothing (and needs no network) when everything is present.
#   scripts/install-deps.sh          install what is missing (needs root or sudo)
#   scripts/install-deps.sh --check  exit 1 and list what is missing, install nothing
set -eu

# Build: compilers, meson/ninja, the libraries docs/ARCHITECTURE.md lists.
BUILD="gcc clang libclang-rt-14-dev meson ninja-build pkg-config
  libsodium-dev libssl-dev libb2-dev libevent-dev libjansson-dev libsqlite3-dev
  libmnl-dev libyaml-dev libcmocka-dev libcurl4-openssl-dev libldns-dev libpq-dev"
# Tests: real peers and tools for the network-namespace tests and the benchmarks;
# postgresql for the PostgreSQL store tests, which start a throwaway cluster of their
# own (tests/tools/pg_cluster.sh) and never use the system's.
TEST="wireguard-tools wireguard-go iperf3 iproute2 iputils-ping nftables jq python3 procps
  psmisc coreutils openssl curl dnsmasq-base dnsperf postgresql util-linux"

missing=""
for p in $BUILD $TEST; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ "${1:-}" = "--check" ]; then
	echo "missing Debian packages:$missing" >&2
	exit 1
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root (or sudo) to install:$missing" >&2; exit 1; }
	SUDO=sudo
fi
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null; then
	$SUDO apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
