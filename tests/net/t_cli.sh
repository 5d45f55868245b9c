#!/usr/bin/env bash
# t_cli.sh: the weft CLI against a real weftd (managed mode, no server reachable): help and
# usage errors, the stopped-daemon message, status in NeedsLogin (human and --json), prefs
# through set and debug prefs, up's refusal to reset settings silently, up and login timing out
# on an unreachable server, profiles, whois/ip/ping refusals, counters, logout, and a non-root
# user refused a write until made the operator.
#
#   ns N (lo only, no route out): weftd --statedir $D/state --socket $D/run/weftd.sock --tun IF
#   weft --socket $D/run/weftd.sock ...      (as root, and as nobody through setpriv)
source "$(dirname "$0")/lib.sh"
net_init cli
command -v jq >/dev/null || skip "needs jq"
command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
[ -x "$WEFTD" ] || fail "no weftd at $WEFTD"
[ -x "$WEFT" ] || fail "no weft at $WEFT"

ns_add N
IF=$(ifname c)
track_file "/var/run/wireguard/$IF.sock"
D=$NET_TMP/d
mkdir -p "$D/run" "$D/bin"
chmod 711 "$NET_TMP" "$D"
chmod 755 "$D/run" "$D/bin"
SOCK=$D/run/weftd.sock
# A copy nobody may run whatever the build directory's permissions are.
cp "$WEFT" "$D/bin/weft"
chmod 755 "$D/bin/weft"

OUT=$NET_TMP/out
ERR=$NET_TMP/err
# w ARGS...: run weft as root in N; sets RC, output in $OUT and $ERR.
w() { RC=0; nsx N "$WEFT" --socket "$SOCK" "$@" >"$OUT" 2>"$ERR" || RC=$?; }
# wn ARGS...: the same as user nobody.
wn() {
	RC=0
	nsx N setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		"$D/bin/weft" --socket "$SOCK" "$@" >"$OUT" 2>"$ERR" || RC=$?
}
# want_rc N WHAT: the last weft exited N.
want_rc() {
	[ "$RC" = "$1" ] || fail "$2: exit $RC, want $1 (stdout: $(head -c 400 "$OUT"); stderr: $(head -c 400 "$ERR"))"
}
# one_line WHAT: the last weft wrote exactly one line to stderr and nothing to stdout.
one_line() {
	[ "$(wc -l <"$ERR")" = 1 ] || fail "$1: want one line on stderr, got: $(cat "$ERR")"
	[ ! -s "$OUT" ] || fail "$1: unexpected stdout: $(cat "$OUT")"
}
err_has() { grep -qF -- "$1" "$ERR" || fail "$2: stderr lacks \`$1': $(cat "$ERR")"; }
out_has() { grep -qF -- "$1" "$OUT" || fail "$2: stdout lacks \`$1': $(cat "$OUT")"; }
prefs() { nsx N "$WEFT" --socket "$SOCK" debug prefs | jq -c -r "$1"; }

# ---- without a daemon ----------------------------------------------------------------
w version
want_rc 0 "version"
[ "$(cat "$OUT")" = "$(nsx N "$WEFT" --version)" ] || fail "version and --version differ"
w -V
want_rc 0 "-V"

for c in up down set login logout switch ip status ping whois version debug \
	"debug prefs" "debug netmap" "debug counters"; do
	# shellcheck disable=SC2086
	w $c --help
	want_rc 0 "weft $c --help"
	out_has "USAGE" "weft $c --help"
	[ ! -s "$ERR" ] || fail "weft $c --help wrote to stderr: $(cat "$ERR")"
done
w help ping
want_rc 0 "weft help ping"
out_has "--until-direct" "weft help ping"
w --help
want_rc 0 "weft --help"
out_has "SUBCOMMANDS" "weft --help"

bad() { # bad WHAT ARGS...: a usage error: exit 2, one line naming the fix
	local what=$1; shift
	w "$@"
	want_rc 2 "$what"
	one_line "$what"
	err_has "--help" "$what"
}
bad "unknown flag" up --foo
bad "unknown subcommand" frobnicate
bad "bool with a word" up --accept-dns false
bad "bad bool" status --json=maybe
bad "bad count" ping -c x peer
bad "missing value" set --hostname
bad "bad hostname" set --hostname=a_b
bad "host bits" set --advertise-routes=10.1.0.1/24
bad "prefix length" set --advertise-routes=10.1.0.0/33
bad "bad tag" set --advertise-tags=tag:-x
bad "bad server" up --login-server=ftp://x
bad "no such operator" set --operator=no-such-user-here
bad "exclusive -4 -6" ip -4 -6
bad "extra argument" status extra
bad "whois not an ip" whois not-an-ip
bad "duplicate flag" set --hostname=a --hostname=b
bad "set with nothing" set
bad "bad duration" up --timeout=5
bad "debug without a subcommand" debug
bad "global flag" --frob status
w set --advertise-routes=10.1.0.1/24
err_has "host bits are set (10.1.0.0/24?)" "host bits hint"

w status
want_rc 1 "status without weftd"
one_line "status without weftd"
err_has "failed to connect to local weftd at $SOCK" "stopped-daemon message"
err_has "is weftd running?" "stopped-daemon message"
err_has "--socket PATH" "stopped-daemon message"

# ---- a real weftd -------------------------------------------------------------------
spawn N weftd "$WEFTD" --statedir "$D/state" --socket "$SOCK" --tun "$IF" --port 0 --verbose 2
PID=$SPAWNED
expect "weftd answers on $SOCK" wait_until 15 nsx N "$WEFT" --socket "$SOCK" status --json

w status
want_rc 1 "status when logged out"
out_has "Logged out." "status when logged out"
w status --json
want_rc 0 "status --json"
[ "$(jq -r .BackendState "$OUT")" = NeedsLogin ] || fail "BackendState: $(cat "$OUT")"
jq -e 'has("Peer") and has("Self") and has("TailscaleIPs") and has("MagicDNSSuffix") and has("User")' \
	"$OUT" >/dev/null || fail "status --json lacks keys: $(cat "$OUT")"
w status --json --peers=false
jq -e 'has("Peer") | not' "$OUT" >/dev/null || fail "--peers=false kept Peer"
w ip
want_rc 1 "ip when logged out"
err_has "no current weft IPs; state: NeedsLogin" "ip when logged out"
w version --daemon
want_rc 0 "version --daemon"
out_has "Daemon: " "version --daemon"

# prefs through set
[ "$(prefs .CorpDNS)" = true ] || fail "CorpDNS default"
w set --hostname=spark
want_rc 0 "set --hostname"
[ "$(prefs .Hostname)" = spark ] || fail "Hostname not set"
w set --accept-dns=false
want_rc 0 "set --accept-dns=false"
[ "$(prefs .CorpDNS)" = false ] || fail "CorpDNS not cleared"
[ "$(prefs .Hostname)" = spark ] || fail "set --accept-dns touched Hostname"
w set --advertise-tags=web,tag:db --accept-routes --ssh
want_rc 0 "set tags"
[ "$(prefs .AdvertiseTags)" = '["tag:web","tag:db"]' ] || fail "tags: $(prefs .AdvertiseTags)"
[ "$(prefs .RouteAll)" = true ] && [ "$(prefs .RunSSH)" = true ] || fail "RouteAll/RunSSH"
w set --advertise-tags= --accept-routes=false --ssh=false
[ "$(prefs .AdvertiseTags)" = '[]' ] || fail "tags not cleared"

# up refuses to reset what it is not told, and names the flags and the command
w up --login-server=http://192.0.2.99:1 --timeout=2s
want_rc 1 "up resetting settings"
err_has "did not mention: --accept-dns, --hostname." "up names the settings"
err_has "--reset" "up offers --reset"
err_has "weft up --login-server=http://192.0.2.99:1 --accept-dns=false --hostname=spark" \
	"up shows the full command"
[ "$(prefs .WantRunning)" = false ] || fail "refused up still changed prefs"

# up with an auth key against a server that is not there: a clean timeout
w up --authkey=file:/nonexistent/key --login-server=http://192.0.2.99:1
want_rc 1 "up with a missing key file"
one_line "up with a missing key file"
err_has "cannot read the auth key from /nonexistent/key" "missing key file"
start=$SECONDS
w up --login-server=http://192.0.2.99:1 --accept-dns=false --hostname=spark --authkey=x \
	--timeout=2s
want_rc 1 "up against an unreachable server"
one_line "up against an unreachable server"
err_has "timed out after 2s" "up timeout message"
err_has "http://192.0.2.99:1" "up timeout names the server"
[ $((SECONDS - start)) -le 10 ] || fail "up --timeout=2s took $((SECONDS - start))s"
[ "$(prefs .ControlURL)" = http://192.0.2.99:1 ] || fail "up did not set ControlURL"
[ "$(prefs .WantRunning)" = true ] || fail "up did not set WantRunning"
[ "$(prefs .Hostname)" = spark ] || fail "up lost Hostname"
w up --json --timeout=1s
want_rc 1 "bare up --json timing out"
jq -e '.BackendState == "Starting" and (.Error | test("timed out"))' "$OUT" >/dev/null ||
	fail "up --json error: $(cat "$OUT")"
w down
want_rc 0 "down"
[ "$(prefs .WantRunning)" = false ] || fail "down kept WantRunning"
[ "$(prefs .ControlURL)" = http://192.0.2.99:1 ] || fail "down lost ControlURL"

# profiles: login on a never-logged-in profile reuses it and names it
w switch --list
want_rc 0 "switch --list"
out_has "default" "switch --list"
grep -q '\*' "$OUT" || fail "switch --list marks no current profile"
w login --nickname=work --login-server=http://192.0.2.99:1 --timeout=1s
want_rc 1 "login against an unreachable server"
err_has "timed out" "login timeout"
w switch --list --json
want_rc 0 "switch --list --json"
[ "$(jq -r '.[0].Name' "$OUT")" = work ] || fail "nickname not the profile name: $(cat "$OUT")"
[ "$(jq length "$OUT")" = 1 ] || fail "login made a second profile for a fresh one"
w switch work
want_rc 0 "switch to the current profile"
out_has "Already on profile work" "switch to the current profile"
w switch nope
want_rc 1 "switch to no profile"
one_line "switch to no profile"
err_has "no profile \`nope'" "switch to no profile"
w down
# a second profile (the CLI makes one only for a second login, which needs a server)
python3 - "$SOCK" <<'PY' || fail "PUT profiles/"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"PUT /localapi/v0/profiles/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
          b"Connection: close\r\n\r\n")
sys.exit(0 if s.recv(4096).startswith(b"HTTP/1.1 204") else 1)
PY
w switch --list --json
[ "$(jq length "$OUT")" = 2 ] || fail "no second profile: $(cat "$OUT")"
second=$(jq -r '.[] | select(.Name != "work") | .Name' "$OUT")
w set --nickname=work
want_rc 1 "a nickname another profile has"
err_has "profile name \`work' is taken by profile" "nickname collision"
w switch work
want_rc 0 "switch by nickname"
out_has "Switched to profile work" "switch by nickname"
w switch --list
grep -q "^[0-9a-f]\{4\}\* *work " "$OUT" || fail "work not current: $(cat "$OUT")"
w switch remove work
want_rc 1 "remove the current profile"
err_has "cannot delete the current profile" "remove the current profile"
w switch remove "$second"
want_rc 0 "remove a profile"
w switch --list --json
[ "$(jq length "$OUT")" = 1 ] || fail "profile not removed: $(cat "$OUT")"

# lookups that find nobody
w whois 100.64.0.9
want_rc 1 "whois unknown"
one_line "whois unknown"
err_has "no peer has 100.64.0.9" "whois unknown"
w whois 100.64.0.9:80
want_rc 1 "whois unknown with port"
w ping -c 1 --timeout=1s 100.64.0.9
want_rc 1 "ping unknown"
one_line "ping unknown"
w ping nosuchpeer
want_rc 1 "ping unknown name"
err_has "no node named \`nosuchpeer'" "ping unknown name"
w debug netmap
want_rc 0 "debug netmap"
[ "$(cat "$OUT")" = "{}" ] || fail "debug netmap without a map: $(cat "$OUT")"
w debug counters
want_rc 0 "debug counters"
out_has "rx_decrypt_failed 0" "debug counters"
w debug counters --json
jq -e '.rx_decrypt_failed == 0' "$OUT" >/dev/null || fail "debug counters --json"

# a user who is neither root nor the operator reads but may not write
wn status --json
want_rc 0 "nobody reads status"
before=$(prefs .Hostname)
wn set --hostname=other
want_rc 1 "nobody writes"
one_line "nobody writes"
err_has "access denied" "nobody writes"
err_has "weft set --operator=" "nobody writes"
[ "$(prefs .Hostname)" = "$before" ] || fail "nobody's write changed prefs"
w set --operator=nobody
want_rc 0 "set --operator"
wn set --hostname=other
want_rc 0 "the operator writes"
[ "$(prefs .Hostname)" = other ] || fail "the operator's write did not land"
w set --operator=
[ "$(prefs .OperatorUser)" = "" ] || fail "operator not cleared"

w logout
want_rc 0 "logout"
w status
want_rc 1 "status after logout"
out_has "Logged out." "status after logout"

# the daemon goes away: the same one clear line (and weftd exits cleanly: under ASan
# that means no leaks, e.g. of the watch streams and pings the clients closed)
kill -TERM "$PID"
wait "$PID"
wrc=$?
[ "$wrc" = 0 ] || fail "weftd exited $wrc"
w status
want_rc 1 "status after weftd stopped"
one_line "status after weftd stopped"
err_has "failed to connect to local weftd at $SOCK" "status after weftd stopped"
pass
