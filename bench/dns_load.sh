#!/usr/bin/env bash
# dns_load.sh: queries per second answered by weftd's MagicDNS resolver at 100.100.100.100,
# through the whole daemon path (TUN -> TX thread -> control thread -> TUN), with dnsperf as
# the load. The node's namespace runs dnsperf against 100.100.100.100; a dnsmasq in another
# namespace is the tailnet's global nameserver (records with a TTL of an hour, so repeated
# names are cache hits). Cases: tailnet names (A for node-a/node-b, short and full), cache
# hits (forwarded names asked again), NXDOMAIN under the base domain, tailnet names over TCP,
# and dnsmasq asked directly over the LAN for scale. weftd's CPU share is read from /proc.
#
#   lan L -- srv 192.168.70.1 weft-server   -- up 192.168.70.53 dnsmasq
#         -- a 192.168.70.11 weftd (dnsperf runs here)   -- b 192.168.70.12 weftd
#
# Usage (root): bench/dns_load.sh [SECONDS per case, default 10] [RUNS, default 3]
# Environment: WEFT_BUILD (default ./build). Prints one line per case and run.
source "$(dirname "$0")/../tests/net/lib.sh"
SECS=${1:-10}
RUNS=${2:-3}
net_init dnsbench
for c in dnsperf dnsmasq jq; do command -v $c >/dev/null || skip "needs $c"; done
for x in "$WEFTD" "$WEFT" "$WEFT_SERVER"; do [ -x "$x" ] || fail "no $x (build first)"; done

lan L
ns_add srv up a b
plug L srv 192.168.70.1/24
plug L up 192.168.70.53/24
plug L a 192.168.70.11/24
plug L b 192.168.70.12/24

spawn up dnsmasq dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
	--bind-interfaces --listen-address=192.168.70.53 --port=53 --user=root --group=root \
	--pid-file="$NET_TMP/dnsmasq.pid" --local-ttl=3600 --address=/example.test/192.0.2.80 \
	--cache-size=10000 --log-facility=-

SD=$NET_TMP/srv
mkdir -p "$SD"
cat >"$SD/config.yaml" <<CFG
server_url: http://192.168.70.1:8080
listen_addr: 192.168.70.1:8080
metrics_listen_addr: ""
unix_socket: $SD/admin.sock
noise:
  private_key_path: $SD/server.key
database:
  type: sqlite
  sqlite:
    path: $SD/db.sqlite
dns:
  magic_dns: true
  base_domain: tail.test
  nameservers:
    global: [192.168.70.53]
CFG
spawn srv server "$WEFT_SERVER" serve --config "$SD/config.yaml"
wait_until 10 test -S "$SD/admin.sock" || fail "weft-server did not start"
"$WEFT_SERVER" --config "$SD/config.yaml" users create ops >/dev/null || fail "users create"
KEY=$("$WEFT_SERVER" --config "$SD/config.yaml" preauthkeys create --user ops --reusable \
	--expiration 1h) || fail "preauthkeys create"

declare -A SOCK PID
for n in a b; do
	d=$NET_TMP/$n
	mkdir -p "$d"
	track_file "/var/run/wireguard/$(ifname "$n").sock"
	SOCK[$n]=$d/weftd.sock
	spawn "$n" "weftd-$n" "$WEFTD" --statedir "$d/state" --socket "${SOCK[$n]}" \
		--tun "$(ifname "$n")" --port 41641 --verbose 0
	PID[$n]=$SPAWNED
	wait_until 10 nsx "$n" "$WEFT" --socket "${SOCK[$n]}" debug prefs || fail "weftd $n"
	nsx "$n" "$WEFT" --socket "${SOCK[$n]}" up --login-server http://192.168.70.1:8080 \
		--authkey "$KEY" --hostname "node-$n" --timeout 20s >/dev/null 2>&1 || fail "up $n"
done
answers() { nsx a "$WEFT" --socket "${SOCK[a]}" dns query --json node-b | jq -e '.Answers | length > 0'; }
wait_until 15 answers || fail "node-b does not resolve on a"

Q=$NET_TMP/q
printf 'node-a.tail.test A\nnode-b.tail.test A\nnode-a A\nnode-b A\nnode-b.tail.test AAAA\n' >"$Q.tailnet"
for i in $(seq 1000); do echo "host$i.example.test A"; done >"$Q.cache"
for i in $(seq 1000); do echo "nosuch$i.tail.test A"; done >"$Q.nx"

# cpu_ticks PID: user+system clock ticks so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# run NAME SERVER FILE [dnsperf options]: one dnsperf run; prints qps, latency and weftd's CPU.
run() {
	local name=$1 server=$2 file=$3 t0 t1 out qps lat lost cpu
	shift 3
	t0=$(cpu_ticks "${PID[a]}")
	out=$(nsx a dnsperf -s "$server" -d "$file" -l "$SECS" -c 8 -T 2 -q 256 -t 2 "$@" 2>&1)
	t1=$(cpu_ticks "${PID[a]}")
	qps=$(awk '/Queries per second:/ {printf "%.0f", $4; exit}' <<<"$out")
	lat=$(awk '/Average Latency/ {printf "%.2f", $4 * 1000; exit}' <<<"$out")
	lost=$(awk '/Queries lost:/ {print $3; exit}' <<<"$out")
	cpu=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v s="$SECS" -v q="${qps:-0}" \
		'BEGIN {printf "%3.0f%%  %5.1f us/query", 100 * d / hz / s, (q > 0 ? 1e6 * d / hz / (q * s) : 0)}')
	printf '%-24s %7s qps  latency %6s ms  lost %5s  weftd CPU %s\n' "$name" "$qps" "$lat" \
		"$lost" "$cpu"
}

# Warm the cache: every forwarded name asked once.
nsx a dnsperf -s 100.100.100.100 -d "$Q.cache" -n 1 -c 4 -q 64 >/dev/null 2>&1
log "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), ${SECS}s per case"
for r in $(seq "$RUNS"); do
	log "run $r"
	run "tailnet names (UDP)" 100.100.100.100 "$Q.tailnet"
	run "cache hits (UDP)" 100.100.100.100 "$Q.cache"
	run "NXDOMAIN in tail.test" 100.100.100.100 "$Q.nx"
	run "tailnet names (TCP)" 100.100.100.100 "$Q.tailnet" -m tcp
	run "dnsmasq directly (UDP)" 192.168.70.53 "$Q.cache"
done
ctr=$(nsx a "$WEFT" --socket "${SOCK[a]}" debug counters --json)
log "counters: $(jq -c 'with_entries(select(.key | test("^dns_(queries|local|cache_hits|forwarded|servfail|tcp_(established|reset_sent|timeouts))$|^local_")))' <<<"$ctr")"
pass
