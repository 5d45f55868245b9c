#!/usr/bin/env bash
# t_nat.sh: NAT traversal through real nftables NAT routers (issue 5). weft-server (with
# its embedded relay and STUN) sits on a "public" LAN; every node sits behind a router of
# its own that masquerades it onto that LAN. Each case asserts the path `weft status
# --json` reports (CurAddr "ip:port" when direct, "" and Relay "weft" when relayed) and
# that traffic flows:
#   (a) both routers endpoint-independent (full cone)      -> direct
#   (b) one full cone, one masquerade fully-random         -> direct
#   (c) both routers masquerade fully-random               -> relayed, ping works
#   (d) a3's router drops all UDP (b3 plain masquerade)   -> relayed over TCP, ping works
#   (e) b5 moves to another router mid-transfer (full cone) -> 100 MB completes, direct to
#       b5's new public address
#   (f) the relay (weft-server) is killed and restarted   -> clients reconnect, ping again
#   (g) two meshed weft-relays R1, R2 in one region; b6 cannot reach R1, so a6 is on R1
#       and b6 on R2                                       -> relayed across the mesh
# Each node's `weft netcheck --format json` is checked too: GlobalV4 its router's public
# address, MappingVariesByDestIP true exactly behind fully-random routers, UDP false behind
# the router that drops UDP. Telling a hard NAT takes two STUN endpoints: the server's
# second STUN address (derp.server.stun_second_listen_addr, a second node of its region),
# and in (g) the region's two relays.
#
#   public LAN W 203.0.113.0/24 -- srv 203.0.113.1 (weft-server :8080, STUN :3478)
#                                      203.0.113.4 (its second STUN address, :3478)
#     |-- rA 203.0.113.1X  ==NAT==  10.X.1.1/24 -- aX 10.X.1.2   (weftd)
#     |-- rB 203.0.113.2X  ==NAT==  10.X.2.1/24 -- bX 10.X.2.2   (weftd)
#     `-- rc5 203.0.113.35 ==NAT==  10.5.3.1/24 -- b5 10.5.3.2   (case e: b5's second link)
source "$(dirname "$0")/lib.sh"
net_init nat
command -v jq >/dev/null || skip "needs jq"
command -v nft >/dev/null || skip "needs nft"
for x in "$WEFTD" "$WEFT" "$WEFT_SERVER"; do [ -x "$x" ] || fail "no $x"; done
XFER=$WEFT_BUILD/tests/tools/xfer

lan W
ns_add srv
plug W srv 203.0.113.1/24
nsx srv ip addr add 203.0.113.4/24 dev eth0

# ---- the server ------------------------------------------------------------------------
SD=$NET_TMP/srv
server_config "$SD" 203.0.113.1
cat >>"$SD/config.yaml" <<CFG
derp:
  server:
    enabled: true
    region_id: 999
    region_code: weft
    stun_listen_addr: 203.0.113.1:3478
    stun_second_listen_addr: 203.0.113.4:3478
dns:
  base_domain: tail.test
CFG
ws() { "$WEFT_SERVER" --config "$SD/config.yaml" "$@"; }
start_server() {
	spawn srv server "$WEFT_SERVER" serve --config "$SD/config.yaml"
	SRV_PID=$SPAWNED
	wait_until 10 test -S "$SD/admin.sock" || fail "weft-server did not start"
}
start_server
ws users create ops >/dev/null || fail "users create"
KEY=$(ws preauthkeys create --user ops --reusable --expiration 1h) || fail "preauthkeys create"

# router R WANADDR LANNET MODE: namespace R routes LANNET.0/24 (as LANNET.1) onto W as WANADDR
# and masquerades it. MODE:
#   plain         masquerade: port-preserving, but filtering by address and port
#   eim           plain, and UDP 41641 from anywhere goes to LANNET.2:41641: endpoint-
#                 independent mapping and filtering for weft's port (a full cone). Plain
#                 masquerade on BOTH sides cannot punch: the first ping to arrive at a
#                 router creates a conntrack entry that clashes with the node's own ping
#                 out, so that one leaves from another port (docs/CONTRACT, case b).
#   fully-random  masquerade fully-random: a new random port per destination (hard NAT)
#   noudp         plain, and every forwarded UDP datagram dropped
router() {
	local r=$1 wan=$2 net=$3 mode=$4 masq="masquerade" pre=""
	ns_add "$r"
	plug W "$r" "$wan/24"
	nsx "$r" sysctl -qw net.ipv4.ip_forward=1
	[ "$mode" = fully-random ] && masq="masquerade fully-random"
	[ "$mode" = eim ] && pre="iifname \"eth0\" udp dport 41641 dnat to $net.2:41641;"
	nsx "$r" nft -f - <<NFT || fail "nft on $r"
table ip nat {
	chain natpre { type nat hook prerouting priority -100; $pre }
	chain natpost { type nat hook postrouting priority 100; oifname "eth0" $masq; }
}
table inet filter {
	chain filt { type filter hook forward priority 0; $([ "$mode" = noudp ] && echo 'meta l4proto udp drop;') }
}
NFT
}

declare -A SOCK PID
# node N ROUTER LANNET: namespace N behind ROUTER at LANNET.2, weftd running and logged in.
node() {
	local n=$1 r=$2 net=$3 d=$NET_TMP/$1 if
	ns_add "$n"
	veth "$r" "l$n" "$net.1/24" "$n" eth0 "$net.2/24"
	nsx "$n" ip route add default via "$net.1"
	if=$(ifname "$n")
	mkdir -p "$d"
	track_file "/var/run/wireguard/$if.sock"
	SOCK[$n]=$d/weftd.sock
	spawn "$n" "weftd-$n" "$WEFTD" --statedir "$d/state" --socket "${SOCK[$n]}" --tun "$if" \
		--port 41641 --verbose 2
	PID[$n]=$SPAWNED
	wait_until 10 test -S "${SOCK[$n]}" || fail "weftd $n did not start"
	w "$n" up --login-server http://203.0.113.1:8080 --authkey "$KEY" --hostname "$n" \
		--timeout 20s >"$NET_TMP/up-$n.out" 2>&1 || fail "up on $n: $(cat "$NET_TMP/up-$n.out")"
}
w() { local n=$1; shift; nsx "$n" "$WEFT" --socket "${SOCK[$n]}" "$@"; }
ip4() { w "$1" ip -4; }
# peer_field N PEER FIELD: FIELD of N's status entry for host PEER.
peer_field() { w "$1" status --json | jq -r --arg h "$2" ".Peer[] | select(.HostName == \$h) | .$3"; }
is_direct() { [ -n "$(peer_field "$1" "$2" CurAddr)" ]; }
pings() { nsx "$1" ping -c1 -W1 "$2" >/dev/null; }
# keep_pinging S D SECONDS: traffic keeps the session active while the path settles.
keep_pinging() { nsx "$1" ping -i 0.2 -w "$3" -q "$2" >/dev/null 2>&1 || true; }

# pair CASE MODEA MODEB: routers rA/rB and nodes aCASE/bCASE behind them.
pair() {
	local c=$1
	router "ra$c" "203.0.113.1$c" "10.$c.1" "$2"
	router "rb$c" "203.0.113.2$c" "10.$c.2" "$3"
	node "a$c" "ra$c" "10.$c.1"
	node "b$c" "rb$c" "10.$c.2"
	T_UP=$(date +%s%N) # both are up: the clock for the figures in docs/BENCHMARKS.md
	# One echo every 50 ms until the first reply (20 s deadline): the figure's resolution.
	nsx "a$c" ping -c 1 -i 0.05 -w 20 "$(ip4 "b$c")" >/dev/null ||
		fail "case $c: a$c cannot reach b$c at all"
	T_PING=$(date +%s%N)
}
stop_pair() { stop_pid "${PID[a$1]}"; stop_pid "${PID[b$1]}"; }

# nat_is N UDP VARIES GLOBALV4: N's last report says UDP, MappingVariesByDestIP VARIES and
# a GlobalV4 that starts with GLOBALV4 ("ROUTER:41641" kept, "ROUTER:" randomised, "" none).
nat_is() {
	w "$1" netcheck --format json | jq -e --argjson u "$2" --argjson v "$3" --arg g "$4" \
		'.UDP == $u and .MappingVariesByDestIP == $v and (.GlobalV4 | startswith($g)) and
		 ($g != "" or .GlobalV4 == "")' >/dev/null
}
# check_nat CASE N UDP VARIES GLOBALV4: within the first report's 5 s STUN timeout and more.
check_nat() {
	local c=$1
	shift
	wait_until 10 nat_is "$@" || fail "($c) netcheck on $1, want UDP $2," \
		"MappingVariesByDestIP $3, GlobalV4 $4...: $(w "$1" netcheck --format json)"
}

# ---- (a) both behind endpoint-independent NAT: direct ----------------------------------
pair 1 eim eim
# direct_while_pinging S D: one ping (traffic keeps the session active), then the path.
direct_while_pinging() { pings "$1" "$(ip4 "$2")"; is_direct "$1" "$2"; }
wait_until 20 direct_while_pinging a1 b1 || fail "(a) a1 -> b1 not direct: $(w a1 status; w a1 debug counters | grep -E 'magicsock|disco')"
T_DIRECT=$(date +%s%N)
wait_until 20 is_direct b1 a1 || fail "(a) b1 -> a1 not direct: $(w b1 status; w b1 debug counters | grep -E "magicsock|disco_rej")"
case "$(peer_field a1 b1 CurAddr)" in
203.0.113.21:*) ;;
*) fail "(a) a1 reaches b1 at $(peer_field a1 b1 CurAddr), not b1's router" ;;
esac
w a1 ping -c 1 b1 | grep -q "via 203.0.113.21:" || fail "(a) weft ping not via the direct path"
w a1 netcheck --format json | jq -e '.PreferredDERP == 999' >/dev/null ||
	fail "(a) netcheck: $(w a1 netcheck --format json)"
check_nat a a1 true false 203.0.113.11:41641
check_nat a b1 true false 203.0.113.21:41641
log "(a) direct: a1 -> $(peer_field a1 b1 CurAddr); first ping $(((T_PING - T_UP) / 1000000)) ms" \
	"after up, direct $(((T_DIRECT - T_PING) / 1000000)) ms after that"
stop_pair 1

# ---- (e) a node's underlay address changes mid-transfer: the path follows ----------------
# b5 moves from router rb5 to router rc5 (as a laptop moves to another network): its LAN
# address, its public address and its relay connection change, and a5's direct path dies.
pair 5 eim eim
router rc5 203.0.113.35 10.5.3 eim
veth rc5 lb5 10.5.3.1/24 b5 eth1 10.5.3.2/24
wait_until 20 direct_while_pinging a5 b5 || fail "(e) a5 -> b5 not direct: $(w a5 status)"
wait_until 20 is_direct b5 a5 || fail "(e) b5 -> a5 not direct: $(w b5 status)"
spawn b5 recv-e "$XFER" recv 5001
RPID=$SPAWNED
wait_until 10 grep -q listening "$NET_TMP/recv-e.log" || fail "(e) receiver not listening"
nsx a5 timeout 120 "$XFER" send "$(ip4 b5)" 5001 100 >"$NET_TMP/send-e.out" &
SPID=$!
NET_PIDS+=("$SPID")
rx_over() { [ "$(nsx b5 cat "/sys/class/net/$(ifname b5)/statistics/rx_bytes")" -gt "$1" ]; }
RX0=$(nsx b5 cat "/sys/class/net/$(ifname b5)/statistics/rx_bytes")
wait_until 20 rx_over $((RX0 + 2000000)) || fail "(e) the transfer did not start"
nsx b5 ip link set eth0 down
nsx b5 ip route replace default via 10.5.3.1 || fail "(e) cannot route b5 through rc5"
T_MOVE=$(date +%s%N)
kill -0 "$SPID" 2>/dev/null || fail "(e) the transfer ended before b5 moved: nothing tested"
wait "$SPID" || fail "(e) the transfer failed after b5 moved: $(w a5 status)"
T_DONE=$(date +%s%N)
wait "$RPID" 2>/dev/null
[ "$(cat "$NET_TMP/send-e.out")" = "$(grep -v listening "$NET_TMP/recv-e.log")" ] ||
	fail "(e) data corrupted"
at_rc5() { pings a5 "$(ip4 b5)" && [[ "$(peer_field a5 b5 CurAddr)" == 203.0.113.35:* ]]; }
wait_until 30 at_rc5 || fail "(e) a5 does not reach b5 at rc5: $(peer_field a5 b5 CurAddr)"
T_PATH=$(date +%s%N)
wait_until 20 is_direct b5 a5 || fail "(e) b5 -> a5 not direct after the move: $(w b5 status)"
log "(e) moved: 100 MB done $(((T_DONE - T_MOVE) / 1000000)) ms after the move," \
	"direct again $(((T_PATH - T_MOVE) / 1000000)) ms after it: a5 -> $(peer_field a5 b5 CurAddr)"
stop_pair 5

# ---- (b) one endpoint-independent, one port-randomising: direct ------------------------
pair 4 eim fully-random
keep_pinging b4 "$(ip4 a4)" 2
wait_until 20 is_direct b4 a4 || fail "(b) b4 -> a4 not direct: $(w b4 status)"
wait_until 20 is_direct a4 b4 || fail "(b) a4 -> b4 not direct: $(w a4 status)"
check_nat b a4 true false 203.0.113.14:41641
check_nat b b4 true true 203.0.113.24:
log "(b) direct: b4 -> $(peer_field b4 a4 CurAddr), a4 -> $(peer_field a4 b4 CurAddr)"
stop_pair 4

# ---- (c) both port-randomising: relayed, traffic flows ---------------------------------
pair 2 fully-random fully-random
keep_pinging a2 "$(ip4 b2)" 3
[ -z "$(peer_field a2 b2 CurAddr)" ] || fail "(c) a2 -> b2 claims direct: $(peer_field a2 b2 CurAddr)"
[ "$(peer_field a2 b2 Relay)" = weft ] || fail "(c) a2 -> b2 relay: $(peer_field a2 b2 Relay)"
w a2 ping -c 1 b2 | grep -q "via RELAY(weft)" || fail "(c) weft ping not via the relay"
check_nat c a2 true true 203.0.113.12:
check_nat c b2 true true 203.0.113.22:
nsx a2 ping -c 20 -i 0.05 -W1 -q "$(ip4 b2)" >/dev/null || fail "(c) pings through the relay lost"
log "(c) relayed: $(w a2 status | grep b2); first ping $(((T_PING - T_UP) / 1000000)) ms after up"

# ---- (f) the relay restarts: clients reconnect, traffic resumes -------------------------
stop_pid "$SRV_PID"
start_server
wait_until 30 pings a2 "$(ip4 b2)" || fail "(f) no traffic after the relay restarted"
log "(f) relayed traffic resumed after the relay restart"
stop_pair 2

# ---- (d) one node with all UDP blocked: relayed over TCP -------------------------------
pair 3 noudp plain
keep_pinging b3 "$(ip4 a3)" 3
[ -z "$(peer_field b3 a3 CurAddr)" ] || fail "(d) b3 -> a3 claims direct"
# Without UDP the first report waits out the STUN timeout (5 s), longer than the first ping.
check_nat d a3 false false ""
check_nat d b3 true false 203.0.113.23:41641
nsx b3 ping -c 10 -i 0.1 -W1 -q "$(ip4 a3)" >/dev/null || fail "(d) pings over the TCP relay lost"
log "(d) relayed over TCP: $(w b3 status | grep a3)"

# ---- (g) two meshed relays in one region, the nodes homed on different ones -------------
# The server's own relay is off; its map has one region of two weft-relay nodes, R1 then
# R2, meshed. A node takes the first node of a region that completes a handshake (map
# order); b6's router refuses TCP to R1, so b6 ends up on R2 while a6 is on R1, and a6's
# packets for b6 must cross the mesh. Both NATs randomise ports: the path stays relayed.
[ -x "$WEFT_RELAY" ] || fail "no $WEFT_RELAY"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$SD/mesh.key"
chmod 600 "$SD/mesh.key"
ns_add R1 R2
plug W R1 203.0.113.2/24
plug W R2 203.0.113.3/24
spawn R1 relay1 "$WEFT_RELAY" --listen 0.0.0.0:3340 --raw-listen 203.0.113.2:3341 \
	--stun-listen 203.0.113.2:3478 --mesh-key "$SD/mesh.key" --mesh-with tcp://203.0.113.3:3341
spawn R2 relay2 "$WEFT_RELAY" --listen 0.0.0.0:3340 --raw-listen 203.0.113.3:3341 \
	--stun-listen 203.0.113.3:3478 --mesh-key "$SD/mesh.key" --mesh-with tcp://203.0.113.2:3341
wait_until 15 grep -q "mesh link up" "$NET_TMP/relay1.log" || fail "(g) R1's mesh link"
wait_until 15 grep -q "mesh link up" "$NET_TMP/relay2.log" || fail "(g) R2's mesh link"
relay_node() { # NAME ADDR
	printf '{"Name":"%s","RegionID":900,"HostName":"%s","IPv4":"%s","RelayPort":3340,' "$1" "$2" "$2"
	printf '"STUNPort":3478,"HTTP":true}'
}
cat >"$SD/relays.json" <<JSON
{"Regions":{"900":{"RegionID":900,"RegionCode":"mesh","RegionName":"Meshed pair","Nodes":[
$(relay_node 900a 203.0.113.2),$(relay_node 900b 203.0.113.3)]}}}
JSON
stop_pid "$SRV_PID"
sed -i -e 's/^    enabled: true/    enabled: false/' -e "s|^derp:|derp:\n  paths: [\"$SD/relays.json\"]|" \
	"$SD/config.yaml"
ws configtest >/dev/null 2>&1 || fail "(g) server config: $(ws configtest 2>&1)"
start_server
router ra6 203.0.113.16 10.6.1 fully-random
router rb6 203.0.113.26 10.6.2 fully-random
nsx rb6 nft add rule inet filter filt ip daddr 203.0.113.2 tcp dport 3340 reject with tcp reset ||
	fail "(g) nft on rb6"
node a6 ra6 10.6.1
node b6 rb6 10.6.2
nsx a6 ping -c 1 -i 0.05 -w 20 "$(ip4 b6)" >/dev/null || fail "(g) a6 cannot reach b6"
# clients_of R FROM: established relay connections at relay R from router address FROM.
clients_of() { nsx "$1" ss -Htn state established "( sport = :3340 )" | grep -c " $2:" || true; }
on_r2() { [ "$(clients_of R2 203.0.113.26)" = 1 ]; }
wait_until 10 on_r2 || fail "(g) b6 is not on R2: $(w b6 debug counters | grep relay)"
[ "$(clients_of R1 203.0.113.16)" = 1 ] || fail "(g) a6 is not on R1"
[ "$(clients_of R1 203.0.113.26)" = 0 ] || fail "(g) b6 is on R1 too"
[ "$(clients_of R2 203.0.113.16)" = 0 ] || fail "(g) a6 is on R2 too"
[ -z "$(peer_field a6 b6 CurAddr)" ] || fail "(g) a6 -> b6 claims direct"
[ "$(peer_field a6 b6 Relay)" = mesh ] || fail "(g) a6 -> b6 relay: $(peer_field a6 b6 Relay)"
[ "$(peer_field b6 a6 Relay)" = mesh ] || fail "(g) b6 -> a6 relay: $(peer_field b6 a6 Relay)"
# Two nodes, two STUN addresses: both NATs randomise, both reports say so.
check_nat g a6 true true 203.0.113.16:
check_nat g b6 true true 203.0.113.26:
nsx a6 ping -c 20 -i 0.05 -W1 -q "$(ip4 b6)" >/dev/null || fail "(g) pings across the mesh lost"
nsx b6 ping -c 20 -i 0.05 -W1 -q "$(ip4 a6)" >/dev/null || fail "(g) pings back across the mesh lost"
log "(g) meshed: a6 on R1, b6 on R2: $(w a6 status | grep b6)"

pass
