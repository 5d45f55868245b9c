#!/usr/bin/env bash
# t_pmtu_blackhole.sh: a 100 MB transfer through weftd must complete across a path
# narrower than the tunnel's packets that also filters ICMP (a PMTU black hole), and
# across the same path with ICMP working.
#
#   ns A                        ns M (router)                          ns B
#   weftd wA 100.64.0.1 --- vA 192.0.2.1 | mA ... mB (MTU 1280) | vB 192.0.2.2 --- weftd wB 100.64.0.2
#                                         nftables: drop ICMP "fragmentation needed"
#
# Tunnel MTU 1420 (wg-quick's default): its datagrams are 1480 bytes, 200 more than the
# path carries. weftd sends them without DF, as kernel WireGuard does, so the router
# fragments them; wireguard-go, nebula and tinc stall here (bench/README-peers.md).
source "$(dirname "$0")/lib.sh"
net_init pmtu-blackhole
command -v wg >/dev/null || skip "needs wg"
command -v nft >/dev/null || skip "needs nft"
XFER=$WEFT_BUILD/tests/tools/xfer

ns_add A M B
veth A vA 192.0.2.1/24 M mA ""
veth B vB 192.0.2.2/24 M mB ""
ip -n "$(ns M)" link set mB mtu 1280
ip -n "$(ns M)" addr add 192.0.2.253/32 dev mA; ip -n "$(ns M)" addr add 192.0.2.254/32 dev mB
ip -n "$(ns M)" route add 192.0.2.1/32 dev mA; ip -n "$(ns M)" route add 192.0.2.2/32 dev mB
nsx M sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.mA.proxy_arp=1 net.ipv4.conf.mB.proxy_arp=1 \
	net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.mA.send_redirects=0 net.ipv4.conf.mB.send_redirects=0
nsx M nft -f - <<'NFT' || fail "nft"
table ip blackhole {
  chain out { type filter hook output priority 0; icmp type destination-unreachable icmp code frag-needed counter drop; }
}
NFT
expect "underlay up" wait_until 10 nsx A ping -c1 -W1 192.0.2.2

IFA=$(ifname a); IFB=$(ifname b)
track_file "/var/run/wireguard/$IFA.sock"; track_file "/var/run/wireguard/$IFB.sock"
spawn A weftd-a "$WEFTD" --wg "$IFA"
spawn B weftd-b "$WEFTD" --wg "$IFB"
expect "weftd A up" wait_until 10 nsx A wg show "$IFA"
expect "weftd B up" wait_until 10 nsx B wg show "$IFB"
umask 077
wg genkey >"$NET_TMP/ka"; wg genkey >"$NET_TMP/kb"
PA=$(wg pubkey <"$NET_TMP/ka"); PB=$(wg pubkey <"$NET_TMP/kb")
nsx A wg set "$IFA" listen-port 51820 private-key "$NET_TMP/ka" peer "$PB" allowed-ips 100.64.0.2/32 endpoint 192.0.2.2:51820
nsx B wg set "$IFB" listen-port 51820 private-key "$NET_TMP/kb" peer "$PA" allowed-ips 100.64.0.1/32 endpoint 192.0.2.1:51820
ip -n "$(ns A)" addr add 100.64.0.1/24 dev "$IFA"; ip -n "$(ns A)" link set "$IFA" mtu 1420 up
ip -n "$(ns B)" addr add 100.64.0.2/24 dev "$IFB"; ip -n "$(ns B)" link set "$IFB" mtu 1420 up
expect "tunnel up" wait_until 15 nsx A ping -c1 -W1 100.64.0.2

transfer() { # label: 100 MB A -> B within the deadline, checksummed
	spawn B "recv-$1" "$XFER" recv 5001
	local rpid=$SPAWNED
	wait_until 10 grep -q listening "$NET_TMP/recv-$1.log" || fail "receiver not listening"
	nsx A timeout 120 "$XFER" send 100.64.0.2 5001 100 >"$NET_TMP/send-$1.out" ||
		fail "$1: 100 MB transfer stalled or failed"
	wait "$rpid" 2>/dev/null
	[ "$(cat "$NET_TMP/send-$1.out")" = "$(grep -v listening "$NET_TMP/recv-$1.log")" ] ||
		fail "$1: data corrupted"
	log "$1: 100 MB ok"
}
transfer blackhole
# The router did fragment (the path really was narrower than the tunnel's packets).
nsx M nft list ruleset | grep -q "counter packets" || fail "no nft counter"
frags=$(nsx M awk '/^Ip:/ { if (n++) print $18 }' /proc/net/snmp)
[ "${frags:-0}" -gt 0 ] || fail "the router fragmented nothing: the test did not exercise the path"

# With ICMP allowed the kernel learns the path MTU; the transfer still completes.
nsx M nft flush ruleset
transfer icmp-ok
pass
