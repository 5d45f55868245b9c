#!/usr/bin/env bash
# t_server_pg.sh: weft-server on PostgreSQL (database.type: postgres). A throwaway cluster
# (tests/tools/pg_cluster.sh: unix socket only, no TCP) with a role and database for weft;
# the admin CLI creates a user and a reusable tagged key and lists them as JSON; a weftd
# node joins with the key; the rows are in PostgreSQL; a cut connection is re-made; a
# restart keeps users, keys and the node (ID, name, addresses); a wrong password stops
# start-up with one line; the password never reaches a log or the config dump.
#
#   ns S (lo only, no route out):
#     postgres -D $PG_DIR/data      socket $PG_DIR/.s.PGSQL.5432, as user postgres
#     weft-server serve             127.0.0.1:8080, admin socket $D/admin.sock, role weft
#     weftd --tun IF                joins http://127.0.0.1:8080 with the pre-auth key
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../tools/pg_cluster.sh"
net_init server_pg
command -v jq >/dev/null || skip "needs jq"
for x in "$WEFTD" "$WEFT" "$WEFT_SERVER"; do [ -x "$x" ] || fail "no $x"; done

# The cluster goes first at exit (by its PID), its log kept for the failure dump.
trap 'rc=$?; [ -n "$PG_DIR" ] && cp "$PG_DIR/postgres.log" "$NET_TMP/postgres.log" 2>/dev/null
	pg_stop; (exit $rc); net_cleanup' EXIT

pg_start
rc=$?
[ "$rc" = 77 ] && skip "no PostgreSQL server binaries"
[ "$rc" = 0 ] || fail "the PostgreSQL cluster did not start"

PASS=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
pg_psql "CREATE ROLE weft LOGIN PASSWORD '$PASS'" || fail "CREATE ROLE"
pg_psql "CREATE DATABASE weft OWNER weft" || fail "CREATE DATABASE"
# q SQL: the result of SQL in weft's database, as the superuser, unaligned.
q() {
	PGPASSWORD=$WEFT_TEST_PG_PASS "$PG_BIN/psql" -X -At -h "$PG_DIR" -p "$WEFT_TEST_PG_PORT" \
		-U "$WEFT_TEST_PG_USER" -d weft -c "$1"
}

ns_add S
D=$NET_TMP/srv
mkdir -p "$D"
write_config() { # write_config PASSWORD FILE
	cat >"$2" <<CFG
server_url: http://127.0.0.1:8080
listen_addr: 127.0.0.1:8080
metrics_listen_addr: 127.0.0.1:9090
unix_socket: $D/admin.sock
noise:
  private_key_path: $D/server.key
database:
  type: postgres
  postgres:
    host: $PG_DIR
    port: $WEFT_TEST_PG_PORT
    name: weft
    user: weft
    pass: "$1"
    ssl: false
dns:
  base_domain: tail.test
CFG
}
CFG=$D/config.yaml
write_config "$PASS" "$CFG"
ws() { nsx S "$WEFT_SERVER" --config "$CFG" "$@"; }

ws configtest >/dev/null || fail "configtest: $(ws configtest 2>&1)"
ws configtest --dump >"$NET_TMP/dump.out" 2>&1 || fail "configtest --dump"
grep -q 'type: postgres' "$NET_TMP/dump.out" || fail "dump lacks the database type"
grep -qF "$PASS" "$NET_TMP/dump.out" && fail "the config dump shows the database password"

# ---- a wrong password: start-up stops with one line, naming the database ----------------
write_config "wrong-$PASS-x" "$D/bad.yaml"
RC=0
nsx S timeout 20 "$WEFT_SERVER" serve --config "$D/bad.yaml" >"$NET_TMP/bad.out" 2>&1 || RC=$?
[ "$RC" != 0 ] && [ "$RC" != 124 ] || fail "serve with a wrong password: exit $RC"
grep -q 'password authentication failed' "$NET_TMP/bad.out" || fail "no clear error: $(cat "$NET_TMP/bad.out")"
grep -qF 'weft\" at '"$PG_DIR:" "$NET_TMP/bad.out" || fail "the error does not name the database: $(cat "$NET_TMP/bad.out")"
grep -qF "$PASS" "$NET_TMP/bad.out" && fail "the wrong-password error shows the password"

# ---- serve, and the admin CLI ------------------------------------------------------------
start_server() {
	rm -f "$D/admin.sock"
	spawn S "server$1" "$WEFT_SERVER" serve --config "$CFG"
	SRV_PID=$SPAWNED
	wait_until 15 test -S "$D/admin.sock" || fail "weft-server did not start: $(tail -5 "$NET_TMP/server$1.log")"
}
start_server 1
[ "$(q 'SELECT MAX(version) FROM schema_migrations')" = 1 ] || fail "the schema was not migrated"
ws users create ops >/dev/null || fail "users create"
KEY=$(ws preauthkeys create --user ops --reusable --tags tag:ci --expiration 1h) || fail "preauthkeys create"
ws users list -o json >"$NET_TMP/users1.json" || fail "users list -o json"
[ "$(jq -r '.[].name' "$NET_TMP/users1.json")" = ops ] || fail "users list: $(cat "$NET_TMP/users1.json")"
ws preauthkeys list --user ops -o json >"$NET_TMP/keys1.json" || fail "preauthkeys list -o json"
[ "$(jq -c '[.[] | {reusable, aclTags}]' "$NET_TMP/keys1.json")" = '[{"reusable":true,"aclTags":["tag:ci"]}]' ] ||
	fail "preauthkeys list: $(cat "$NET_TMP/keys1.json")"
[ "$(q "SELECT COUNT(*) FROM preauth_keys WHERE tags = '[\"tag:ci\"]'")" = 1 ] ||
	fail "the key is not in PostgreSQL"

# ---- a node joins with the key -----------------------------------------------------------
IF=$(ifname n)
track_file "/var/run/wireguard/$IF.sock"
NS_SOCK=$NET_TMP/n/weftd.sock
mkdir -p "$NET_TMP/n"
spawn S weftd "$WEFTD" --statedir "$NET_TMP/n/state" --socket "$NS_SOCK" --tun "$IF" --port 41641 --verbose 2
wait_until 10 test -S "$NS_SOCK" || fail "weftd did not start"
w() { nsx S "$WEFT" --socket "$NS_SOCK" "$@"; }
w up --login-server http://127.0.0.1:8080 --authkey "$KEY" --hostname pgnode --timeout 20s \
	>"$NET_TMP/up.out" 2>&1 || fail "up: $(cat "$NET_TMP/up.out")"
IP4=$(w ip -4) || fail "ip -4"
nodes_json() { ws nodes list -o json | jq -c '[.[] | {id, givenName, ipAddresses, tags, user: .user.name}]'; }
N1=$(nodes_json) || fail "nodes list -o json"
[ "$(jq -r '.[0].givenName' <<<"$N1")" = pgnode ] || fail "nodes list: $N1"
jq -e --arg ip "$IP4" '.[0].ipAddresses | index($ip)' <<<"$N1" >/dev/null || fail "node address $IP4 not in $N1"
[ "$(q "SELECT ipv4 FROM nodes WHERE given_name = 'pgnode'")" = "$IP4" ] || fail "the node is not in PostgreSQL"
log "node pgnode joined at $IP4; users, key and node are rows in PostgreSQL"

# ---- a cut connection: the server reconnects --------------------------------------------
# The backend that is cut, by its PID: the server may reconnect at once (a node's report
# arrives any moment), so "no backend" is not a state to wait for.
BPID=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'weft-server' LIMIT 1")
[ -n "$BPID" ] || fail "no backend of the server in pg_stat_activity"
q "SELECT pg_terminate_backend($BPID)" >/dev/null
backend_gone() { [ "$(q "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $BPID")" = 0 ]; }
wait_until 10 backend_gone || fail "the server's backend $BPID was not terminated"
# The first call may find the connection gone (and fail, changing nothing); one after it works.
wait_until 10 ws users create dev || fail "users create after a cut connection: $(tail -5 "$NET_TMP/server1.log")"
grep -q 'connection lost, reconnected' "$NET_TMP/server1.log" || fail "no reconnect logged"

# ---- metrics count the store calls -------------------------------------------------------
nsx S curl -fsS http://127.0.0.1:9090/metrics >"$NET_TMP/metrics.out" || fail "/metrics"
CALLS=$(sed -n 's/^weft_server_db_latency_seconds_count \([0-9]*\)$/\1/p' "$NET_TMP/metrics.out")
[ "${CALLS:-0}" -gt 3 ] || fail "db latency count $CALLS: $(grep db_ "$NET_TMP/metrics.out")"
SUM=$(sed -n 's/^weft_server_db_latency_seconds_sum \([0-9.]*\)$/\1/p' "$NET_TMP/metrics.out")
log "store calls: $CALLS, mean $(awk -v s="$SUM" -v n="$CALLS" 'BEGIN { printf "%.3f", 1000 * s / n }') ms"

# ---- restart: everything is still there --------------------------------------------------
ws users list -o json | jq -c '[.[] | {id, name}]' >"$NET_TMP/users2.json"
ws preauthkeys list --user ops -o json | jq -c '[.[] | {id, reusable, used, aclTags}]' >"$NET_TMP/keys2.json"
N2=$(nodes_json)
stop_pid "$SRV_PID"
start_server 2
[ "$(ws users list -o json | jq -c '[.[] | {id, name}]')" = "$(cat "$NET_TMP/users2.json")" ] ||
	fail "users after restart: $(ws users list -o json)"
[ "$(ws preauthkeys list --user ops -o json | jq -c '[.[] | {id, reusable, used, aclTags}]')" = "$(cat "$NET_TMP/keys2.json")" ] ||
	fail "keys after restart: $(ws preauthkeys list --user ops -o json)"
[ "$(nodes_json)" = "$N2" ] || fail "nodes after restart: $(nodes_json), want $N2"
[ "$(jq -r '.[0].ipAddresses[0]' <<<"$N2")" = "$IP4" ] || fail "the node's address changed"
[ "$(q 'SELECT COUNT(*) FROM schema_migrations')" = 1 ] || fail "a migration ran twice"
log "restart kept $(jq length "$NET_TMP/users2.json") users, the key and the node"

# ---- no secret in any log ----------------------------------------------------------------
for f in "$NET_TMP"/server*.log "$NET_TMP/bad.out"; do
	grep -qF "$PASS" "$f" && fail "$(basename "$f") shows the database password"
done
grep -qF "${KEY##*-}" "$NET_TMP"/server*.log && fail "a server log shows the pre-auth key's secret"
pass
