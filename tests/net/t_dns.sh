#!/usr/bin/env bash
# t_dns.sh: MagicDNS end to end (issue 7). weft-server and three weftd nodes on a LAN with two
# dnsmasq resolvers: dns1 is the tailnet's global nameserver, dns2 answers the split domain
# corp.test. Inside each node's namespace, through the system resolver (glibc, /etc/resolv.conf):
# peers resolve by short and full name, ping works by name, reverse lookups name the node, the
# split domain is answered by dns2, other names are forwarded to dns1, a large answer falls back
# from UDP to TCP. The namespace's resolv.conf is byte-identical to the original after
# `weft down`, after --accept-dns=false, after SIGTERM, and after SIGKILL + restart + `weft down`.
#
#   lan L (a bridge) -- srv  192.168.60.1   weft-server :8080
#                    -- dns1 192.168.60.53  dnsmasq: www.example.test, big.example.test (TXT)
#                    -- dns2 192.168.60.54  dnsmasq: db.corp.test
#                    -- a .11, b .12, c .13 weftd (node-a, node-b, node-c), each with its own
#                       /etc/netns/NS/resolv.conf ("nameserver 192.168.60.53 ...")
source "$(dirname "$0")/lib.sh"
net_init dns
command -v jq >/dev/null || skip "needs jq"
command -v dnsmasq >/dev/null || skip "needs dnsmasq (Debian dnsmasq-base)"
command -v python3 >/dev/null || skip "needs python3"
command -v getent >/dev/null || skip "needs getent"
for x in "$WEFTD" "$WEFT" "$WEFT_SERVER"; do [ -x "$x" ] || fail "no $x"; done

NODES="a b c"
lan L
ns_add srv dns1 dns2 a b c
plug L srv 192.168.60.1/24
plug L dns1 192.168.60.53/24
plug L dns2 192.168.60.54/24
i=11
for n in $NODES; do plug L "$n" "192.168.60.$i/24"; i=$((i + 1)); done

# The original resolv.conf of every node: what must come back, byte for byte.
ORIG=$NET_TMP/resolv.orig
printf '# the namespace'"'"'s own resolv.conf\nnameserver 192.168.60.53\nsearch example.test\noptions ndots:1 timeout:2\n' >"$ORIG"
for n in $NODES; do resolv_conf "$n" "$(cat "$ORIG")"; done
rc_file() { echo "/etc/netns/$(ns "$1")/resolv.conf"; }
for n in $NODES; do cmp -s "$(rc_file "$n")" "$ORIG" || fail "resolv.conf of $n not set up"; done

# ---- the resolvers ----------------------------------------------------------------------
# big.example.test has ten 200-byte TXT records: over 1232 bytes, so UDP answers are truncated.
BIG=()
for k in 0 1 2 3 4 5 6 7 8 9; do BIG+=(--txt-record=big.example.test,"$k$(printf 'x%.0s' $(seq 199))"); done
# dnsmasq_run NS ADDR OPTION...: a resolver in NS answering on ADDR only from OPTIONs.
dnsmasq_run() {
	local n=$1 addr=$2; shift 2
	spawn "$n" "$n" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--bind-interfaces --listen-address="$addr" --port=53 --user=root --group=root \
		--pid-file="$NET_TMP/$n.pid" --log-queries --log-facility=- "$@"
}
dnsmasq_run dns1 192.168.60.53 --local-ttl=300 --host-record=www.example.test,192.0.2.80 "${BIG[@]}"
dnsmasq_run dns2 192.168.60.54 --host-record=db.corp.test,10.9.9.9
# dig-free checks: a tiny client in Python (UDP or TCP, prints rcode, TC and the answers).
DQ=$NET_TMP/dq.py
cat >"$DQ" <<'PY'
import socket, struct, sys, random
server, name, qtype, proto = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
q = struct.pack(">HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 1)
for l in name.rstrip(".").split("."):
    q += bytes([len(l)]) + l.encode()
q += b"\0" + struct.pack(">HH", qtype, 1) + b"\0" + struct.pack(">HHBBHH", 41, 1232, 0, 0, 0, 0)
fam = socket.AF_INET6 if ":" in server else socket.AF_INET
if proto == "tcp":
    s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(5); s.connect((server, 53))
    s.sendall(struct.pack(">H", len(q)) + q)
    buf = b""
    while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
        d = s.recv(65536)
        if not d: break
        buf += d
    r = buf[2:]
else:
    s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(5); s.sendto(q, (server, 53))
    r = s.recv(65535)
flags, an = struct.unpack(">H", r[2:4])[0], struct.unpack(">H", r[6:8])[0]
print("rcode=%d tc=%d answers=%d len=%d" % (flags & 15, (flags >> 9) & 1, an, len(r)))
PY
dq() { local n=$1; shift; nsx "$n" python3 "$DQ" "$@"; }
wait_until 10 nsx a sh -c "python3 $DQ 192.168.60.53 www.example.test 1 udp | grep -q answers=1" ||
	fail "dnsmasq dns1 does not answer"
wait_until 10 nsx a sh -c "python3 $DQ 192.168.60.54 db.corp.test 1 udp | grep -q answers=1" ||
	fail "dnsmasq dns2 does not answer"
# dns1 does not know corp.test: an answer for it must come from dns2.
dq a 192.168.60.53 db.corp.test 1 udp | grep -q "answers=0" || fail "dns1 knows db.corp.test"

# ---- the server ------------------------------------------------------------------------
SD=$NET_TMP/srv
server_config "$SD" 192.168.60.1
cat >>"$SD/config.yaml" <<CFG
dns:
  magic_dns: true
  base_domain: tail.test
  nameservers:
    global: [192.168.60.53]
    split:
      corp.test: [192.168.60.54]
  search_domains: [corp.test]
  extra_records:
    - {name: grafana.tail.test, type: A, value: 100.64.0.99}
CFG
ws() { "$WEFT_SERVER" --config "$SD/config.yaml" "$@"; }
spawn srv server "$WEFT_SERVER" serve --config "$SD/config.yaml"
wait_until 10 test -S "$SD/admin.sock" || fail "weft-server did not start"
ws users create ops >/dev/null || fail "users create"
KEY=$(ws preauthkeys create --user ops --reusable --expiration 1h) || fail "preauthkeys create"

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
	# It answers once it has put back what a crashed run left (a killed one leaves its socket).
	wait_until 10 w "$n" debug prefs || fail "weftd $n did not start"
}
w() { local n=$1; shift; nsx "$n" "$WEFT" --socket "${SOCK[$n]}" "$@"; }
managed() { head -1 "$(rc_file "$1")" | grep -q "generated by weft"; }
original() { cmp -s "$(rc_file "$1")" "$ORIG"; }

for n in $NODES; do
	start_node "$n"
	w "$n" up --login-server http://192.168.60.1:8080 --authkey "$KEY" --hostname "node-$n" \
		--timeout 20s >"$NET_TMP/up-$n.out" 2>&1 || fail "up on $n: $(cat "$NET_TMP/up-$n.out")"
done
declare -A IP4 IP6
for n in $NODES; do
	IP4[$n]=$(w "$n" ip -4) || fail "ip -4 on $n"
	IP6[$n]=$(w "$n" ip -6) || fail "ip -6 on $n"
done
peers_online() { [ "$(w "$1" status --json | jq '[.Peer[]? | select(.Online)] | length')" = 2 ]; }
for n in $NODES; do
	wait_until 15 peers_online "$n" || fail "$n does not see two online peers"
	wait_until 10 managed "$n" || fail "resolv.conf of $n not managed: $(cat "$(rc_file "$n")")"
done
log "resolv.conf in a: $(tr '\n' '|' <"$(rc_file a)")"
grep -qx "nameserver 100.100.100.100" "$(rc_file a)" || fail "no nameserver 100.100.100.100"
grep -qx "search tail.test corp.test" "$(rc_file a)" || fail "search list: $(cat "$(rc_file a)")"
[ "$(stat -c %a "$NET_TMP/a/state/resolv.conf.pre-weft")" = 600 ] || fail "backup not 0600"
cmp -s "$NET_TMP/a/state/resolv.conf.pre-weft" "$ORIG" || fail "backup differs from the original"

# ---- names through the system resolver --------------------------------------------------
# hosts_is N NAME ADDR: `getent ahosts NAME` in N lists ADDR.
hosts_has() { nsx "$1" getent ahosts "$2" | awk '{print $1}' | grep -qx "$3"; }
for s in $NODES; do
	for d in $NODES; do
		hosts_has "$s" "node-$d" "${IP4[$d]}" || fail "$s: getent node-$d: $(nsx "$s" getent ahosts "node-$d")"
		hosts_has "$s" "node-$d.tail.test" "${IP4[$d]}" || fail "$s: getent node-$d.tail.test"
		hosts_has "$s" "node-$d.tail.test" "${IP6[$d]}" || fail "$s: node-$d.tail.test AAAA"
	done
done
log "every node resolves every node by short and full name (A and AAAA)"
nsx a getent hosts node-b | grep -q "node-b" || fail "getent hosts node-b: $(nsx a getent hosts node-b)"
nsx a ping -c1 -W2 node-b >/dev/null || fail "ping node-b by name"
nsx a ping -6 -c1 -W2 node-c.tail.test >/dev/null || fail "ping -6 node-c.tail.test by name"
nsx a getent hosts "${IP4[b]}" | grep -q "node-b.tail.test" ||
	fail "reverse lookup of ${IP4[b]}: $(nsx a getent hosts "${IP4[b]}")"
hosts_has a grafana.tail.test 100.64.0.99 || fail "extra record grafana.tail.test"
nsx a getent hosts nosuch.tail.test >/dev/null && fail "nosuch.tail.test resolved"
[ "$(dq a 100.100.100.100 nosuch.tail.test 1 udp | cut -d' ' -f1)" = rcode=3 ] ||
	fail "nosuch.tail.test is not NXDOMAIN: $(dq a 100.100.100.100 nosuch.tail.test 1 udp)"
[ "$(dq a 100.100.100.100 node-b.tail.test 15 udp | cut -d' ' -f1,3)" = "rcode=0 answers=0" ] ||
	fail "MX for node-b is not NODATA"
log "ping by name, PTR, extra records, NXDOMAIN and NODATA"

# ---- split DNS and forwarding -----------------------------------------------------------
hosts_has a db.corp.test 10.9.9.9 || fail "split DNS: db.corp.test: $(nsx a getent ahosts db.corp.test)"
hosts_has b db 10.9.9.9 || fail "search domain corp.test: db"
hosts_has a www.example.test 192.0.2.80 || fail "forwarding: www.example.test"
for k in 1 2; do dq a 100.100.100.100 www.example.test 1 udp | grep -q "rcode=0 tc=0 answers=1" || fail "www.example.test #$k"; done
grep -q "query\[A\] db.corp.test from 192.168.60.11" "$NET_TMP/dns2.log" ||
	fail "dns2 did not see a's query for db.corp.test"
grep -q "query\[A\] www.example.test from 192.168.60.11" "$NET_TMP/dns1.log" ||
	fail "dns1 did not see a's query for www.example.test"
log "split domain answered by dns2, other names forwarded to dns1"

# ---- truncation and TCP -----------------------------------------------------------------
r=$(dq a 100.100.100.100 big.example.test 16 udp)
case $r in *" tc=1 "*) ;; *) fail "big TXT over UDP not truncated: $r" ;; esac
r=$(dq a 100.100.100.100 big.example.test 16 tcp)
case $r in "rcode=0 tc=0 answers=10 "*) ;; *) fail "big TXT over TCP: $r" ;; esac
r=$(dq a fd7a:115c:a1e0::53 node-b.tail.test 1 tcp)
case $r in "rcode=0 tc=0 answers=1 "*) ;; *) fail "node-b over TCP/IPv6: $r" ;; esac
log "UDP answers over 1232 bytes set TC; TCP carries them (forwarded over TCP too)"

# ---- the CLI ----------------------------------------------------------------------------
w a dns status >"$NET_TMP/status.out" || fail "weft dns status"
grep -q "MagicDNS: on (suffix = tail.test)" "$NET_TMP/status.out" || fail "dns status: $(cat "$NET_TMP/status.out")"
grep -q "corp.test -> 192.168.60.54:53" "$NET_TMP/status.out" || fail "dns status split: $(cat "$NET_TMP/status.out")"
st=$(w a dns status --json) || fail "dns status --json"
[ "$(jq -r '[.MagicDNS, .BaseDomain, .Resolvers[0], .SplitDNS["corp.test"][0], .HostDNS.Managed, .HostDNS.Mode] | join(",")' <<<"$st")" = \
	"true,tail.test,192.168.60.53:53,192.168.60.54:53,true,direct" ] || fail "dns status --json: $st"
w a dns query node-b >"$NET_TMP/query.out" || fail "weft dns query node-b"
grep -q "Answered by MagicDNS" "$NET_TMP/query.out" && grep -q "${IP4[b]}" "$NET_TMP/query.out" ||
	fail "dns query node-b: $(cat "$NET_TMP/query.out")"
[ "$(w a dns query --json db.corp.test | jq -r '[.Route, .Rcode, .Answers[0].Data] | join(",")')" = split,NOERROR,10.9.9.9 ] ||
	fail "dns query db.corp.test: $(w a dns query --json db.corp.test)"
[ "$(w a dns query --json node-c.tail.test AAAA | jq -r '.Answers[0].Data')" = "${IP6[c]}" ] ||
	fail "dns query AAAA"
[ "$(w a dns query --json "${IP4[c]}" | jq -r '.Answers[0].Data')" = node-c.tail.test. ] ||
	fail "dns query PTR"
w a dns query node-b BOGUS >/dev/null 2>&1 && fail "dns query with type BOGUS succeeded"
log "weft dns status and weft dns query"
# The TCP answers above went through weftd's own TCP (tcplite) and to dns1 over TCP; the
# second www.example.test came from the cache.
ctr=$(w a debug counters --json) || fail "debug counters"
[ "$(jq '.dns_tcp_established > 0 and .dns_tcp_upstream > 0 and .dns_forwarded > 0 and .dns_local > 0 and .dns_cache_hits > 0' <<<"$ctr")" = true ] ||
	fail "counters: $(jq -c 'with_entries(select(.key | startswith("dns_")))' <<<"$ctr")"
# DNS_SHOW=1 prints what the CLI shows, for a look by eye.
[ -n "${DNS_SHOW:-}" ] && { cat "$NET_TMP/status.out" "$NET_TMP/query.out"; w a dns query www.example.test; w a dns query big.example.test TXT | head -5; jq -c 'with_entries(select(.key | startswith("dns_")))' <<<"$ctr"; } >&2

# ---- another program rewrites resolv.conf while weft runs -------------------------------
# (a DHCP client): its file becomes the original, ours comes back, down restores its file.
DHCP=$NET_TMP/resolv.dhcp
printf 'nameserver 192.168.60.53\nsearch dhcp.test\n' >"$DHCP"
cat "$DHCP" >"$(rc_file b)"
wait_until 15 managed b || fail "b's resolv.conf not taken back after a rewrite"
cmp -s "$NET_TMP/b/state/resolv.conf.pre-weft" "$DHCP" || fail "the rewritten file is not b's new original"
w b down >/dev/null || fail "down on b"
wait_until 10 cmp -s "$(rc_file b)" "$DHCP" || fail "b: down did not restore the rewritten file"
cp "$ORIG" "$(rc_file b)"
w b up --timeout 20s >/dev/null 2>&1 || fail "up again on b"
wait_until 10 managed b || fail "b not managed after up again"
log "a resolv.conf rewritten while weft runs becomes the original"

# ---- putting resolv.conf back -----------------------------------------------------------
w a down >/dev/null || fail "down on a"
wait_until 10 original a || fail "resolv.conf not restored after down: $(cat "$(rc_file a)")"
[ ! -e "$NET_TMP/a/state/resolv.conf.pre-weft" ] || fail "backup left after down"
w a up --timeout 20s >/dev/null 2>&1 || fail "up again on a"
wait_until 10 managed a || fail "not managed after up again"
w a set --accept-dns=false || fail "set --accept-dns=false"
wait_until 10 original a || fail "resolv.conf not restored after --accept-dns=false"
hosts_has a node-b "${IP4[b]}" && fail "node-b resolves with --accept-dns=false (through the original)"
nsx a python3 "$DQ" 100.100.100.100 node-b.tail.test 1 udp | grep -q answers=1 ||
	fail "100.100.100.100 stops answering with --accept-dns=false"
w a set --accept-dns=true || fail "set --accept-dns=true"
wait_until 10 managed a || fail "not managed after --accept-dns=true"
log "restored after down and --accept-dns=false; managed again after up and --accept-dns"

stop_pid "$PID_b" TERM
original b || fail "resolv.conf of b not restored when weftd exits: $(cat "$(rc_file b)")"
log "restored when weftd exits"

kill -9 "$PID_c"
wait "$PID_c" 2>/dev/null
managed c || fail "c's resolv.conf should still be weft's after SIGKILL"
start_node c
wait_until 20 managed c || fail "c not managed again after the restart"
cmp -s "$NET_TMP/c/state/resolv.conf.pre-weft" "$ORIG" || fail "c's backup after the restart differs"
w c down >/dev/null || fail "down on c after the restart"
wait_until 10 original c || fail "resolv.conf of c not identical after SIGKILL + restart + down: $(diff "$ORIG" "$(rc_file c)")"
[ ! -e "$NET_TMP/c/state/resolv.conf.pre-weft" ] || fail "backup left after the restart + down"
log "identical after SIGKILL + restart + down"
pass
