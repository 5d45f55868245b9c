#!/usr/bin/env bash
# t_policy.sh: the access policy end to end (issue 6). weft-server in database mode and three
# weftd nodes. group:dev may reach tag:web on tcp/80 only, and tag:web may reach other@, so
# other sees web and its packets reach web's filter:
#   - tag ownership: web advertises tag:web with a key of dev's (dev owns it), a node of
#     other's advertising it is refused, an admin cannot apply a tag the policy lacks;
#   - a policy whose tests fail is refused with the failing assertion, the old one stays;
#   - visibility: dev and web see each other, other sees only web;
#   - real TCP: dev -> web:80 connects and web's reply comes back (dev's flow table), over
#     IPv4 and IPv6; dev -> web:22 and other -> web:80 are dropped by web's filter (counted);
#   - a live change (`policy set` through the CLI) opens web:22 for dev within one second,
#     and taking it back closes it again within one second.
#
#   lan L (a bridge)  -- srv   192.168.60.1  (weft-server :8080)
#                     -- dev   192.168.60.11 (user dev)         weftd
#                     -- web   192.168.60.12 (tag:web)          weftd, TCP servers on 80 and 22
#                     -- other 192.168.60.13 (user other)       weftd
#                     -- bad   192.168.60.14 (other, tag:web?)  weftd, refused
source "$(dirname "$0")/lib.sh"
net_init policy
command -v jq >/dev/null || skip "needs jq"
PY=$(command -v python3) || skip "needs python3"
for x in "$WEFTD" "$WEFT" "$WEFT_SERVER"; do [ -x "$x" ] || fail "no $x"; done

lan L
ns_add srv dev web other bad
plug L srv 192.168.60.1/24
i=11
for n in dev web other bad; do plug L "$n" "192.168.60.$i/24"; i=$((i + 1)); done

# ---- the server ------------------------------------------------------------------------
SD=$NET_TMP/srv
server_config "$SD" 192.168.60.1
cat >>"$SD/config.yaml" <<CFG
policy:
  mode: database
dns:
  base_domain: tail.test
CFG
ws() { "$WEFT_SERVER" --config "$SD/config.yaml" "$@"; }
spawn srv server "$WEFT_SERVER" serve --config "$SD/config.yaml"
wait_until 10 test -S "$SD/admin.sock" || fail "weft-server did not start"
ws users create dev >/dev/null || fail "users create dev"
ws users create other >/dev/null || fail "users create other"
KDEV=$(ws preauthkeys create --user dev --reusable --expiration 1h) || fail "key for dev"
KOTHER=$(ws preauthkeys create --user other --reusable --expiration 1h) || fail "key for other"

# policy FILE PORTS [TESTS]: group:dev -> tag:web on PORTS, tag:web -> other@.
policy() {
	cat >"$1" <<POL
{
  // Who may reach what (docs/POLICY.md).
  "groups": {"group:dev": ["dev@"]},
  "tagOwners": {"tag:web": ["group:dev"]},
  "acls": [
    {"action": "accept", "src": ["group:dev"], "dst": ["tag:web:$2"]},
    {"action": "accept", "src": ["tag:web"], "dst": ["other@:*"]},
  ],
  "tests": [$3],
}
POL
}
policy "$NET_TMP/p1.hujson" 80 ""
ws policy set "$NET_TMP/p1.hujson" 2>"$NET_TMP/set.out" || fail "policy set: $(cat "$NET_TMP/set.out")"

# ---- the nodes -------------------------------------------------------------------------
declare -A SOCK
start_node() {
	local n=$1 d=$NET_TMP/$1 if
	if=$(ifname "$1")
	mkdir -p "$d"
	track_file "/var/run/wireguard/$if.sock"
	SOCK[$n]=$d/weftd.sock
	spawn "$n" "weftd-$n" "$WEFTD" --statedir "$d/state" --socket "${SOCK[$n]}" --tun "$if" \
		--port 41641 --verbose 2
	eval "PID_$n=$SPAWNED"
	wait_until 10 test -S "${SOCK[$n]}" || fail "weftd $n did not start"
}
w() { local n=$1; shift; nsx "$n" "$WEFT" --socket "${SOCK[$n]}" "$@"; }
up() { # NODE KEY [flags]
	local n=$1 k=$2; shift 2
	w "$n" up --login-server http://192.168.60.1:8080 --authkey "$k" --hostname "node-$n" \
		--timeout 20s "$@" >"$NET_TMP/up-$n.out" 2>&1
}

start_node dev
start_node web
start_node other
up dev "$KDEV" || fail "up on dev: $(cat "$NET_TMP/up-dev.out")"
up web "$KDEV" --advertise-tags=tag:web || fail "up on web: $(cat "$NET_TMP/up-web.out")"
up other "$KOTHER" || fail "up on other: $(cat "$NET_TMP/up-other.out")"

# tagOwners: other@ may not apply tag:web; the admin may not apply a tag the policy lacks.
start_node bad
up bad "$KOTHER" --advertise-tags=tag:web && fail "a node of other@ got tag:web"
grep -q "tag:web is not permitted" "$NET_TMP/up-bad.out" ||
	fail "refusal does not say why: $(cat "$NET_TMP/up-bad.out")"
stop_pid "$PID_bad"
WEB_ID=$(ws nodes list -o json | jq -r '.[] | select(.name == "node-web") | .id')
[ "$(ws nodes list -o json | jq -c '.[] | select(.name == "node-web") | .tags')" = '["tag:web"]' ] ||
	fail "web is not tagged: $(ws nodes list)"
ws nodes tag -i "$WEB_ID" -t tag:web,tag:nope >"$NET_TMP/tag.out" 2>&1 &&
	fail "the admin applied an undefined tag"
grep -q "tag:nope is not defined" "$NET_TMP/tag.out" || fail "tag refusal: $(cat "$NET_TMP/tag.out")"
log "tag ownership enforced"

declare -A IP4 IP6
for n in dev web other; do
	IP4[$n]=$(w "$n" ip -4) || fail "ip -4 on $n"
	IP6[$n]=$(w "$n" ip -6) || fail "ip -6 on $n"
	log "$n: ${IP4[$n]} ${IP6[$n]}"
done

# Policy tests run against the live tailnet: a failing one is refused, the old policy stays.
policy "$NET_TMP/bad.hujson" 80 '{"src": "dev@", "accept": ["tag:web:22"]}'
ws policy set "$NET_TMP/bad.hujson" 2>"$NET_TMP/bad.out" && fail "a policy with a failing test was set"
grep -q "tests\[0\].accept\[0\]" "$NET_TMP/bad.out" || fail "no failing assertion: $(cat "$NET_TMP/bad.out")"
ws policy check "$NET_TMP/bad.hujson" 2>/dev/null && fail "policy check passed a failing test"
TESTS='{"src": "dev@", "accept": ["tag:web:80"], "deny": ["tag:web:22"]},
  {"src": "other@", "deny": ["tag:web:80"]}'
policy "$NET_TMP/p2.hujson" 80 "$TESTS"
ws policy check "$NET_TMP/p2.hujson" 2>"$NET_TMP/check.out" || fail "check: $(cat "$NET_TMP/check.out")"
grep -q "2 tests and 0 sshTests pass on the running tailnet" "$NET_TMP/check.out" ||
	fail "check output: $(cat "$NET_TMP/check.out")"
ws policy set "$NET_TMP/p2.hujson" 2>"$NET_TMP/set.out" || fail "policy set: $(cat "$NET_TMP/set.out")"
ws policy get >"$NET_TMP/got.hujson" || fail "policy get"
cmp -s "$NET_TMP/got.hujson" "$NET_TMP/p2.hujson" || fail "policy get differs from what was set"
log "policy with passing tests set; failing ones refused"

# ---- visibility ------------------------------------------------------------------------
peers_named() { w "$1" status --json | jq -r '[.Peer[]?.HostName] | sort | join(",")'; }
peers_are() { [ "$(peers_named "$1")" = "$2" ]; }
wait_until 15 peers_are dev node-web || fail "dev's peers: $(peers_named dev)"
wait_until 15 peers_are web node-dev,node-other || fail "web's peers: $(peers_named web)"
wait_until 15 peers_are other node-web || fail "other's peers: $(peers_named other)"
log "each node sees only the peers the policy relates it to"

# ---- real TCP --------------------------------------------------------------------------
cat >"$NET_TMP/servers.py" <<'PY'
# TCP servers on ports 80 and 22, IPv4 and IPv6: each connection gets "web:PORT".
import socket, sys, threading
def serve(fam, port):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        try:
            c.sendall(b"web:%d\n" % port)
        finally:
            c.close()
ts = [threading.Thread(target=serve, args=(f, p), daemon=True)
      for f in (socket.AF_INET, socket.AF_INET6) for p in (80, 22)]
for t in ts:
    t.start()
print("listening", flush=True)
for t in ts:
    t.join()
PY
spawn web tcpd "$PY" "$NET_TMP/servers.py"
wait_until 10 grep -q listening "$NET_TMP/tcpd.log" || fail "TCP servers did not start"
# tcp_reply NODE ADDR PORT SECS: connect and print the server's line (fails when dropped).
tcp_reply() {
	nsx "$1" timeout "$4" bash -c 'exec 3<>"/dev/tcp/$0/$1" && head -n1 <&3' "$2" "$3" 2>/dev/null
}
tcp_works() { [ "$(tcp_reply "$1" "$2" "$3" "${4:-2}")" = "web:$3" ]; }
counter() { w "$1" debug counters --json | jq -r ".$2"; }

wait_until 10 tcp_works dev "${IP4[web]}" 80 || fail "dev -> web:80 over IPv4"
wait_until 10 tcp_works dev "${IP6[web]}" 80 || fail "dev -> web:80 over IPv6"
log "dev -> web:80 connects, and web's replies reach dev"
[ "$(counter dev filter_accept_flow)" -gt 0 ] || fail "dev counted no replies on its flows"
DROPS0=$(counter web filter_drop_no_rule)
tcp_works dev "${IP4[web]}" 22 && fail "dev -> web:22 connected"
tcp_works dev "${IP6[web]}" 22 && fail "dev -> web:22 connected over IPv6"
tcp_works other "${IP4[web]}" 80 && fail "other -> web:80 connected"
DROPS1=$(counter web filter_drop_no_rule)
[ "$DROPS1" -gt "$DROPS0" ] || fail "web counted no drops ($DROPS0 -> $DROPS1)"
w web debug filter >"$NET_TMP/filter.out" || fail "weft debug filter"
grep -q "^accept tcp,udp,icmp,icmpv6 from ${IP4[dev]}, .* to ${IP4[web]}:80," "$NET_TMP/filter.out" ||
	fail "debug filter: $(cat "$NET_TMP/filter.out")"
log "dev -> web:22 and other -> web:80 are dropped by web's filter ($((DROPS1 - DROPS0)) drops)"

# ---- a live change -----------------------------------------------------------------------
# Timed from just before `policy set` (the CLI's own start-up included): until web's filter
# holds the new rule (read from its local API, no network timeouts in the way), and until
# dev's real connection to web:22 succeeds.
ms_now() { echo $(($(date +%s%N) / 1000000)); }
# web_opens PORT: web's filter has a rule whose ports cover PORT.
web_opens() {
	w web debug filter --json | jq -e --argjson p "$1" \
		'[.Rules[].DstPorts[]? | select(.Ports.First <= $p and $p <= .Ports.Last)] | length > 0'
}
web_closed() { ! web_opens "$1"; }
TESTS3='{"src": "dev@", "accept": ["tag:web:80", "tag:web:22"]}'
policy "$NET_TMP/p3.hujson" "80,22" "$TESTS3"
t0=$(ms_now)
ws policy set "$NET_TMP/p3.hujson" 2>"$NET_TMP/set.out" || fail "policy set: $(cat "$NET_TMP/set.out")"
wait_until 10 web_opens 22 || fail "web's filter did not get port 22"
rules_ms=$(($(ms_now) - t0))
wait_until 10 tcp_works dev "${IP4[web]}" 22 || fail "web:22 did not open for dev"
open_ms=$(($(ms_now) - t0))
log "policy change: web's filter had port 22 after ${rules_ms} ms, dev connected after ${open_ms} ms"
[ "$open_ms" -le 1000 ] || fail "opening took ${open_ms} ms, more than one second"
tcp_works other "${IP4[web]}" 22 && fail "other -> web:22 connected"

t0=$(ms_now)
ws policy set "$NET_TMP/p2.hujson" 2>"$NET_TMP/set.out" || fail "policy set: $(cat "$NET_TMP/set.out")"
wait_until 10 web_closed 22 || fail "web's filter kept port 22"
close_ms=$(($(ms_now) - t0))
log "policy change: web's filter lost port 22 after ${close_ms} ms"
[ "$close_ms" -le 1000 ] || fail "closing took ${close_ms} ms, more than one second"
tcp_works dev "${IP4[web]}" 22 && fail "dev -> web:22 still connects"
tcp_works dev "${IP4[web]}" 80 || fail "dev -> web:80 after the changes"
# Every delta cut for a node applied cleanly (a patch for a peer it cannot see would not).
for n in dev web other; do
	! grep -q "delta refused" "$NET_TMP/weftd-$n.log" ||
		fail "$n refused a delta: $(grep "delta refused" "$NET_TMP/weftd-$n.log")"
done
peers_are other node-web || fail "other's peers at the end: $(peers_named other)"
pass
