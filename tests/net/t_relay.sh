#!/usr/bin/env bash
# t_relay.sh: weft-relay with real clients (tests/tools/relay_tool) on one switch.
#
#   R1 10.9.0.1  weft-relay: http :3340, raw :3341, stun :3478    (meshed with R2)
#   R2 10.9.0.4  weft-relay: https :3443, raw :3341, stun :3478, only listed keys
#                (meshed with R1)
#   A  10.9.0.2  B 10.9.0.3  C 10.9.0.5: relay clients
#   all plugged into switch SW; no route out.
#
# Checks: STUN answers with the client's address; two clients exchange
# packets by key (HTTP Upgrade and raw); peer-gone reaches a sender when its
# peer disconnects; a flooding client neither starves another client nor the
# disco traffic to its own target; malformed frames close the connection and
# are counted; clients of two meshed relays reach each other (over TLS with
# a verified certificate); a relay with an allowlist refuses other keys; a
# client that does not trust the certificate does not connect; a relay killed
# and restarted is reconnected to by its clients.
source "$(dirname "$0")/lib.sh"
net_init relay
TOOL=$WEFT_BUILD/tests/tools/relay_tool
[ -x "$WEFT_RELAY" ] || skip "weft-relay not built"
[ -x "$TOOL" ] || skip "relay_tool not built"
command -v openssl >/dev/null || skip "needs openssl"
command -v curl >/dev/null || skip "needs curl"
command -v jq >/dev/null || skip "needs jq"

lan SW
ns_add R1 R2 A B C
plug SW R1 10.9.0.1/24
plug SW A 10.9.0.2/24
plug SW B 10.9.0.3/24
plug SW R2 10.9.0.4/24
plug SW C 10.9.0.5/24

K=$NET_TMP
for k in a b c d e f s; do "$TOOL" genkey "$K/$k.key" || fail "genkey"; done
pub() { "$TOOL" pubkey "$K/$1.key"; }
PB=$(pub b) PD=$(pub d) PE=$(pub e) PS=$(pub s)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$K/mesh.key"
chmod 600 "$K/mesh.key"
# R2's certificate (self-signed, for its address) and one nobody trusts.
for c in r2 other; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$c" -addext "subjectAltName=IP:10.9.0.4" \
		-keyout "$K/$c.pem.key" -out "$K/$c.pem" 2>/dev/null || fail "openssl req"
done
# R2 takes only these node keys (its mesh peers prove the mesh key instead).
{ echo "# test allowlist"; pub a; echo "nodekey:$(pub d)"; } >"$K/allowed"

start_r1() {
	spawn R1 "r1-$1" "$WEFT_RELAY" --listen 0.0.0.0:3340 --raw-listen 10.9.0.1:3341 \
		--stun-listen 10.9.0.1:3478 --key-file "$K/r1.key" --rate 4000000 \
		--mesh-key "$K/mesh.key" --mesh-with https://10.9.0.4:3443 --mesh-ca "$K/r2.pem"
	R1PID=$SPAWNED
}
start_r1 0
spawn R2 r2 "$WEFT_RELAY" --listen 0.0.0.0:3443 --tls-cert "$K/r2.pem" --tls-key "$K/r2.pem.key" \
	--raw-listen 10.9.0.4:3341 --stun-listen 10.9.0.4:3478 --verify-keys "$K/allowed" \
	--mesh-key "$K/mesh.key" --mesh-with tcp://10.9.0.1:3341
expect "relay 1 up" wait_until 10 grep -q "relay up" "$NET_TMP/r1-0.log"
expect "relay 2 up" wait_until 10 grep -q "relay up" "$NET_TMP/r2.log"
expect "mesh links up" wait_until 15 grep -q "mesh link up" "$NET_TMP/r1-0.log"
expect "mesh links up (2)" wait_until 15 grep -q "mesh link up" "$NET_TMP/r2.log"

counters() { nsx R1 curl -s --max-time 5 http://127.0.0.1:3340/debug/counters; }
counter() { counters | jq -r "$1"; }

log "STUN: the mapped address is the client's own"
got=$(nsx A "$TOOL" stun 10.9.0.1:3478) || fail "no STUN answer"
case $got in 10.9.0.2:*) ;; *) fail "STUN mapped $got, want 10.9.0.2:port" ;; esac
# A network report against both relays as regions 1 and 2 (lib/netcheck).
rep=$(nsx A "$TOOL" netcheck 1=10.9.0.1:3478 2=10.9.0.4:3478) || fail "netcheck: $rep"
[ "$(echo "$rep" | jq -r '.UDP, .IPv4, .MappingVariesByDestIP' | tr '\n' ' ')" = "true true false " ] ||
	fail "netcheck report: $rep"
echo "$rep" | jq -e '(.GlobalV4 | startswith("10.9.0.2:")) and (.PreferredDERP == 1 or .PreferredDERP == 2)
	and (.RegionLatency | length == 2)' >/dev/null || fail "netcheck report: $rep"
# Unsolicited and malformed datagrams to the STUN port are dropped and counted.
nsx A bash -c 'printf "not stun at all" >/dev/udp/10.9.0.1/3478'
stun_rejected() { [ "$(counter '.stun.rejected["not-stun"] + .stun.rejected.short')" -ge 1 ]; }
wait_until 5 stun_rejected ||
	fail "malformed STUN not counted: $(counters | jq -c .stun)"

log "two clients exchange packets by key (HTTP upgrade <-> raw)"
spawn B echo-b "$TOOL" echo http://10.9.0.1:3340 "$K/b.key"
EB=$SPAWNED
expect "echo client ready" wait_until 10 grep -q ready "$NET_TMP/echo-b.log"
nsx A timeout 60 "$TOOL" ping tcp://10.9.0.1:3341 "$K/a.key" "$PB" 200 30 --size 1200 \
	>"$NET_TMP/ping1.log" 2>&1 || fail "ping through the relay: $(cat "$NET_TMP/ping1.log")"
log "  $(grep echoed "$NET_TMP/ping1.log")"
# A 64 KiB packet, the largest the relay carries, also makes it.
nsx A timeout 60 "$TOOL" ping http://10.9.0.1:3340 "$K/a.key" "$PB" 5 30 --size 65535 \
	>"$NET_TMP/ping-big.log" 2>&1 || fail "64 KiB packets: $(cat "$NET_TMP/ping-big.log")"

log "peer-gone reaches the sender when its peer disconnects"
nsx A timeout 60 "$TOOL" ping http://10.9.0.1:3340 "$K/a.key" "$PB" 10 30 --wait-gone 20 \
	>"$NET_TMP/gone.log" 2>&1 &
GONE=$!
NET_PIDS+=("$GONE")
wait_until 20 grep -q waiting-gone "$NET_TMP/gone.log" || fail "ping before gone: $(cat "$NET_TMP/gone.log")"
stop_pid "$EB"
wait "$GONE" || fail "no peer-gone notice: $(cat "$NET_TMP/gone.log")"

log "a flooding client does not starve another"
spawn B echo-e "$TOOL" echo http://10.9.0.1:3340 "$K/e.key"
EE=$SPAWNED
spawn C sink-s "$TOOL" sink tcp://10.9.0.1:3341 "$K/s.key"
expect "echo e ready" wait_until 10 grep -q ready "$NET_TMP/echo-e.log"
expect "sink ready" wait_until 10 grep -q ready "$NET_TMP/sink-s.log"
spawn C flood1 "$TOOL" flood tcp://10.9.0.1:3341 "$K/f.key" "$PS" 12 --size 1200
FL=$SPAWNED
wait_until 10 grep -q ready "$NET_TMP/flood1.log" || fail "flooder not connected"
nsx A timeout 60 "$TOOL" ping tcp://10.9.0.1:3341 "$K/a.key" "$PE" 300 30 \
	>"$NET_TMP/ping-flood.log" 2>&1 || fail "starved by a flood to another client: $(cat "$NET_TMP/ping-flood.log")"
log "  $(grep echoed "$NET_TMP/ping-flood.log")"
wait "$FL" 2>/dev/null
log "  $(grep 'flood sent' "$NET_TMP/flood1.log")"

log "flood the same destination: disco-marked packets still get through"
spawn C flood2 "$TOOL" flood tcp://10.9.0.1:3341 "$K/f.key" "$PE" 12 --size 1200
FL=$SPAWNED
wait_until 10 grep -q ready "$NET_TMP/flood2.log" || fail "flooder not connected"
nsx A timeout 60 "$TOOL" ping tcp://10.9.0.1:3341 "$K/a.key" "$PE" 200 30 --disco --min 90 \
	>"$NET_TMP/ping-disco.log" 2>&1 || fail "disco starved: $(cat "$NET_TMP/ping-disco.log")"
log "  $(grep echoed "$NET_TMP/ping-disco.log")"
wait "$FL" 2>/dev/null

log "malformed frames close the connection and are counted"
before=$(counter .relay.proto_rejected.type)
[ -n "$before" ] || fail "no counters from R1"
nsx A "$TOOL" garbage 10.9.0.1:3341 >/dev/null || fail "relay kept a connection that sent garbage"
after=$(counter .relay.proto_rejected.type)
[ "${after:-0}" -gt "$before" ] || fail "bad frame not counted ($before -> $after)"
# The counters are for local callers only.
code=$(nsx A curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://10.9.0.1:3340/debug/counters)
[ "$code" = 403 ] || fail "counters served to a remote caller (HTTP $code)"

log "clients of two meshed relays reach each other (R1 -> R2 over verified TLS)"
spawn B echo-d "$TOOL" echo tcp://10.9.0.4:3341 "$K/d.key"
expect "echo d ready" wait_until 10 grep -q ready "$NET_TMP/echo-d.log"
nsx A timeout 60 "$TOOL" ping http://10.9.0.1:3340 "$K/a.key" "$PD" 200 30 \
	>"$NET_TMP/ping-mesh.log" 2>&1 || fail "mesh forwarding: $(cat "$NET_TMP/ping-mesh.log")"
log "  $(grep echoed "$NET_TMP/ping-mesh.log")"

log "HTTPS: a client that trusts R2's certificate connects, others do not"
nsx A timeout 60 "$TOOL" ping https://10.9.0.4:3443 "$K/a.key" "$PD" 50 30 --ca "$K/r2.pem" \
	>"$NET_TMP/ping-tls.log" 2>&1 || fail "ping over TLS: $(cat "$NET_TMP/ping-tls.log")"
nsx A timeout 30 "$TOOL" ping https://10.9.0.4:3443 "$K/a.key" "$PD" 1 3 --ca "$K/other.pem" \
	>"$NET_TMP/ping-badca.log" 2>&1 && fail "connected to a relay whose certificate it does not trust"
grep -q "certificate verify failed" "$NET_TMP/ping-badca.log" ||
	fail "untrusted certificate: $(cat "$NET_TMP/ping-badca.log")"

log "an allowlist refuses other node keys, and counts them"
nsx C timeout 30 "$TOOL" ping tcp://10.9.0.4:3341 "$K/c.key" "$PD" 1 3 \
	>"$NET_TMP/ping-refused.log" 2>&1 && fail "a key not on R2's list was let in"
refused=$(nsx R2 curl -sk --max-time 5 https://127.0.0.1:3443/debug/counters | jq -r .relay.verify_refused)
[ "${refused:-0}" -ge 1 ] || fail "refused key not counted (verify_refused=${refused:-none})"

log "relay killed and restarted: clients reconnect"
stop_pid "$R1PID" KILL
start_r1 1
expect "relay 1 back" wait_until 10 grep -q "relay up" "$NET_TMP/r1-1.log"
twice() { [ "$(grep -c ready "$NET_TMP/echo-e.log")" -ge 2 ]; }
expect "echo client reconnected" wait_until 20 twice
nsx A timeout 60 "$TOOL" ping http://10.9.0.1:3340 "$K/a.key" "$PE" 100 30 \
	>"$NET_TMP/ping-restart.log" 2>&1 || fail "after restart: $(cat "$NET_TMP/ping-restart.log")"
# And the mesh comes back too: A on R1 reaches D on R2 again.
nsx A timeout 60 "$TOOL" ping http://10.9.0.1:3340 "$K/a.key" "$PD" 50 30 \
	>"$NET_TMP/ping-mesh2.log" 2>&1 || fail "mesh after restart: $(cat "$NET_TMP/ping-mesh2.log")"
pass
