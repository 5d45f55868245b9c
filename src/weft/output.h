/* SPDX-License-Identifier: ISC */
/*
 * output: what weft prints, as pure functions of the local API's JSON so
 * that tests check them without a daemon: `weft status` lines in
 * `tailscale status`'s layout, the backend-state messages, ping's pong
 * line, whois, the profile list, Go-style durations, and --json output.
 */
#ifndef WEFT_CLI_OUTPUT_H
#define WEFT_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* --json output: indented two spaces, keys in the daemon's order, one trailing newline. */
int cli_out_json(FILE *fp, const json_t *j);

struct cli_status_opts {
	bool self;   /* print our own line first (--self) */
	bool peers;  /* print the peers (--peers) */
	bool active; /* only peers with traffic in the last minutes (--active) */
};

/*
 * `weft status` for a status object (GET /localapi/v0/status) at wall time
 * now_unix (for "last seen 3h ago"). Prints the table when Running or
 * Starting and returns 0; for other states prints Tailscale's message
 * ("Logged out.", "Weft is stopped.") and returns 1.
 */
int cli_out_status(FILE *fp, const json_t *st, const struct cli_status_opts *o, int64_t now_unix);

/* One status line's connection column: "-", "idle", "active; direct 1.2.3.4:41641, tx 5 rx 6". */
void cli_out_peer_state(const json_t *ps, int64_t now_unix, char *buf, size_t len);

/* The name column: the MagicDNS name without the tailnet suffix, or ("hostname"). */
void cli_out_peer_name(const json_t *st, const json_t *ps, char *buf, size_t len);

/* The owner column: "user@", the login without '@', "tagged-devices", or "-". */
void cli_out_peer_owner(const json_t *st, const json_t *ps, char *buf, size_t len);

/* Go's time.Duration String() for a whole number of milliseconds: "23ms", "1.5s", "1m2s". */
void cli_out_duration_ms(uint64_t ms, char *buf, size_t len);

/*
 * The pong line for a PingResult: "pong from NAME (IP) via ADDR in 23ms", or
 * via DERP(REGION) when relayed, or via the ping type when neither is known.
 * Returns false (and writes nothing) if the result carries an Err.
 */
bool cli_out_pong(const json_t *pr, const char *type, char *buf, size_t len);

/* `weft whois` for a whois answer, as Tailscale prints it (Machine:, User:). */
void cli_out_whois(FILE *fp, const json_t *who);

/*
 * `weft debug filter`: a summary line, then one line per rule, `accept
 * PROTOS from SOURCES to DEST:PORTS, ...` (a CapGrant rule as `grant CAPS
 * from SOURCES to DESTS`).
 */
void cli_out_filter(FILE *fp, const json_t *filter);

/* `weft switch --list`: ID, name, server and account, `*` after the current one's ID. */
void cli_out_profiles(FILE *fp, const json_t *profiles, const char *current_id);

/* `weft dns status` for a dns-status answer (docs/LOCALAPI.md). */
void cli_out_dns_status(FILE *fp, const json_t *st);

/* `weft dns query` for a dns-query answer: route, RCODE and a table of the records. */
void cli_out_dns_query(FILE *fp, const json_t *ans);

#endif
