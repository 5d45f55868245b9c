#!/usr/bin/env bash
# pg_cluster.sh: a throwaway PostgreSQL cluster for tests. initdb in a new
# temporary directory (as user postgres, or nobody, when run as root: initdb
# refuses root), the postmaster started as our own child listening on a unix
# socket in that directory only (listen_addresses='', so no TCP at all), a
# superuser with a random password (scram-sha-256), and at the end a fast
# shutdown by that PID and the directory removed. A system cluster is never
# touched. Durability is off (fsync, synchronous_commit): the data is thrown
# away.
#
#   tests/tools/pg_cluster.sh CMD [ARGS...]
#       run CMD with the cluster up and exit with its status; 77 (skip) when the
#       PostgreSQL server binaries are missing.
#   source tests/tools/pg_cluster.sh; pg_start || ...; ...; pg_stop
#       the same from another test script (pg_start returns 77 to skip).
#
# CMD (or the sourcing script) gets: WEFT_TEST_PG_HOST (the socket directory),
# WEFT_TEST_PG_PORT, WEFT_TEST_PG_USER (the superuser), WEFT_TEST_PG_PASS, and
# PG_BIN (the server's bin directory, for psql) and PG_PID.

PG_DIR=""
PG_PID=""

pg_log() { echo "pg_cluster: $*" >&2; }

# pg_find_bin: the newest Debian /usr/lib/postgresql/N/bin holding initdb and
# postgres, else the ones on PATH.
pg_find_bin() {
	local d v best
	best=$(for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && [ -x "$d/postgres" ] || continue
		v=${d%/bin}
		echo "${v##*/} $d"
	done | sort -V | tail -1 | cut -d' ' -f2)
	if [ -z "$best" ] && command -v initdb >/dev/null 2>&1 &&
		command -v postgres >/dev/null 2>&1; then
		best=$(dirname "$(command -v initdb)")
	fi
	[ -n "$best" ] && echo "$best"
}

# PG_AS: the prefix that runs a command as the cluster's owner (empty: as ourselves).
# An array, not a function, so that `"${PG_AS[@]}" postgres &' leaves $! the
# postmaster's own PID.
PG_AS=()

pg_start() {
	local u i
	PG_BIN=$(pg_find_bin) || { pg_log "no PostgreSQL server binaries (initdb, postgres)"; return 77; }
	PG_OWNER=""
	if [ "$(id -u)" = 0 ]; then
		command -v setpriv >/dev/null || { pg_log "needs setpriv (util-linux)"; return 77; }
		for u in postgres nobody; do
			if id -u "$u" >/dev/null 2>&1; then PG_OWNER=$u; break; fi
		done
		[ -n "$PG_OWNER" ] || { pg_log "no user postgres or nobody to run initdb as"; return 77; }
		PG_AS=(setpriv --reuid="$PG_OWNER" --regid="$(id -g "$PG_OWNER")" --clear-groups --)
	fi
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/weft-pg.XXXXXX") || return 1
	chmod 700 "$PG_DIR"
	[ -n "$PG_OWNER" ] && chown "$PG_OWNER" "$PG_DIR"
	WEFT_TEST_PG_HOST=$PG_DIR
	WEFT_TEST_PG_PORT=5432 # only names the socket file: nothing listens on TCP
	WEFT_TEST_PG_USER=weft_test
	WEFT_TEST_PG_PASS=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	export WEFT_TEST_PG_HOST WEFT_TEST_PG_PORT WEFT_TEST_PG_USER WEFT_TEST_PG_PASS PG_BIN
	(umask 077; printf '%s\n' "$WEFT_TEST_PG_PASS" >"$PG_DIR/pw")
	[ -n "$PG_OWNER" ] && chown "$PG_OWNER" "$PG_DIR/pw"
	if ! LC_ALL=C "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$WEFT_TEST_PG_USER" \
		-A scram-sha-256 --pwfile="$PG_DIR/pw" -E UTF8 --locale=C --no-sync \
		>"$PG_DIR/initdb.log" 2>&1; then
		pg_log "initdb failed:"; cat "$PG_DIR/initdb.log" >&2
		return 1
	fi
	rm -f "$PG_DIR/pw"
	LC_ALL=C "${PG_AS[@]}" "$PG_BIN/postgres" -D "$PG_DIR/data" -c listen_addresses='' \
		-c unix_socket_directories="$PG_DIR" -c port="$WEFT_TEST_PG_PORT" \
		-c fsync=off -c synchronous_commit=off -c full_page_writes=off \
		-c max_connections=30 -c shared_buffers=16MB -c log_min_messages=warning \
		>"$PG_DIR/postgres.log" 2>&1 &
	PG_PID=$!
	export PG_PID
	# Ready when it answers on the socket; a deadline, and an early out if it died.
	for i in $(seq 600); do
		kill -0 "$PG_PID" 2>/dev/null || break
		if "$PG_BIN/pg_isready" -q -h "$PG_DIR" -p "$WEFT_TEST_PG_PORT"; then
			# The PID we will stop it by is the postmaster's, not a wrapper's.
			[ "$(head -1 "$PG_DIR/data/postmaster.pid")" = "$PG_PID" ] && return 0
			pg_log "postmaster.pid does not hold $PG_PID"
			return 1
		fi
		sleep 0.05
	done
	pg_log "postgres did not become ready:"; tail -20 "$PG_DIR/postgres.log" >&2
	return 1
}

# pg_psql SQL [DB]: run SQL as the superuser (psql from the same installation).
pg_psql() {
	PGPASSWORD=$WEFT_TEST_PG_PASS "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" \
		-p "$WEFT_TEST_PG_PORT" -U "$WEFT_TEST_PG_USER" -d "${2:-postgres}" -c "$1"
}

# pg_stop: fast shutdown of the postmaster we started, by its PID; then remove the directory.
pg_stop() {
	local i
	if [ -n "$PG_PID" ] && kill -0 "$PG_PID" 2>/dev/null; then
		kill -INT "$PG_PID" 2>/dev/null
		for i in $(seq 400); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.05; done
		kill -0 "$PG_PID" 2>/dev/null && { pg_log "postgres $PG_PID ignored a fast shutdown"; kill -KILL "$PG_PID"; }
		wait "$PG_PID" 2>/dev/null
	fi
	PG_PID=""
	[ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
	PG_DIR=""
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	[ $# -gt 0 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
	trap pg_stop EXIT
	trap 'exit 130' INT TERM
	pg_start
	rc=$?
	[ "$rc" = 0 ] || exit "$rc"
	"$@"
	rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		echo "---- postgres.log (last 20 lines)" >&2
		tail -20 "$PG_DIR/postgres.log" >&2
	fi
	exit "$rc"
fi
