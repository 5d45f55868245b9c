#!/usr/bin/env bash
# demo.sh start|stop: `make demo` / `make demo-stop`.
# A working tailnet on this one machine: weft-server (embedded SQLite, default
# prefixes) and three weftd nodes, each in its own network namespace on one LAN
# (a bridge in a namespace of its own), joined with a reusable pre-auth key:
#
#   weft-demo-srv 192.168.77.1  weft-server :8080
#   weft-demo-a   192.168.77.11 weftd  node "alpha"   (interface wdemoa)
#   weft-demo-b   192.168.77.12 weftd  node "bravo"
#   weft-demo-c   192.168.77.13 weftd  node "charlie"
#
# Nothing on the host changes but /run/weft-demo (state, logs, helper commands)
# and /etc/netns/weft-demo-*/resolv.conf (each namespace's own resolver file, so
# MagicDNS never touches the host's /etc/resolv.conf). `make demo-stop` removes it all.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN=/run/weft-demo
PFX=weft-demo
NODES="a b c"
declare -A NAME=([a]=alpha [b]=bravo [c]=charlie) ADDR=([a]=11 [b]=12 [c]=13)
BIN=$ROOT/build/src

stop() {
	local p n
	for p in "$RUN"/*.pid; do
		[ -f "$p" ] || continue
		kill "$(cat "$p")" 2>/dev/null
	done
	# weftd restores resolv.conf and removes its interface as it exits: give it the time.
	for p in "$RUN"/*.pid; do
		[ -f "$p" ] || continue
		for _ in $(seq 50); do kill -0 "$(cat "$p")" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$(cat "$p")" 2>/dev/null
	done
	for n in lan srv $NODES; do
		ip netns del "$PFX-$n" 2>/dev/null
		rm -rf "/etc/netns/$PFX-$n"
	done
	rm -rf "$RUN"
	echo "demo stopped"
}

die() { echo "demo: $*" >&2; exit 1; }

# wait_for SECONDS CMD...: poll CMD until it succeeds or the deadline passes.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt "$end" ] || return 1
		sleep 0.1
	done
}

start() {
	local n ns key
	[ "$(id -u)" = 0 ] || die "run as root (it creates network namespaces)"
	for x in weftd/weftd weft/weft weft-server/weft-server; do
		[ -x "$BIN/$x" ] || die "no $BIN/$x; run make first"
	done
	ip netns list | grep -qw "$PFX-srv" && die "already running; make demo-stop first"
	mkdir -p "$RUN/bin"

	# The LAN: a bridge in its own namespace, one veth per host.
	ip netns add "$PFX-lan" || die "cannot create namespaces"
	ip -n "$PFX-lan" link set lo up
	ip -n "$PFX-lan" link add br0 type bridge
	ip -n "$PFX-lan" link set br0 up
	plug srv 1
	for n in $NODES; do plug "$n" "${ADDR[$n]}"; done

	# The server: embedded defaults except where it listens and keeps its files.
	cat >"$RUN/server.yaml" <<CFG
# weft-server for make demo; every other key has its embedded default.
server_url: http://192.168.77.1:8080
listen_addr: 192.168.77.1:8080
metrics_listen_addr: 127.0.0.1:9090
unix_socket: $RUN/server/admin.sock
noise:
  private_key_path: $RUN/server/server.key
database:
  sqlite:
    path: $RUN/server/db.sqlite
dns:
  base_domain: demo.weft
CFG
	mkdir -p "$RUN/server"
	ip netns exec "$PFX-srv" "$BIN/weft-server/weft-server" serve --config "$RUN/server.yaml" \
		>"$RUN/server.log" 2>&1 &
	echo $! >"$RUN/server.pid"
	cat >"$RUN/bin/weft-server" <<SH
#!/bin/sh
exec "$BIN/weft-server/weft-server" --config "$RUN/server.yaml" "\$@"
SH
	chmod 755 "$RUN/bin/weft-server"
	wait_for 10 "$RUN/bin/weft-server" users list || die "weft-server did not start ($RUN/server.log)"
	"$RUN/bin/weft-server" users create demo >/dev/null || die "users create"
	key=$("$RUN/bin/weft-server" preauthkeys create --user demo --reusable --expiration 24h) ||
		die "preauthkeys create"
	echo "== weft-server running; pre-auth key created for user demo"

	for n in $NODES; do
		ns=$PFX-$n
		mkdir -p "/etc/netns/$ns" "$RUN/$n"
		echo "nameserver 192.0.2.53" >"/etc/netns/$ns/resolv.conf"
		ip netns exec "$ns" "$BIN/weftd/weftd" --statedir "$RUN/$n/state" \
			--socket "$RUN/$n/weftd.sock" --tun "wdemo$n" >"$RUN/weftd-$n.log" 2>&1 &
		echo $! >"$RUN/weftd-$n.pid"
		cat >"$RUN/bin/weft-$n" <<SH
#!/bin/sh
# weft on node ${NAME[$n]} (namespace $ns)
exec ip netns exec "$ns" "$BIN/weft/weft" --socket "$RUN/$n/weftd.sock" "\$@"
SH
		chmod 755 "$RUN/bin/weft-$n"
		wait_for 10 test -S "$RUN/$n/weftd.sock" || die "weftd $n did not start ($RUN/weftd-$n.log)"
		"$RUN/bin/weft-$n" up --login-server http://192.168.77.1:8080 --authkey "$key" \
			--hostname "${NAME[$n]}" --timeout 30s >/dev/null || die "weft up on ${NAME[$n]}"
	done
	unset key
	echo "== three nodes joined"
	for n in $NODES; do
		wait_for 15 peers_online "$n" || die "node ${NAME[$n]} does not see its peers"
	done
	echo
	echo "== weft status (on alpha)"
	"$RUN/bin/weft-a" status
	echo
	echo "== weft ping bravo (from alpha)"
	"$RUN/bin/weft-a" ping -c 2 bravo
	echo
	echo "== ping charlie from alpha: the name from MagicDNS (100.100.100.100), through the tunnel"
	ip netns exec "$PFX-a" ping -c 2 -i 0.2 charlie
	if command -v wg >/dev/null; then
		echo
		echo "== wg show wdemoa (alpha's WireGuard state, read by the standard wg tool)"
		ip netns exec "$PFX-a" wg show wdemoa
	fi
	cat <<MSG

The demo keeps running. Helper commands are in $RUN/bin:
  $RUN/bin/weft-a status              weft on alpha (weft-b: bravo, weft-c: charlie)
  $RUN/bin/weft-b ping alpha
  ip netns exec $PFX-c ping bravo     MagicDNS names on every node (alpha.demo.weft too)
  $RUN/bin/weft-server nodes list     the admin CLI
  ip netns exec $PFX-a bash           a shell on alpha
Logs: $RUN/server.log, $RUN/weftd-{a,b,c}.log.  Stop it with: make demo-stop
MSG
}

# plug NAME N: namespace $PFX-NAME on the LAN with address 192.168.77.N.
plug() {
	ip netns add "$PFX-$1" || die "cannot create namespace $PFX-$1"
	ip -n "$PFX-$1" link set lo up
	ip link add eth0 netns "$PFX-$1" type veth peer name "p$1" netns "$PFX-lan"
	ip -n "$PFX-lan" link set "p$1" master br0
	ip -n "$PFX-lan" link set "p$1" up
	ip -n "$PFX-$1" addr add "192.168.77.$2/24" dev eth0
	ip -n "$PFX-$1" link set eth0 up
}

peers_online() {
	[ "$("$RUN/bin/weft-$1" status --json | jq '[.Peer[]? | select(.Online)] | length')" = 2 ]
}

case ${1:-start} in
start) start ;;
stop) stop ;;
*) echo "usage: demo.sh start|stop" >&2; exit 2 ;;
esac
