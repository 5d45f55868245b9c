#!/usr/bin/env bash
# t_tailnet_resilience.sh: the tailnet outlives its server and narrow paths (issue 4).
#   1. MTU: node b sits behind router M whose link to b has MTU 1360 (the path a
#      tunnel MTU of 1280 is sized for: no fragmentation may happen), then MTU 1280
#      (narrower than the tunnel's packets; the router filters ICMP "fragmentation
#      needed", a PMTU black hole). A 100 MB transfer over the tailnet completes on both.
#   2. weft-server is killed with SIGKILL while a 100 MB transfer runs: the transfer
#      completes; after a restart the nodes resync (a rename made while it was down
#      reaches the peers' status).
#   3. Profiles: a logs in to a second server (weft login --nickname), switches back, and
#      its first tailnet's peer is reachable again.
#
#   lan L: srv 192.168.50.1 (weft-server), srv2 192.168.50.2 (second weft-server),
#          a 192.168.50.11, c 192.168.50.13, M 192.168.50.254
#   M --(veth, MTU 1360 then 1280)-- b 10.77.0.2
source "$(dirname "$0")/lib.sh"
net_init tailnet-res
command -v jq >/dev/null || skip "needs jq"
command -v nft >/dev/null || skip "needs nft"
for x in "$WEFTD" "$WEFT" "$WEFT_SERVER"; do [ -x "$x" ] || fail "no $x"; done
XFER=$WEFT_BUILD/tests/tools/xfer

lan L
ns_add srv srv2 a b c M
plug L srv 192.168.50.1/24
plug L srv2 192.168.50.2/24
plug L a 192.168.50.11/24
plug L c 192.168.50.13/24
plug L M 192.168.50.254/24
veth M mb 10.77.0.1/24 b eth0 10.77.0.2/24
ip -n "$(ns b)" route add default via 10.77.0.1
for n in srv srv2 a c; do ip -n "$(ns "$n")" route add 10.77.0.0/24 via 192.168.50.254; done
nsx M sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0
nsx M nft -f - <<'NFT' || fail "nft"
table ip blackhole {
  chain out { type filter hook output priority 0; icmp type destination-unreachable icmp code frag-needed counter drop; }
}
NFT
ip -n "$(ns M)" link set mb mtu 1360
ip -n "$(ns b)" link set eth0 mtu 1360
expect "underlay a -> b" wait_until 10 nsx a ping -c1 -W1 10.77.0.2

# ---- servers ---------------------------------------------------------------------------
# server NAME ADDR: write NAME's config and start it; its PID in SRVPID_NAME.
server() {
	local n=$1 addr=$2 d=$NET_TMP/$1
	server_config "$d" "$addr"
	spawn "$n" "$n" "$WEFT_SERVER" serve --config "$d/config.yaml"
	eval "SRVPID_$n=$SPAWNED"
	wait_until 10 test -S "$d/admin.sock" || fail "$n did not start"
}
ws() { local n=$1; shift; "$WEFT_SERVER" --config "$NET_TMP/$n/config.yaml" "$@"; }
server srv 192.168.50.1
server srv2 192.168.50.2
ws srv users create ops >/dev/null || fail "users create"
ws srv2 users create lab >/dev/null || fail "users create on srv2"
KEY=$(ws srv preauthkeys create --user ops --reusable) || fail "preauthkeys create"
KEY2=$(ws srv2 preauthkeys create --user lab --reusable) || fail "preauthkeys create on srv2"

# ---- nodes -----------------------------------------------------------------------------
declare -A SOCK
start_node() {
	local n=$1 d=$NET_TMP/node-$1 if
	if=$(ifname "$1")
	mkdir -p "$d"
	track_file "/var/run/wireguard/$if.sock"
	SOCK[$n]=$d/weftd.sock
	spawn "$n" "weftd-$n" "$WEFTD" --statedir "$d/state" --socket "${SOCK[$n]}" --tun "$if" --port 41641
	wait_until 10 test -S "${SOCK[$n]}" || fail "weftd $n did not start"
}
w() { local n=$1; shift; nsx "$n" "$WEFT" --socket "${SOCK[$n]}" "$@"; }
online_is() { [ "$(w "$1" status --json | jq '[.Peer[]? | select(.Online)] | length')" = "$2" ]; }
peers_named() { w "$1" status --json | jq -r '[.Peer[]?.HostName] | sort | join(",")'; }
dnsnames() { w "$1" status --json | jq -r '[.Peer[]?.DNSName] | sort | join(",")'; }
has_dnsname() { dnsnames "$1" | grep -q "$2"; }

for n in a b c; do
	start_node "$n"
	w "$n" up --login-server http://192.168.50.1:8080 --authkey "$KEY" --hostname "node-$n" \
		--timeout 20s >/dev/null 2>&1 || fail "up on $n"
done
for n in a b c; do wait_until 15 online_is "$n" 2 || fail "$n: $(w "$n" status)"; done
B4=$(w b ip -4)
[ "$(nsx b cat /sys/class/net/"$(ifname b)"/mtu)" = 1280 ] || fail "tunnel MTU is not 1280 by default"

# transfer LABEL: 100 MB a -> b over the tailnet within the deadline, checksummed.
transfer() {
	spawn b "recv-$1" "$XFER" recv 5001
	local rpid=$SPAWNED t0 t1
	wait_until 10 grep -q listening "$NET_TMP/recv-$1.log" || fail "receiver not listening"
	t0=$(date +%s%N)
	nsx a timeout 120 "$XFER" send "$B4" 5001 100 >"$NET_TMP/send-$1.out" ||
		fail "$1: 100 MB transfer stalled or failed"
	t1=$(date +%s%N)
	wait "$rpid" 2>/dev/null
	[ "$(cat "$NET_TMP/send-$1.out")" = "$(grep -v listening "$NET_TMP/recv-$1.log")" ] ||
		fail "$1: data corrupted"
	log "$1: 100 MB in $(((t1 - t0) / 1000000)) ms"
}
frags() { nsx M awk '/^Ip:/ { if (n++) print $18 }' /proc/net/snmp; }

# ---- 1. MTU ----------------------------------------------------------------------------
f0=$(frags)
transfer mtu1360
[ "$(frags)" = "$f0" ] || fail "a 1360-byte path needed fragmentation: the tunnel's packets are too big"
ip -n "$(ns M)" link set mb mtu 1280
ip -n "$(ns b)" link set eth0 mtu 1280
transfer mtu1280-blackhole
[ "$(frags)" -gt "$f0" ] || fail "the router fragmented nothing: the 1280 path was not exercised"

# ---- 2. the server dies mid-transfer ------------------------------------------------------
spawn b recv-kill "$XFER" recv 5001
RPID=$SPAWNED
wait_until 10 grep -q listening "$NET_TMP/recv-kill.log" || fail "receiver not listening"
nsx a timeout 120 "$XFER" send "$B4" 5001 100 >"$NET_TMP/send-kill.out" &
SPID=$!
NET_PIDS+=("$SPID")
# The transfer is under way (some data arrived) before the server goes.
rx_over() { [ "$(nsx b cat "/sys/class/net/$(ifname b)/statistics/rx_bytes")" -gt "$1" ]; }
RX0=$(nsx b cat "/sys/class/net/$(ifname b)/statistics/rx_bytes")
wait_until 20 rx_over $((RX0 + 10000000)) || fail "the transfer did not start"
kill -9 "$SRVPID_srv"
wait "$SRVPID_srv" 2>/dev/null
wait "$SPID" || fail "the transfer failed while the server was down"
wait "$RPID" 2>/dev/null
[ "$(cat "$NET_TMP/send-kill.out")" = "$(grep -v listening "$NET_TMP/recv-kill.log")" ] ||
	fail "server kill: data corrupted"
log "100 MB transfer completed with the server killed"
w a ping -c 1 node-b >/dev/null || fail "a cannot weft ping b with the server down"
# A transfer that starts and ends with the server gone (weftd has noticed by now:
# its map stream is broken), and a fresh handshake is not needed from the server either.
transfer server-down
# Restart it and change something: the nodes must catch up.
spawn srv srv-restarted "$WEFT_SERVER" serve --config "$NET_TMP/srv/config.yaml"
# (its old admin socket file is still there: wait for an answer, not for the file)
srv_answers() { ws srv users list >/dev/null 2>&1; }
wait_until 10 srv_answers || fail "srv did not restart"
CID=$(ws srv nodes list -o json | jq -r '.[] | select(.name == "node-c") | .id')
ws srv nodes rename -i "$CID" renamed-c >/dev/null || fail "rename after restart"
wait_until 30 has_dnsname a renamed-c || fail "a did not resync after the restart: $(dnsnames a)"
wait_until 30 has_dnsname b renamed-c || fail "b did not resync after the restart: $(dnsnames b)"
for n in a b c; do wait_until 30 online_is "$n" 2 || fail "$n after restart: $(w "$n" status)"; done
log "nodes resynced after the server restart"

# ---- 3. profiles -----------------------------------------------------------------------
w a login --nickname lab --login-server http://192.168.50.2:8080 --authkey "$KEY2" \
	--hostname node-a-lab --timeout 20s >/dev/null 2>&1 || fail "login to the second server"
wait_until 15 test "$(w a status --json | jq -r .BackendState)" = Running || fail "a not running on srv2"
[ "$(peers_named a)" = "" ] || fail "a on the lab tailnet still lists: $(peers_named a)"
w a switch --list >"$NET_TMP/profiles" || fail "switch --list"
grep -q lab "$NET_TMP/profiles" || fail "switch --list lacks lab: $(cat "$NET_TMP/profiles")"
FIRST=$(w a switch --list --json 2>/dev/null | jq -r '.[] | select(.Nickname != "lab") | .ID' 2>/dev/null | head -1)
[ -n "$FIRST" ] || FIRST=$(awk 'NR > 1 && !/lab/ { print $1; exit }' "$NET_TMP/profiles")
w a switch "$FIRST" >/dev/null || fail "switch back to $FIRST: $(cat "$NET_TMP/profiles")"
wait_until 20 online_is a 2 || fail "a back on the first tailnet: $(w a status)"
wait_until 10 nsx a ping -c1 -W1 "$B4" >/dev/null || fail "a cannot reach b after switching back"
log "profile switch between two servers works"
pass
