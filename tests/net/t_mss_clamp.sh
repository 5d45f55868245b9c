#!/usr/bin/env bash
# t_mss_clamp.sh: forwarded TCP between two hosts with 1500-byte interfaces, through two
# weftd nodes whose tunnel MTU is 1280 and whose kernels may not send "fragmentation
# needed" (as behind firewalls that filter ICMP): weftd's MSS clamping is what keeps
# the transfer alive.
#
#   H1 10.1.0.2 -- 10.1.0.1 [A: weftd wA 100.64.0.1, MTU 1280] 192.0.2.1
#                                                                 | veth
#   H2 10.2.0.2 -- 10.2.0.1 [B: weftd wB 100.64.0.2, MTU 1280] 192.0.2.2
#
# H1 and H2 announce MSS 1460; B clamps H2's SYN-ACK (and A H1's SYN) to 1240 as they
# enter the tunnel, so H1 sends segments that fit. Without clamping, A drops them and,
# with the ICMP suppressed, nobody learns why.
source "$(dirname "$0")/lib.sh"
net_init mss-clamp
command -v wg >/dev/null || skip "needs wg"
command -v nft >/dev/null || skip "needs nft"
XFER=$WEFT_BUILD/tests/tools/xfer

ns_add H1 A B H2
veth H1 h1 10.1.0.2/24 A a1 10.1.0.1/24
veth A au 192.0.2.1/24 B bu 192.0.2.2/24
veth B b2 10.2.0.1/24 H2 h2 10.2.0.2/24
ip -n "$(ns H1)" route add default via 10.1.0.1
ip -n "$(ns H2)" route add default via 10.2.0.1
for n in A B; do
	nsx $n sysctl -qw net.ipv4.ip_forward=1
	nsx $n nft -f - <<'NFT' || fail "nft"
table ip quiet {
  chain out { type filter hook output priority 0; icmp type destination-unreachable icmp code frag-needed counter drop; }
}
NFT
done

IFA=$(ifname a); IFB=$(ifname b)
track_file "/var/run/wireguard/$IFA.sock"; track_file "/var/run/wireguard/$IFB.sock"
spawn A weftd-a "$WEFTD" --wg "$IFA" --mtu 1280
spawn B weftd-b "$WEFTD" --wg "$IFB" --mtu 1280
expect "weftd A up" wait_until 10 nsx A wg show "$IFA"
expect "weftd B up" wait_until 10 nsx B wg show "$IFB"
umask 077
wg genkey >"$NET_TMP/ka"; wg genkey >"$NET_TMP/kb"
PA=$(wg pubkey <"$NET_TMP/ka"); PB=$(wg pubkey <"$NET_TMP/kb")
nsx A wg set "$IFA" listen-port 51820 private-key "$NET_TMP/ka" peer "$PB" \
	allowed-ips 100.64.0.2/32,10.2.0.0/24 endpoint 192.0.2.2:51820
nsx B wg set "$IFB" listen-port 51820 private-key "$NET_TMP/kb" peer "$PA" \
	allowed-ips 100.64.0.1/32,10.1.0.0/24 endpoint 192.0.2.1:51820
ip -n "$(ns A)" addr add 100.64.0.1/24 dev "$IFA"; ip -n "$(ns A)" link set "$IFA" up
ip -n "$(ns B)" addr add 100.64.0.2/24 dev "$IFB"; ip -n "$(ns B)" link set "$IFB" up
ip -n "$(ns A)" route add 10.2.0.0/24 dev "$IFA"
ip -n "$(ns B)" route add 10.1.0.0/24 dev "$IFB"
expect "H1 reaches H2 through the tunnel" wait_until 15 nsx H1 ping -c1 -W1 10.2.0.2
# Large packets really do not fit: a 1400-byte ping with DF set gets nowhere.
nsx H1 ping -c1 -W1 -M do -s 1400 10.2.0.2 >/dev/null 2>&1 && fail "the tunnel carried a 1428-byte packet"

spawn H2 recv "$XFER" recv 5001
RPID=$SPAWNED
wait_until 10 grep -q listening "$NET_TMP/recv.log" || fail "receiver not listening"
nsx H1 timeout 60 "$XFER" send 10.2.0.2 5001 20 >"$NET_TMP/send.out" ||
	fail "forwarded transfer stalled: segments larger than the tunnel were sent"
wait "$RPID" 2>/dev/null
[ "$(cat "$NET_TMP/send.out")" = "$(grep -v listening "$NET_TMP/recv.log")" ] || fail "data corrupted"
pass
