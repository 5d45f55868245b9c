#!/usr/bin/env bash
# t_tailnet.sh: weft-server and three weftd nodes on one LAN (issue 4). Nodes join with a
# reusable pre-auth key; every pair pings over the IPv4 and IPv6 tailnet addresses; each
# `weft status --json` lists the other two online; an ephemeral node disappears from the
# others' status after it goes away; a node deleted by the admin loses its peers.
#
#   lan L (a bridge)  -- srv 192.168.50.1 (weft-server :8080)
#                     -- a 192.168.50.11, b .12, c .13, e .14 (ephemeral)   each: weftd
source "$(dirname "$0")/lib.sh"
net_init tailnet
command -v jq >/dev/null || skip "needs jq"
for x in "$WEFTD" "$WEFT" "$WEFT_SERVER"; do [ -x "$x" ] || fail "no $x"; done

NODES="a b c"
lan L
ns_add srv a b c e d
plug L srv 192.168.50.1/24
i=11
for n in a b c e d; do plug L "$n" "192.168.50.$i/24"; i=$((i + 1)); done

# ---- the server ------------------------------------------------------------------------
SD=$NET_TMP/srv
server_config "$SD" 192.168.50.1
cat >>"$SD/config.yaml" <<CFG
ephemeral_node_inactivity_timeout: 5s
node:
  expiry: 30s
dns:
  base_domain: tail.test
CFG
ws() { "$WEFT_SERVER" --config "$SD/config.yaml" "$@"; }
spawn srv server "$WEFT_SERVER" serve --config "$SD/config.yaml"
SRV_PID=$SPAWNED
wait_until 10 test -S "$SD/admin.sock" || fail "weft-server did not start"
ws users create ops >/dev/null || fail "users create"
KEY=$(ws preauthkeys create --user ops --reusable --expiration 1h) || fail "preauthkeys create"
EKEY=$(ws preauthkeys create --user ops --ephemeral --expiration 1h) || fail "ephemeral key"

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

for n in $NODES; do
	start_node "$n"
	w "$n" up --login-server http://192.168.50.1:8080 --authkey "$KEY" --hostname "node-$n" \
		--timeout 20s >"$NET_TMP/up-$n.out" 2>&1 || fail "up on $n: $(cat "$NET_TMP/up-$n.out")"
done
declare -A IP4 IP6
for n in $NODES; do
	IP4[$n]=$(w "$n" ip -4) || fail "ip -4 on $n"
	IP6[$n]=$(w "$n" ip -6) || fail "ip -6 on $n"
	log "$n: ${IP4[$n]} ${IP6[$n]}"
done
[ "$(printf '%s\n' "${IP4[@]}" | sort -u | wc -l)" = 3 ] || fail "addresses not unique: ${IP4[*]}"

# online_is N COUNT: N's status lists COUNT peers online (a condition for wait_until).
online_is() { [ "$(w "$1" status --json | jq '[.Peer[]? | select(.Online)] | length')" = "$2" ]; }
# peers_named N: the host names of N's peers, sorted, comma separated.
peers_named() { w "$1" status --json | jq -r '[.Peer[]?.HostName] | sort | join(",")'; }
peers_are() { [ "$(peers_named "$1")" = "$2" ]; }
for n in $NODES; do
	wait_until 15 online_is "$n" 2 || fail "$n does not see two online peers: $(w "$n" status)"
done

for s in $NODES; do
	for d in $NODES; do
		[ "$s" = "$d" ] && continue
		wait_until 10 nsx "$s" ping -c1 -W1 "${IP4[$d]}" >/dev/null ||
			fail "ping $s -> $d over IPv4 ${IP4[$d]}"
		wait_until 10 nsx "$s" ping -6 -c1 -W1 "${IP6[$d]}" >/dev/null ||
			fail "ping $s -> $d over IPv6 ${IP6[$d]}"
	done
done
log "all pairs ping over IPv4 and IPv6"
w a ping -c 1 node-b | grep -q "pong from node-b" || fail "weft ping a -> node-b"

# ---- an ephemeral node comes and goes ---------------------------------------------------
start_node e
w e up --login-server http://192.168.50.1:8080 --authkey "$EKEY" --hostname node-e \
	--timeout 20s >/dev/null 2>&1 || fail "up on e"
wait_until 15 online_is a 3 || fail "a does not see the ephemeral node: $(w a status --json | jq -c "[.Peer[] | {HostName, Online}]")"
kill -9 "$PID_e"
wait_until 30 peers_are a node-b,node-c ||
	fail "the ephemeral node did not disappear from a's status: $(peers_named a)"
log "ephemeral node removed after inactivity"

# ---- node keys rotate before they expire (node.expiry 30s) -----------------------------
selfkey() { w "$1" status --json | jq -r .Self.PublicKey; }
key_is_not() { [ "$(selfkey "$1")" != "$2" ]; }
peer_has_key() { w "$1" status --json | jq -e --arg k "$2" '[.Peer[]?.PublicKey] | index($k)' >/dev/null; }
K0=$(selfkey a)
wait_until 40 key_is_not a "$K0" || fail "a did not rotate its node key before expiry"
K1=$(selfkey a)
wait_until 10 peer_has_key b "$K1" || fail "b did not learn a's new key"
wait_until 10 nsx b ping -c1 -W1 "${IP4[a]}" >/dev/null || fail "b cannot reach a after the rotation"
[ "$(w a status --json | jq -r .BackendState)" = Running ] || fail "a not Running after rotation"
log "node key rotated before expiry; peers follow"

# ---- the admin deletes a node ----------------------------------------------------------
CID=$(ws nodes list -o json | jq -r '.[] | select(.name == "node-c") | .id')
[ -n "$CID" ] || fail "node-c not in nodes list"
ws nodes delete -i "$CID" >/dev/null || fail "nodes delete"
wait_until 15 peers_are c "" ||
	fail "the deleted node still has peers"
wait_until 15 peers_are a node-b || fail "a still lists c: $(peers_named a)"
log "deleted node lost its peers"

# ---- interactive registration: up without a key waits for the admin -------------------
start_node d
w d up --login-server http://192.168.50.1:8080 --hostname node-d --timeout 30s \
	>"$NET_TMP/up-d.out" 2>&1 &
UPPID=$!
NET_PIDS+=("$UPPID")
has_register_cmd() { grep -q "weft-server nodes register --key" "$NET_TMP/up-d.out"; }
wait_until 15 has_register_cmd || fail "up without a key printed no approval command: $(cat "$NET_TMP/up-d.out")"
grep -q "http://192.168.50.1:8080/register/" "$NET_TMP/up-d.out" || fail "no approval URL: $(cat "$NET_TMP/up-d.out")"
AUTHID=$(sed -n 's/.*nodes register --key \([^ ]*\) .*/\1/p' "$NET_TMP/up-d.out" | head -1)
[ "$(w d status --json | jq -r .BackendState)" = NeedsLogin ] || fail "d not in NeedsLogin while waiting"
ws nodes register --key "$AUTHID" --user ops >/dev/null || fail "nodes register --key $AUTHID"
wait "$UPPID" || fail "up did not succeed after approval: $(cat "$NET_TMP/up-d.out")"
wait_until 15 peers_are a node-b,node-d || fail "a does not see the approved node: $(peers_named a)"
wait_until 10 nsx d ping -c1 -W1 "${IP4[a]}" >/dev/null || fail "the approved node cannot reach a"
log "interactive registration approved with nodes register"

# ---- up --force-reauth: the same node authenticates again with a new node key ---------
DKEY=$(selfkey d)
w d up --login-server http://192.168.50.1:8080 --hostname node-d --force-reauth --timeout 30s \
	>"$NET_TMP/up-d2.out" 2>&1 &
UPPID=$!
NET_PIDS+=("$UPPID")
has_register_cmd2() { grep -q "weft-server nodes register --key" "$NET_TMP/up-d2.out"; }
wait_until 15 has_register_cmd2 || fail "--force-reauth asked for no approval: $(cat "$NET_TMP/up-d2.out")"
# While it waits, the node is still on the tailnet.
nsx d ping -c1 -W2 "${IP4[a]}" >/dev/null || fail "d lost the tailnet while re-authenticating"
AUTHID=$(sed -n 's/.*nodes register --key \([^ ]*\) .*/\1/p' "$NET_TMP/up-d2.out" | head -1)
ws nodes register --key "$AUTHID" --user ops >/dev/null || fail "nodes register for the re-auth"
wait "$UPPID" || fail "up --force-reauth did not succeed: $(cat "$NET_TMP/up-d2.out")"
[ "$(selfkey d)" != "$DKEY" ] || fail "--force-reauth kept the node key"
[ "$(ws nodes list -o json | jq '[.[] | select(.name == "node-d")] | length')" = 1 ] ||
	fail "re-auth made a second node-d: $(ws nodes list)"
wait_until 10 peer_has_key a "$(selfkey d)" || fail "a did not learn d's new key"
wait_until 10 nsx d ping -c1 -W1 "${IP4[a]}" >/dev/null || fail "d cannot reach a after re-auth"
log "up --force-reauth re-authenticates the same node"
pass
