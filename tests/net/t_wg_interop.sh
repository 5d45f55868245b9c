#!/usr/bin/env bash
# t_wg_interop.sh PEER: weftd --wg against PEER (wireguard-go or weftd), configured with wg(8).
#
#   ns A                                         ns B
#   weftd  tun wA 100.64.0.1/24 fd7a::1/64       PEER  tun wB 100.64.0.2/24 fd7a::2/64
#      vA 192.0.2.1/24 ------ veth ------ vB 192.0.2.2/24  (+ 192.0.2.12 after roaming)
#
# 1. A initiates (only A knows B's endpoint): ping over IPv4 and IPv6.
# 2. Peers removed and re-added the other way round: B initiates; ping again.
# 3. 100 MB TCP A->B and B->A, checksums compared; wg show on both sides reports a
#    latest handshake and byte counters that agree (A's sent = B's received, and back).
# 4. Roaming: mid-transfer, B's underlay address changes to 192.0.2.12 (the old one
#    removed); the transfer completes and A's endpoint for B follows.
# 5. Garbage: 3000 hostile datagrams at weftd's port; it keeps running and forwarding.
source "$(dirname "$0")/lib.sh"
PEER=${1:-wireguard-go}
net_init "wg-interop-$PEER"
command -v wg >/dev/null || skip "needs wg (apt-get install wireguard-tools)"
[ -x "$WEFTD" ] || fail "no weftd at $WEFTD"
XFER=$WEFT_BUILD/tests/tools/xfer
case $PEER in
wireguard-go) command -v wireguard-go >/dev/null || skip "needs wireguard-go" ;;
weftd) ;;
*) fail "unknown peer $PEER" ;;
esac

ns_add A B
veth A vA 192.0.2.1/24 B vB 192.0.2.2/24
IFA=$(ifname a); IFB=$(ifname b)
track_file "/var/run/wireguard/$IFA.sock"; track_file "/var/run/wireguard/$IFB.sock"

spawn A weftd-a "$WEFTD" --wg "$IFA" --verbose 2
PID_A=$SPAWNED
if [ "$PEER" = weftd ]; then
	spawn B peer-b "$WEFTD" --wg "$IFB"
else
	spawn B peer-b env WG_PROCESS_FOREGROUND=1 wireguard-go "$IFB"
fi
PID_B=$SPAWNED
expect "weftd serves wg(8) on $IFA" wait_until 10 nsx A wg show "$IFA"
expect "$PEER serves wg(8) on $IFB" wait_until 10 nsx B wg show "$IFB"

umask 077
KA=$(wg genkey); KB=$(wg genkey); PA=$(echo "$KA" | wg pubkey); PB=$(echo "$KB" | wg pubkey)
PSK=$(wg genpsk)
echo "$KA" >"$NET_TMP/ka"; echo "$KB" >"$NET_TMP/kb"; echo "$PSK" >"$NET_TMP/psk"

# A via setconf (a config file), B via set (arguments): both code paths of wg(8).
cat >"$NET_TMP/a.conf" <<CONF
[Interface]
PrivateKey = $KA
ListenPort = 51820

[Peer]
PublicKey = $PB
PresharedKey = $PSK
AllowedIPs = 100.64.0.2/32, fd7a::2/128
Endpoint = 192.0.2.2:51820
CONF
expect "wg setconf on A" nsx A wg setconf "$IFA" "$NET_TMP/a.conf"
expect "wg set on B" nsx B wg set "$IFB" listen-port 51820 private-key "$NET_TMP/kb" \
	peer "$PA" preshared-key "$NET_TMP/psk" allowed-ips 100.64.0.1/32,fd7a::1/128
ip -n "$(ns A)" addr add 100.64.0.1/24 dev "$IFA"; ip -n "$(ns A)" addr add fd7a::1/64 dev "$IFA" nodad
ip -n "$(ns B)" addr add 100.64.0.2/24 dev "$IFB"; ip -n "$(ns B)" addr add fd7a::2/64 dev "$IFB" nodad
ip -n "$(ns A)" link set "$IFA" mtu 1420 up; ip -n "$(ns B)" link set "$IFB" mtu 1420 up

# wg showconf round-trips what we set.
nsx A wg showconf "$IFA" >"$NET_TMP/a.show" || fail "wg showconf A"
grep -q "^PrivateKey = $KA" "$NET_TMP/a.show" || fail "showconf lacks the private key"
grep -q "^ListenPort = 51820" "$NET_TMP/a.show" || fail "showconf lacks the port"
grep -q "^PresharedKey = $PSK" "$NET_TMP/a.show" || fail "showconf lacks the psk"
grep -q "^AllowedIPs = 100.64.0.2/32, fd7a::2/128" "$NET_TMP/a.show" || fail "showconf allowed ips: $(cat "$NET_TMP/a.show")"
grep -q "^Endpoint = 192.0.2.2:51820" "$NET_TMP/a.show" || fail "showconf endpoint"

ping_ok() { nsx "$1" ping -c 1 -W 1 "$2"; }

log "1. A initiates"
expect "ping A->B v4" wait_until 15 ping_ok A 100.64.0.2
expect "ping A->B v6" wait_until 10 ping_ok A fd7a::2
hs() { nsx "$1" wg show "$2" latest-handshakes | awk '{print $2}'; }
[ "$(hs A "$IFA")" -gt 0 ] || fail "A reports no handshake"
[ "$(hs B "$IFB")" -gt 0 ] || fail "B reports no handshake"
# B learned A's endpoint from the handshake.
nsx B wg show "$IFB" endpoints | grep -q "192.0.2.1:51820" || fail "B did not learn A's endpoint"

log "2. B initiates"
nsx A wg set "$IFA" peer "$PB" remove
nsx B wg set "$IFB" peer "$PA" remove
nsx A wg set "$IFA" peer "$PB" preshared-key "$NET_TMP/psk" allowed-ips 100.64.0.2/32,fd7a::2/128
nsx B wg set "$IFB" peer "$PA" preshared-key "$NET_TMP/psk" allowed-ips 100.64.0.1/32,fd7a::1/128 endpoint 192.0.2.1:51820
[ "$(hs A "$IFA")" = 0 ] || fail "A's re-added peer should have no handshake yet"
expect "ping B->A v4" wait_until 15 ping_ok B 100.64.0.1
expect "ping B->A v6" wait_until 10 ping_ok B fd7a::1
nsx A wg show "$IFA" endpoints | grep -q "192.0.2.2:51820" || fail "A did not learn B's endpoint"

transfer() { # from to dst-addr port MB label
	local from=$1 to=$2 dst=$3 port=$4 mb=$5 label=$6 rpid
	spawn "$to" "recv-$label" "$XFER" recv "$port"
	rpid=$SPAWNED
	wait_until 10 grep -q listening "$NET_TMP/recv-$label.log" || fail "receiver $label not listening"
	nsx "$from" timeout 300 "$XFER" send "$dst" "$port" "$mb" >"$NET_TMP/send-$label.out" ||
		fail "transfer $label failed"
	wait "$rpid" 2>/dev/null
	local s r
	s=$(cat "$NET_TMP/send-$label.out")
	r=$(grep -v listening "$NET_TMP/recv-$label.log")
	[ -n "$s" ] && [ "$s" = "$r" ] || fail "transfer $label: sent '$s', received '$r'"
	log "transfer $label ok: $s"
}

log "3. 100 MB each way"
transfer A B 100.64.0.2 5001 100 a2b
transfer B A fd7a::1 5002 100 b2a

# Counters agree once traffic settles: what B received is what A sent, less what the
# network dropped on the way (UDP receive-buffer drops in B's namespace, packets the veth
# backlog dropped), and back. No drops means equal counts.
udp_drops() { # NAME: UDP datagrams the namespace's stack dropped on receive, plus backlog drops
	local in_err backlog
	in_err=$(nsx "$1" awk '/^Udp:/ { if (n++) print $4 }' /proc/net/snmp)
	backlog=$(awk '{ s += strtonum("0x" $2) } END { print s }' /proc/net/softnet_stat)
	echo $((in_err + backlog))
}
quiet() { # the counters stopped moving
	local a b
	a=$(nsx A wg show "$IFA" transfer); b=$(nsx B wg show "$IFB" transfer)
	[ "$a" = "${LAST_A:-}" ] && [ "$b" = "${LAST_B:-}" ] && return 0
	LAST_A=$a; LAST_B=$b
	return 1
}
wait_until 30 quiet || fail "transfer counters never settled"
read -r _ A_RX A_TX < <(nsx A wg show "$IFA" transfer)
read -r _ B_RX B_TX < <(nsx B wg show "$IFB" transfer)
DROP_B=$(udp_drops B); DROP_A=$(udp_drops A)
log "counters: A sent $A_TX, B received $B_RX (drops seen at B: $DROP_B); B sent $B_TX, A received $A_RX (drops at A: $DROP_A)"
[ "$A_TX" -ge $((100 << 20)) ] && [ "$B_TX" -ge $((100 << 20)) ] || fail "counters lower than the data sent"
[ "$B_RX" -le "$A_TX" ] && [ $((A_TX - B_RX)) -le $((DROP_B * 1600)) ] ||
	fail "A->B counters disagree beyond the $DROP_B drops: sent $A_TX, received $B_RX"
[ "$A_RX" -le "$B_TX" ] && [ $((B_TX - A_RX)) -le $((DROP_A * 1600)) ] ||
	fail "B->A counters disagree beyond the $DROP_A drops: sent $B_TX, received $A_RX"

log "4. roaming: B's address changes mid-transfer"
spawn A recv-roam "$XFER" recv 5003
RPID=$SPAWNED
wait_until 10 grep -q listening "$NET_TMP/recv-roam.log" || fail "receiver not listening"
nsx B timeout 300 "$XFER" send 100.64.0.1 5003 100 >"$NET_TMP/send-roam.out" &
SPID=$!
NET_PIDS+=("$SPID")
# Move once some data has flowed.
wait_until 20 sh -c "[ \$(ip netns exec $(ns A) wg show $IFA transfer | awk '{print \$2}') -gt 150000000 ]" ||
	fail "roaming transfer did not start"
# Without promote_secondaries, deleting the primary address takes the new one with it.
nsx B sysctl -qw net.ipv4.conf.all.promote_secondaries=1 net.ipv4.conf.vB.promote_secondaries=1
ip -n "$(ns B)" addr add 192.0.2.12/24 dev vB
ip -n "$(ns B)" addr del 192.0.2.2/24 dev vB
wait "$SPID" || fail "roaming transfer failed"
wait "$RPID" 2>/dev/null
[ "$(cat "$NET_TMP/send-roam.out")" = "$(grep -v listening "$NET_TMP/recv-roam.log")" ] ||
	fail "roaming transfer corrupted"
nsx A wg show "$IFA" endpoints | grep -q "192.0.2.12:51820" || fail "A's endpoint for B did not follow"

log "5. hostile datagrams"
nsx B "$XFER" spray 192.0.2.1 51820 3000 >/dev/null || fail "spray"
kill -0 "$PID_A" || fail "weftd died under garbage"
expect "still forwarding after garbage" wait_until 10 ping_ok B 100.64.0.1
kill -USR1 "$PID_A"
wait_until 5 grep -q "counter rx_" "$NET_TMP/weftd-a.log" || fail "no drop counters logged"

log "6. interface removal stops weftd"
ip -n "$(ns A)" link del "$IFA"
wait_until 10 sh -c "! kill -0 $PID_A 2>/dev/null" || fail "weftd did not exit when its interface went away"
pass
