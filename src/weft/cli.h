/* SPDX-License-Identifier: ISC */
/*
 * cli: what weft's subcommands share: the invocation context (socket,
 * local API client, output streams), the subcommand table's entry type,
 * exit codes, and the helpers every command uses to parse its flags and
 * report a failure in one line.
 */
#ifndef WEFT_CLI_CLI_H
#define WEFT_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli/flags.h"

enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,
	CLI_EXIT_USAGE = 2,
	CLI_CONTINUE = -1, /* from cli_parse: flags fine, run the command */
};

struct cli_client;

struct cli_ctx {
	const char *socket;
	struct cli_client *client; /* made on first use */
	FILE *out, *err;
};

struct cli_command {
	const char *name;
	const char *args;	 /* after `weft NAME`, e.g. "[flags] PEER" */
	const char *summary;	 /* one line for `weft --help` */
	const char *description; /* paragraphs for `weft NAME --help` */
	int (*run)(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
	const struct cli_command *subs; /* `weft debug prefs`: NULL-name terminated */
};

/* Prints `weft NAME --help` (to ctx->out). */
void cli_usage(struct cli_ctx *ctx, const struct cli_command *cmd, const struct cli_flag *flags,
	       size_t nflags);

/*
 * Parses a command's flags and checks its positional count (min..max).
 * Returns CLI_CONTINUE, or the exit code after printing the help (0) or a
 * one-line error naming the fix (2).
 */
int cli_parse(struct cli_ctx *ctx, const struct cli_command *cmd, struct cli_flag *flags,
	      size_t nflags, int argc, char **argv, size_t min_pos, size_t max_pos, size_t *npos);

/* "weft NAME: MESSAGE (see weft NAME --help)" and CLI_EXIT_USAGE. */
int cli_usage_error(struct cli_ctx *ctx, const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "weft: MESSAGE" and CLI_EXIT_FAIL. */
int cli_fail(struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A local API call through ctx's client, printing the failure as one line
 * ("weft: ...") itself. Returns 0 or a negative errno.
 */
int cli_call(struct cli_ctx *ctx, const char *method, const char *path, const json_t *body,
	     uint64_t timeout_ms, json_t **out);
/* The client, made on first use; NULL after printing why. */
struct cli_client *cli_client(struct cli_ctx *ctx);

/* Subcommands (cmd_*.c). */
int cli_cmd_up(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_login(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_set(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_down(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_logout(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_status(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_ip(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_whois(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_ping(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_switch(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_version(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_debug_prefs(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_debug_netmap(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_netcheck(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_debug_filter(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_debug_counters(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
			   char **argv);

int cli_cmd_dns_status(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);
int cli_cmd_dns_query(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv);

/* Percent-encodes a query-string value into buf (truncating, always terminated). */
void cli_urlencode(const char *s, char *buf, size_t len);

/*
 * Finds a node in a status object by what a user types: an IP of ours or a
 * peer's, the MagicDNS name (full, with or without the trailing dot, or
 * short) or the host name. Returns the PeerStatus object (Self or a Peer),
 * or NULL.
 */
const json_t *cli_find_node(const json_t *status, const char *arg);

#endif
