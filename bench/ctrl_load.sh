#!/usr/bin/env bash
# ctrl_load.sh: control-server load. weft-server in a network namespace of its own, and
# tests/tools/ctrlsim registering N simulated nodes with a reusable pre-auth key, holding N
# map streams (every full map checked), then changing one node and timing until all N streams
# have the delta. Reports registration and full-map times, the delta's p50/p99/max, the
# server's CPU seconds per phase and its peak RSS (VmHWM, /proc), as a JSON line from ctrlsim
# and a markdown table row. Exits 1 if a check failed or a target was missed.
#
#   ns S (lo only, no route out): weft-server 127.0.0.1:8080 (metrics :9090)  <-  ctrlsim
#
# usage: bench/ctrl_load.sh [--nodes N] [--trigger endpoint|rename] [--full|--light]
#                           [--max-delta-ms MS] [--max-rss-mb MB] [--timeout S] [--perf FILE]
#   --nodes         simulated nodes (default 1000)
#   --trigger       endpoint: node 0 reports a new endpoint (a PeersPatch); rename: the admin
#                   renames node 0 through the REST API (a PeersChanged). Default endpoint.
#   --light         (default) authenticate every full map and check its header, Self and
#                   peer count from the text; --full also builds it with the real client
#                   decoder (netmap), which at 1,000 nodes makes the client the bottleneck
#                   (it parses 0.6 GB of JSON; at 10,000 nodes 60 GB).
#   --max-delta-ms  target for the slowest stream (default 2000)
#   --max-rss-mb    target for the server's peak RSS (default 1024)
#   --timeout       deadline of each ctrlsim phase in seconds (default 600)
#   --perf FILE     record the server with perf (call graphs) into FILE during the run
set -u
cd "$(dirname "$0")/.."
source tests/net/lib.sh

nodes=1000 trigger=endpoint mode="" max_delta=2000 max_rss=1024 timeout=600 perf_out=""
while [ $# -gt 0 ]; do
	case $1 in
	--nodes) nodes=$2; shift 2 ;;
	--trigger) trigger=$2; shift 2 ;;
	--full) mode=full; shift ;;
	--light) mode=light; shift ;;
	--max-delta-ms) max_delta=$2; shift 2 ;;
	--max-rss-mb) max_rss=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--perf) perf_out=$2; shift 2 ;;
	*) echo "usage: bench/ctrl_load.sh [--nodes N] [--trigger endpoint|rename] [--full|--light] [--max-delta-ms MS] [--max-rss-mb MB] [--timeout S] [--perf FILE]" >&2; exit 2 ;;
	esac
done
[ -n "$mode" ] || mode=light

net_init ctrl_load
command -v jq >/dev/null || skip "needs jq"
CTRLSIM=$WEFT_BUILD/tests/tools/ctrlsim
for x in "$WEFT_SERVER" "$CTRLSIM"; do [ -x "$x" ] || fail "no $x (build first)"; done
# One descriptor per stream on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -gt $((nodes + 100)) ] || skip "needs more than $((nodes + 100)) file descriptors"

ns_add S
SD=$NET_TMP/srv
mkdir -p "$SD"
cat >"$SD/config.yaml" <<CFG
server_url: http://127.0.0.1:8080
listen_addr: 127.0.0.1:8080
metrics_listen_addr: 127.0.0.1:9090
unix_socket: $SD/admin.sock
noise:
  private_key_path: $SD/server.key
database:
  type: sqlite
  sqlite:
    path: $SD/db.sqlite
dns:
  base_domain: load.test
log:
  level: warn
CFG
ws() { "$WEFT_SERVER" --config "$SD/config.yaml" "$@"; }
spawn S server "$WEFT_SERVER" serve --config "$SD/config.yaml"
SRV_PID=$SPAWNED
wait_until 10 test -S "$SD/admin.sock" || fail "weft-server did not start"
ws users create load >/dev/null || fail "users create"
KEY=$(ws preauthkeys create --user load --reusable --expiration 2h) || fail "preauthkeys create"
APIKEY=$(ws apikeys create --expiration 2h) || fail "apikeys create"

PERF_PID=""
if [ -n "$perf_out" ]; then
	command -v perf >/dev/null || fail "no perf"
	perf record -g -o "$perf_out" -p "$SRV_PID" >"$NET_TMP/perf.log" 2>&1 &
	PERF_PID=$!
fi

log "$nodes nodes, trigger $trigger, full maps checked: $mode"
args=(load --server http://127.0.0.1:8080 --authkey "$KEY" --api-key "$APIKEY" --nodes "$nodes"
	--trigger "$trigger" --concurrency 256 --stream-concurrency "$nodes" --server-pid "$SRV_PID"
	--timeout "$timeout" --prefix load --metrics http://127.0.0.1:9090)
[ "$mode" = light ] && args+=(--light)
start=$SECONDS
nsx S "$CTRLSIM" "${args[@]}" >"$NET_TMP/result.json" 2>"$NET_TMP/ctrlsim.log"
rc=$?
wall=$((SECONDS - start))
[ -n "$PERF_PID" ] && { kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null; }
cat "$NET_TMP/ctrlsim.log" >&2
R=$(tail -1 "$NET_TMP/result.json")
echo "$R"
[ "$rc" = 0 ] || fail "ctrlsim failed (exit $rc): $(jq -c .errors <<<"$R" 2>/dev/null)"

metric() { nsx S curl -s http://127.0.0.1:9090/metrics | awk -v m="$1" '$1 == m { print $2 }'; }
fulls=$(metric weft_server_full_maps_total)
[ "$fulls" = "$nodes" ] || fail "the server reports $fulls full maps sent, want $nodes"
j() { jq -r "$1" <<<"$R"; }
# | nodes | change | register s | full maps s | delta p50 / p99 / max ms | server fan-out ms |
#   server CPU for the change s | server CPU for registration + full maps s | peak RSS MB | wall |
printf '| %s | %s | %.1f | %.1f | %.0f / %.0f / %.0f | %.0f | %.2f | %.1f | %.0f | %s |\n' \
	"$nodes" "$trigger" "$(j .register_s)" "$(j .full_maps_s)" \
	"$(j .delta_p50_ms)" "$(j .delta_p99_ms)" "$(j .delta_max_ms)" "$(j .server_fanout_ms)" \
	"$(j .server_cpu_s.trigger)" "$(j '.server_cpu_s.register + .server_cpu_s.streams')" \
	"$(j .server_peak_rss_mb)" "${wall}s"
awk -v d="$(j .delta_max_ms)" -v m="$max_delta" 'BEGIN { exit !(d <= m) }' ||
	fail "the slowest stream got the delta after $(j .delta_max_ms) ms (target $max_delta ms)"
awk -v r="$(j .server_peak_rss_mb)" -v m="$max_rss" 'BEGIN { exit !(r > 0 && r <= m) }' ||
	fail "server peak RSS $(j .server_peak_rss_mb) MB (target $max_rss MB)"
kill -TERM "$SRV_PID"
rc=0
wait "$SRV_PID" || rc=$?
[ "$rc" = 0 ] || fail "weft-server exited $rc on SIGTERM (see server.log)"
pass
