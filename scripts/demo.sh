#!/usr/bin/env bash
# demo.sh start|stop: `make demo` / `make demo-stop`.
# Two network namespaces joined by a veth, a weftd in each in plain-WireGuard mode,
# configured with wg(8) exactly as one would configure wireguard-go:
#
#   weft-demo-a: weftd wdemoa 100.64.0.1/24  192.0.2.1 <--veth--> 192.0.2.2  100.64.0.2/24 wdemob :weft-demo-b
#
# It prints `wg show` from both sides and pings across the tunnel, then leaves
# everything running so you can try commands; `make demo-stop` removes it all.
set -u
cd "$(dirname "$0")/.."
A=weft-demo-a B=weft-demo-b
RUN=/run/weft-demo
WEFTD=build/src/weftd/weftd

stop() {
	local p
	for p in "$RUN"/*.pid; do
		[ -f "$p" ] || continue
		kill "$(cat "$p")" 2>/dev/null
	done
	for n in $A $B; do ip netns del $n 2>/dev/null; done
	rm -rf "$RUN"
	echo "demo stopped"
}

need() { command -v "$1" >/dev/null || { echo "demo: needs $1 (make installs it: run make first)" >&2; exit 1; }; }

start() {
	[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }
	need wg; need ip
	[ -x "$WEFTD" ] || { echo "demo: no $WEFTD; run make first" >&2; exit 1; }
	if ip netns list | grep -qw "$A"; then
		echo "demo: already running; make demo-stop first" >&2
		exit 1
	fi
	mkdir -p "$RUN"
	ip netns add $A && ip netns add $B || exit 1
	ip -n $A link set lo up; ip -n $B link set lo up
	ip link add vdemoa netns $A type veth peer name vdemob netns $B
	ip -n $A addr add 192.0.2.1/24 dev vdemoa; ip -n $A link set vdemoa up
	ip -n $B addr add 192.0.2.2/24 dev vdemob; ip -n $B link set vdemob up

	for s in a b; do
		ns=weft-demo-$s
		ip netns exec "$ns" "$WEFTD" --wg "wdemo$s" >"$RUN/weftd-$s.log" 2>&1 &
		echo $! >"$RUN/weftd-$s.pid"
	done
	for s in a b; do
		for _ in $(seq 100); do
			ip netns exec "weft-demo-$s" wg show "wdemo$s" >/dev/null 2>&1 && break
			sleep 0.05
		done
	done
	umask 077
	wg genkey >"$RUN/a.key"; wg genkey >"$RUN/b.key"
	pa=$(wg pubkey <"$RUN/a.key"); pb=$(wg pubkey <"$RUN/b.key")
	ip netns exec $A wg set wdemoa listen-port 51820 private-key "$RUN/a.key" \
		peer "$pb" allowed-ips 100.64.0.2/32 endpoint 192.0.2.2:51820
	ip netns exec $B wg set wdemob listen-port 51820 private-key "$RUN/b.key" \
		peer "$pa" allowed-ips 100.64.0.1/32 endpoint 192.0.2.1:51820
	ip -n $A addr add 100.64.0.1/24 dev wdemoa; ip -n $A link set wdemoa up
	ip -n $B addr add 100.64.0.2/24 dev wdemob; ip -n $B link set wdemob up

	echo "== ping 100.64.0.2 from $A, through the tunnel"
	ip netns exec $A ping -c 3 -i 0.2 100.64.0.2
	echo
	echo "== wg show (in $A)"
	ip netns exec $A wg show wdemoa
	echo
	echo "== wg show (in $B)"
	ip netns exec $B wg show wdemob
	cat <<MSG

The demo keeps running. Try:
  ip netns exec $A ping 100.64.0.2
  ip netns exec $B wg show wdemob
  ip netns exec $A wg showconf wdemoa
Logs: $RUN/weftd-a.log, $RUN/weftd-b.log.  Stop it with: make demo-stop
MSG
}

case ${1:-start} in
start) start ;;
stop) stop ;;
*) echo "usage: demo.sh start|stop" >&2; exit 2 ;;
esac
