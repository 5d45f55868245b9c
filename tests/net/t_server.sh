#!/usr/bin/env bash
# t_server.sh: weft-server over real HTTP on a real SQLite file (issue 3, points 6-8).
# /health and /metrics; REST API authentication (no key, malformed, wrong and expired keys
# refused with 401, a valid key 200); pre-auth key rules (single-use used twice, even
# concurrently, expired by the admin or by time, a deleted user's key, a made-up key: 403);
# bad REST bodies (malformed JSON, unknown fields, wrong types, oversized) answered 4xx with
# a message and nothing changed in the database; hostile node requests (replayed, reordered,
# stale, forged, oversized, malformed: tests/tools/ctrlsim replay) refused without changing
# what peers see; 300 simulated nodes registering at once get 300 distinct addresses, hold
# their map streams past evhttp's 30 s request timeout, see one node's endpoint change, and
# after the server is killed (SIGKILL) and restarted every one reconnects and gets a correct
# full map; addresses stay as they were.
#
#   ns S (lo only, no route out):
#     weft-server  listen 127.0.0.1:8080, metrics 127.0.0.1:9090, admin socket $NET_TMP/srv/
#     curl, weft-server's CLI and ctrlsim (N simulated nodes, one process) run in S too
#
# t_server.sh --load N: the control-load benchmark at N nodes instead (bench/ctrl_load.sh:
# one change must reach all N streams within 2 s, the server's peak RSS below 1 GB).
source "$(dirname "$0")/lib.sh"
if [ "${1:-}" = "--load" ]; then
	exec "$WEFT_SRC/bench/ctrl_load.sh" --nodes "${2:-1000}"
fi
net_init server
command -v jq >/dev/null || skip "needs jq"
command -v curl >/dev/null || skip "needs curl"
CTRLSIM=$WEFT_BUILD/tests/tools/ctrlsim
for x in "$WEFT_SERVER" "$CTRLSIM"; do [ -x "$x" ] || fail "no $x"; done
MANY=300

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
  base_domain: tail.test
CFG
API=http://127.0.0.1:8080
ws() { "$WEFT_SERVER" --config "$SD/config.yaml" "$@"; }
healthy() { [ "$(nsx S curl -s -o /dev/null -w '%{http_code}' "$API/health")" = 200 ]; }
start_server() { # start_server LOGNAME
	spawn S "$1" "$WEFT_SERVER" serve --config "$SD/config.yaml"
	SRV_PID=$SPAWNED
	wait_until 15 healthy || fail "weft-server did not start (see $1.log)"
}
start_server server

# api METHOD PATH [curl args...]: the answer's status in CODE, its body in $NET_TMP/body.
api() {
	local m=$1 p=$2; shift 2
	CODE=$(nsx S curl -s -o "$NET_TMP/body" -w '%{http_code}' -X "$m" "$@" "$API$p") || CODE=000
}
# want CODE WHAT [TEXT]: the last answer had status CODE and, if given, mentions TEXT.
want() {
	[ "$CODE" = "$1" ] || fail "$2: status $CODE, want $1: $(head -c 300 "$NET_TMP/body")"
	[ -z "${3:-}" ] || grep -qiF -- "$3" "$NET_TMP/body" ||
		fail "$2: the answer does not mention \`$3': $(head -c 300 "$NET_TMP/body")"
}
metric() { nsx S curl -s http://127.0.0.1:9090/metrics | awk -v m="$1" '$1 == m { print $2 }'; }
node_count() { ws nodes list -o json | jq length; }

# ---- health and metrics -----------------------------------------------------------------
api GET /health
want 200 "/health" pass
[ "$(nsx S curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9090/health)" = 200 ] ||
	fail "/health on the metrics listener"
nsx S curl -s http://127.0.0.1:9090/metrics >"$NET_TMP/metrics" || fail "GET /metrics"
for m in weft_server_nodes weft_server_map_streams weft_server_deltas_sent_total \
	weft_server_full_map_build_seconds_total weft_server_db_latency_seconds_count \
	weft_server_rejected_total; do
	grep -q "^$m[{ ]" "$NET_TMP/metrics" || fail "/metrics lacks $m"
done
log "ok: /health and /metrics"

# ---- API authentication -----------------------------------------------------------------
ws users create ops >/dev/null || fail "users create"
GOOD=$(ws apikeys create --expiration 1h) || fail "apikeys create"
OLD=$(ws apikeys create --expiration 1h) || fail "apikeys create (to expire)"
SHORT=$(ws apikeys create --expiration 2s) || fail "apikeys create (2 s)"
prefix_of() { ws apikeys list -o json | jq -r --arg k "$1" '.[] | select(.prefix as $p | $k | contains($p)) | .prefix'; }
ws apikeys expire --prefix "$(prefix_of "$OLD")" >/dev/null || fail "apikeys expire"
AUTH=(-H "Authorization: Bearer $GOOD")
api GET /api/v1/user
want 401 "no API key" "Authorization: Bearer"
api GET /api/v1/user -H "Authorization: Bearer nonsense"
want 401 "a malformed API key" "invalid"
api GET /api/v1/user -H "Authorization: Bearer ${GOOD%????}0000"
want 401 "a wrong API key (right prefix, wrong secret)" "invalid"
api GET /api/v1/user -H "Authorization: Basic $GOOD"
want 401 "Basic instead of Bearer"
api GET /api/v1/user -H "Authorization: Bearer $OLD"
want 401 "an API key the admin expired" "expired"
api GET /api/v1/user "${AUTH[@]}"
want 200 "a valid API key" '"name":"ops"'
# The 2 s key works until its time is up, then not.
api GET /api/v1/user -H "Authorization: Bearer $SHORT"
want 200 "a 2 s API key before it expires"
SHORT_END=$(ws apikeys list -o json | jq -r --arg p "$(prefix_of "$SHORT")" '.[] | select(.prefix == $p) | .expiration')
past() { [ "$(date -u +%s)" -gt "$(date -u -d "$1" +%s)" ]; }
wait_until 10 past "$SHORT_END" || fail "the clock did not pass $SHORT_END"
api GET /api/v1/user -H "Authorization: Bearer $SHORT"
want 401 "a 2 s API key after it expired" "expired"
[ "$(metric 'weft_server_rejected_total{reason="apikey"}')" -ge 6 ] ||
	fail "refused API calls not counted: $(metric 'weft_server_rejected_total{reason="apikey"}')"
log "ok: API authentication (no key, malformed, wrong, Basic, expired, timed out: 401)"

# ---- pre-auth key rules -----------------------------------------------------------------
# reg KEY N PREFIX: ctrlsim registers N new machines with KEY; REG_RC, output in reg.out.
reg() {
	REG_RC=0
	nsx S "$CTRLSIM" register --server "$API" --authkey "$1" --nodes "$2" --prefix "$3" \
		>"$NET_TMP/reg.out" 2>"$NET_TMP/reg.err" || REG_RC=$?
}
refused_with() { # refused_with TEXT WHAT
	[ "$REG_RC" = 3 ] || fail "$2: ctrlsim exit $REG_RC, want 3: $(cat "$NET_TMP/reg.out" "$NET_TMP/reg.err")"
	grep -q "^refused 403 .*$1" "$NET_TMP/reg.out" || fail "$2: $(cat "$NET_TMP/reg.out")"
}
before=$(node_count)
KEY=$(ws preauthkeys create --user ops --reusable --expiration 1h) || fail "reusable key"
reg "$KEY" 2 reusable
[ "$REG_RC" = 0 ] || fail "a reusable key registers two machines: $(cat "$NET_TMP/reg.out")"
SINGLE=$(ws preauthkeys create --user ops --expiration 1h) || fail "single-use key"
reg "$SINGLE" 1 single-a
[ "$REG_RC" = 0 ] || fail "a single-use key registers once: $(cat "$NET_TMP/reg.out")"
reg "$SINGLE" 1 single-b
refused_with "already used" "a single-use key used twice"
RACE=$(ws preauthkeys create --user ops --expiration 1h) || fail "single-use key"
reg "$RACE" 8 race
[ "$(grep -c '^ok ' "$NET_TMP/reg.out")" = 1 ] && [ "$(grep -c '^refused 403' "$NET_TMP/reg.out")" = 7 ] ||
	fail "a single-use key used by 8 machines at once: $(cat "$NET_TMP/reg.out")"
EXPIRED=$(ws preauthkeys create --user ops --reusable --expiration 1h) || fail "key to expire"
ws preauthkeys expire "$EXPIRED" >/dev/null || fail "preauthkeys expire"
reg "$EXPIRED" 1 expired
refused_with "expired" "a key the admin expired"
TIMED=$(ws preauthkeys create --user ops --reusable --expiration 2s) || fail "2 s key"
TIMED_END=$(ws preauthkeys list -o json | jq -r 'max_by(.id) | .expiration')
wait_until 10 past "$TIMED_END" || fail "the clock did not pass $TIMED_END"
reg "$TIMED" 1 timed
refused_with "expired" "a key past its expiration"
ws users create temp >/dev/null || fail "users create temp"
GONE=$(ws preauthkeys create --user temp --reusable --expiration 1h) || fail "temp's key"
ws users delete temp >/dev/null || fail "users delete temp"
reg "$GONE" 1 gone
refused_with "invalid auth key" "the key of a deleted user"
reg "wkey-auth-000000000000-000000000000000000000000000000000000000000000000" 1 madeup
refused_with "invalid auth key" "a made-up key"
[ "$(node_count)" = $((before + 4)) ] ||
	fail "refused registrations changed the nodes: $(node_count) nodes, want $((before + 4))"
ws nodes list -o json | jq -e '[.[].name] | map(select(test("^(single-b|expired|timed|gone|madeup)-"))) | length == 0' >/dev/null ||
	fail "a refused machine is in the database"
log "ok: pre-auth key rules (single-use twice and concurrently, expired, timed out, deleted user, made up)"

# ---- bad REST bodies change nothing -------------------------------------------------------
snapshot() {
	{
		ws users list -o json | jq -S 'sort_by(.id)'
		ws nodes list -o json | jq -S 'map(del(.lastSeen, .online)) | sort_by(.id)'
		ws preauthkeys list -o json | jq -S 'sort_by(.id)'
		ws apikeys list -o json | jq -S 'map(del(.lastSeen)) | sort_by(.id)'
	} >"$1"
}
ws users create spare >/dev/null || fail "users create spare"
snapshot "$NET_TMP/db.before"
NID=$(ws nodes list -o json | jq -r '.[0].id')
UID_SPARE=$(ws users list -o json | jq -r '.[] | select(.name == "spare") | .id')
J=(-H "Content-Type: application/json" "${AUTH[@]}")
bad() { # bad CODE WHAT TEXT METHOD PATH BODY
	api "$4" "$5" "${J[@]}" --data-binary "$6"
	want "$1" "$2" "$3"
}
bad 400 "malformed JSON" "malformed JSON" POST /api/v1/user '{"name":'
bad 400 "trailing data" "malformed JSON" POST /api/v1/user '{"name":"eve"} {}'
bad 400 "a duplicate key" "malformed JSON" POST /api/v1/user '{"name":"eve","name":"mallory"}'
bad 400 "a NUL in a string" "malformed JSON" POST /api/v1/user '{"name":"e\u0000ve"}'
bad 400 "not an object" "object" POST /api/v1/user '["eve"]'
bad 400 "an unknown field" "bogus: unknown field" POST /api/v1/user '{"name":"eve","bogus":1}'
bad 400 "a wrong type" "name: expected string" POST /api/v1/user '{"name":7}'
bad 400 "a misspelt field" "reuseable: unknown field" POST /api/v1/preauthkey \
	'{"user":"ops","reuseable":true,"expiration":null}'
bad 400 "a string for a bool" "reusable: expected" POST /api/v1/preauthkey '{"user":"ops","reusable":"yes"}'
bad 400 "a bad time" "RFC 3339" POST /api/v1/apikey '{"expiration":"tomorrow"}'
bad 400 "a field on a call without a body" "force: unknown field" DELETE "/api/v1/user/$UID_SPARE" '{"force":true}'
bad 400 "a body nodeId that is not the path's" "nodeId" POST "/api/v1/node/$NID/tags" \
	'{"nodeId":"999999","tags":["tag:x"]}'
bad 400 "an unknown field on expire" "id: unknown field" POST /api/v1/apikey/expire '{"prefix":"x","id":"1"}'
bad 400 "a bad node name" "not a valid name" POST "/api/v1/node/$NID/rename/Bad_Name" ''
head -c $((1024 * 1024 + 16)) /dev/zero | tr '\0' ' ' >"$NET_TMP/big"
api POST /api/v1/user "${J[@]}" --data-binary @"$NET_TMP/big"
want 413 "a body just over 1 MiB" "too large"
head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$NET_TMP/huge"
api POST /api/v1/user "${J[@]}" --data-binary @"$NET_TMP/huge"
want 413 "a 4 MiB body (refused by the HTTP layer, drained, not stored)" "too large"
healthy || fail "the server does not answer after the bad bodies"
snapshot "$NET_TMP/db.after"
cmp -s "$NET_TMP/db.before" "$NET_TMP/db.after" ||
	fail "bad REST bodies changed the database: $(diff "$NET_TMP/db.before" "$NET_TMP/db.after" | head -20)"
[ "$(metric 'weft_server_rejected_total{reason="malformed"}')" -ge 11 ] ||
	fail "malformed API bodies not counted"
log "ok: bad REST bodies answered 4xx with a message, nothing changed"

# ---- hostile node requests ----------------------------------------------------------------
before=$(node_count)
nsx S "$CTRLSIM" replay --server "$API" --authkey "$KEY" --prefix rp >"$NET_TMP/replay.out" 2>&1 ||
	fail "ctrlsim replay: $(grep -v '^ok' "$NET_TMP/replay.out")"
grep -q '^PASS' "$NET_TMP/replay.out" || fail "ctrlsim replay: $(cat "$NET_TMP/replay.out")"
log "ok: $(grep -c '^ok ' "$NET_TMP/replay.out") hostile-request checks ($(grep '^ok' "$NET_TMP/replay.out" | cut -d: -f1 | cut -c4- | tr '\n' ' '))"
[ "$(node_count)" = $((before + 2)) ] || fail "replay: $(node_count) nodes, want $((before + 2))"
ws nodes list -o json | jq -e '[.[].name] | (index("rp-0") != null and index("rp-1") != null and index("rp-2") == null)' >/dev/null ||
	fail "replay: want nodes rp-0 and rp-1 and no rp-2: $(ws nodes list -o json | jq -c '[.[].name]')"
[ "$(metric 'weft_server_rejected_total{reason="replay"}')" -ge 3 ] || fail "replays not counted"
[ "$(metric 'weft_server_rejected_total{reason="stale"}')" -ge 2 ] || fail "stale requests not counted"

# ---- many nodes at once, long streams, a change, a crash ------------------------------------
EXTRA=$(node_count)
READY=$NET_TMP/ready
spawn S ctrlsim "$CTRLSIM" load --server "$API" --authkey "$KEY" --nodes $MANY \
	--concurrency $MANY --extra-peers "$EXTRA" --hold 40 --trigger endpoint --expect-restart \
	--ready "$READY" --prefix many --timeout 180
SIM_PID=$SPAWNED
# Registration, full maps, 40 s of quiet streams and the change come before "ready".
wait_until 300 test -f "$READY" || fail "ctrlsim never got ready: $(tail -5 "$NET_TMP/ctrlsim.log")"
grep -E "registrations|full maps|still open|reached" "$NET_TMP/ctrlsim.log" | sed 's/^ctrlsim: /  /' >&2
ws nodes list -o json >"$NET_TMP/nodes.json"
[ "$(jq length "$NET_TMP/nodes.json")" = $((EXTRA + MANY)) ] ||
	fail "$MANY concurrent registrations: $(jq length "$NET_TMP/nodes.json") nodes, want $((EXTRA + MANY))"
jq -e '[.[].ipAddresses[]] | length == (unique | length)' "$NET_TMP/nodes.json" >/dev/null ||
	fail "an address is given to two nodes"
jq -e '[.[] | select(.ipAddresses | length != 2)] | length == 0' "$NET_TMP/nodes.json" >/dev/null ||
	fail "a node lacks its IPv4 or IPv6 address"
jq -e '[.[].givenName] | length == (unique | length)' "$NET_TMP/nodes.json" >/dev/null ||
	fail "a MagicDNS name is given to two nodes"
[ "$(metric weft_server_map_streams)" = $MANY ] ||
	fail "the server holds $(metric weft_server_map_streams) map streams, want $MANY"
[ "$(metric 'weft_server_nodes{state="online"}')" = $MANY ] || fail "online nodes: want $MANY"
log "ok: $MANY concurrent registrations: $MANY new nodes, every address and name distinct"
jq -S 'map({id, ipAddresses}) | sort_by(.id)' "$NET_TMP/nodes.json" >"$NET_TMP/addrs.before"

kill -9 "$SRV_PID"
wait "$SRV_PID" 2>/dev/null
log "server killed with SIGKILL mid-stream; restarting"
start_server server2
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_until 200 gone "$SIM_PID" || fail "the nodes did not all reconnect: $(tail -5 "$NET_TMP/ctrlsim.log")"
rc=0
wait "$SIM_PID" || rc=$?
R=$(grep '^{' "$NET_TMP/ctrlsim.log" | tail -1)
[ "$rc" = 0 ] && [ "$(jq -r .ok <<<"$R")" = true ] ||
	fail "ctrlsim load (exit $rc): $(jq -c .errors <<<"$R" 2>/dev/null || tail -5 "$NET_TMP/ctrlsim.log")"
log "ok: ctrlsim $(jq -c '{register_s, full_maps_s, hold_s, delta_p50_ms, delta_max_ms, reconnect_s, retries}' <<<"$R")"
ws nodes list -o json | jq -S 'map({id, ipAddresses}) | sort_by(.id)' >"$NET_TMP/addrs.after"
cmp -s "$NET_TMP/addrs.before" "$NET_TMP/addrs.after" ||
	fail "addresses changed across the restart: $(diff "$NET_TMP/addrs.before" "$NET_TMP/addrs.after" | head)"
log "ok: after SIGKILL and restart all $MANY nodes reconnected with a full map of $((EXTRA + MANY - 1)) peers; addresses kept"

# A clean shutdown (under ASan this is also the leak check).
kill -TERM "$SRV_PID"
rc=0
wait "$SRV_PID" || rc=$?
[ "$rc" = 0 ] || fail "weft-server exited $rc on SIGTERM (see server2.log)"
pass
