# shellcheck shell=bash
# lib.sh: helpers for weft's network-namespace tests. Source it, then call
# net_init TAG. Everything a test makes (namespaces, /etc/netns dirs, processes)
# is recorded and removed by an EXIT trap; processes are ended by PID, never by
# name. Waits are `wait_until SECONDS command...`: poll a condition until a
# deadline, never a bare sleep.
#
# Names: namespaces are "${NETPFX}X" and weftd interfaces should come from
# ifname X, both unique per test run (the PID is in them), so tests and
# developers' runs never collide, including on /var/run/wireguard/IF.sock.
#
# Environment: WEFT_BUILD (meson build dir, default ./build), WEFT_SRC.
set -u
export LC_ALL=C

WEFT_SRC=${WEFT_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WEFT_BUILD=${WEFT_BUILD:-$WEFT_SRC/build}
WEFTD=$WEFT_BUILD/src/weftd/weftd
WEFT=$WEFT_BUILD/src/weft/weft
WEFT_SERVER=$WEFT_BUILD/src/weft-server/weft-server
WEFT_RELAY=$WEFT_BUILD/src/weft-relay/weft-relay

NET_PIDS=()
NET_NS=()
NET_ETC=()
NET_FILES=()
NET_TAG=""
NETPFX=""
NET_TMP=""
NET_FAILED=0

log() { echo "[$NET_TAG] $*" >&2; }
fail() { log "FAIL: $*"; NET_FAILED=1; exit 1; }
skip() { log "SKIP: $*"; exit 77; }

net_cleanup() {
	local rc=$? p i alive ns
	trap - EXIT INT TERM
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -n "$NET_TMP" ]; then
		for f in "$NET_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $(basename "$f") (last 40 lines)" >&2
			tail -40 "$f" >&2
		done
	fi
	if [ ${#NET_PIDS[@]} -gt 0 ]; then
		kill "${NET_PIDS[@]}" 2>/dev/null
		for i in $(seq 50); do
			alive=0
			for p in "${NET_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
			[ $alive = 0 ] && break
			sleep 0.1
		done
		for p in "${NET_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
		wait 2>/dev/null
	fi
	for ns in "${NET_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	for d in "${NET_ETC[@]}"; do rm -rf "$d"; done
	for f in "${NET_FILES[@]}"; do rm -f "$f"; done
	[ -n "$NET_TMP" ] && rm -rf "$NET_TMP"
	exit "$rc"
}

# net_init TAG: must be root; sets NETPFX, NET_TMP and the cleanup trap.
net_init() {
	NET_TAG=$1
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
	command -v ip >/dev/null || skip "needs iproute2"
	NETPFX="w$(printf '%x' $$)"
	NET_TMP=$(mktemp -d "${TMPDIR:-/tmp}/weft-$NET_TAG.XXXXXX")
	trap net_cleanup EXIT
	trap 'exit 130' INT TERM
}

# ns NAME: the full namespace name for short NAME.
ns() { echo "${NETPFX}$1"; }
# ifname NAME: an interface name unique to this run (max 15 chars).
ifname() { echo "${NETPFX}$1" | cut -c1-15; }

# ns_add NAME...: create namespaces with lo up and no route out. Each gets its
# own /etc/resolv.conf at once (see resolv_conf): weftd manages the resolv.conf
# it sees, and in a namespace without one that would be the host's.
ns_add() {
	local n
	for n in "$@"; do
		ip netns add "$(ns "$n")" || fail "ip netns add $(ns "$n")"
		NET_NS+=("$(ns "$n")")
		resolv_conf "$n"
		ip -n "$(ns "$n")" link set lo up
	done
}

# nsx NAME cmd...: run a command inside namespace NAME.
nsx() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

# veth NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth pair with addresses (CIDR), both up.
veth() {
	ip link add "$2" netns "$(ns "$1")" type veth peer name "$5" netns "$(ns "$4")" ||
		fail "veth $2/$5"
	[ -n "$3" ] && ip -n "$(ns "$1")" addr add "$3" dev "$2"
	[ -n "$6" ] && ip -n "$(ns "$4")" addr add "$6" dev "$5"
	ip -n "$(ns "$1")" link set "$2" up
	ip -n "$(ns "$4")" link set "$5" up
}

# lan NAME: a switch (a bridge in a namespace of its own) that hosts plug into.
lan() {
	ns_add "$1"
	nsx "$1" ip link add br0 type bridge || fail "bridge in $1"
	nsx "$1" ip link set br0 up
}

# plug LAN HOST ADDR: connect namespace HOST to LAN's bridge as eth0 with ADDR (CIDR).
plug() {
	local lan=$1 host=$2 addr=$3 port
	port="p$host"
	ip link add eth0 netns "$(ns "$host")" type veth peer name "$port" netns "$(ns "$lan")" ||
		fail "plug $host into $lan"
	nsx "$lan" ip link set "$port" master br0
	nsx "$lan" ip link set "$port" up
	ip -n "$(ns "$host")" addr add "$addr" dev eth0
	ip -n "$(ns "$host")" link set eth0 up
}

# resolv_conf NAME [content]: give namespace NAME its own /etc/resolv.conf
# (ip netns exec bind-mounts /etc/netns/NS/resolv.conf), so that nothing a
# test does can touch the host's.
resolv_conf() {
	local d=/etc/netns/$(ns "$1")
	mkdir -p "$d"
	NET_ETC+=("$d")
	printf '%s\n' "${2:-nameserver 192.0.2.53}" >"$d/resolv.conf"
}

# server_config DIR ADDR: write DIR/config.yaml for a weft-server listening on ADDR:8080
# with its admin socket, key and SQLite file in DIR and no metrics listener; a test
# appends its own keys (dns:, policy:, ...) with `cat >>`.
server_config() {
	mkdir -p "$1"
	cat >"$1/config.yaml" <<CFG
server_url: http://$2:8080
listen_addr: $2:8080
metrics_listen_addr: ""
unix_socket: $1/admin.sock
noise:
  private_key_path: $1/server.key
database:
  type: sqlite
  sqlite:
    path: $1/db.sqlite
CFG
}

# spawn NAME LOGNAME cmd...: start cmd in namespace NAME in the background,
# output to $NET_TMP/LOGNAME.log; its PID is in $SPAWNED and is recorded.
spawn() {
	local n=$1 lg=$2; shift 2
	ip netns exec "$(ns "$n")" "$@" >"$NET_TMP/$lg.log" 2>&1 &
	SPAWNED=$!
	NET_PIDS+=("$SPAWNED")
}

# stop_pid PID [SIGNAL]: end one process we started and wait for it.
stop_pid() {
	local p=$1 sig=${2:-TERM} i
	kill -s "$sig" "$p" 2>/dev/null || return 0
	for i in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

# track_file PATH: remove PATH at exit (sockets in shared directories).
track_file() { NET_FILES+=("$1"); }

# wait_until SECONDS cmd...: poll cmd (every 50 ms) until it succeeds or the
# deadline passes; returns 1 on timeout.
wait_until() {
	local secs=$1; shift
	local end=$((SECONDS + secs)) i=0
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ $SECONDS -ge $end ] && return 1
		i=$((i + 1))
		[ $i -gt 100000 ] && return 1
		sleep 0.05
	done
}

# expect cond-description cmd...: fail unless cmd succeeds.
expect() { local what=$1; shift; "$@" || fail "$what"; }

# pass: the test's last line.
pass() { log "PASS"; exit 0; }
