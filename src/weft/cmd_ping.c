/* SPDX-License-Identifier: ISC */
/*
 * cmd_ping: `weft ping PEER`, Tailscale's loop: one ping a second through
 * weftd until a direct path answers (--until-direct), -c pings were sent,
 * printing `pong from NAME (IP) via ADDR in 23ms` for each answer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/netaddr.h"
#include "weft/cli.h"
#include "weft/localapi.h"
#include "weft/output.h"

#define CLI_PING_MARGIN_MS 5000

/* The address to ping for `arg`: an IP as given, else the node's first (IPv4 first). */
static const json_t *cli_ping_target(const json_t *st, const char *arg, char *ip, size_t len)
{
	const json_t *node = cli_find_node(st, arg), *ips, *v;
	struct netaddr a;
	size_t i;

	ip[0] = '\0';
	if (netaddr_parse(arg, &a) == 0) {
		netaddr_format(&a, ip, len);
		return node;
	}
	ips = json_object_get(node, "TailscaleIPs");
	json_array_foreach(ips, i, v) {
		if (json_is_string(v) && netaddr_parse(json_string_value(v), &a) == 0 &&
		    (ip[0] == '\0' || a.family == NETADDR_V4)) {
			snprintf(ip, len, "%s", json_string_value(v));
			if (a.family == NETADDR_V4)
				break;
		}
	}
	return node;
}

static void cli_pause_1s(void)
{
	struct timespec ts = { 1, 0 };

	/* Pacing between pings, as Tailscale's; an interrupted sleep just shortens it. */
	(void)nanosleep(&ts, NULL);
}

int cli_cmd_ping(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	int64_t count = 10;
	uint64_t timeout = 5 * CLOCK_NS_PER_SEC;
	bool until_direct = true, icmp = false, tsmp = false, any = false;
	struct cli_flag flags[] = {
		{ .name = "c",
		  .kind = CLI_FLAG_INT,
		  .value = &count,
		  .min = 0,
		  .max = 1000000,
		  .arg = "N",
		  .def = "10",
		  .help = "send at most N pings (0: no limit)" },
		{ .name = "until-direct",
		  .kind = CLI_FLAG_BOOL,
		  .value = &until_direct,
		  .def = "true",
		  .help = "stop once a direct path answers" },
		{ .name = "timeout",
		  .kind = CLI_FLAG_DURATION,
		  .value = &timeout,
		  .arg = "DURATION",
		  .def = "5s",
		  .help = "how long to wait for each pong" },
		{ .name = "icmp",
		  .kind = CLI_FLAG_BOOL,
		  .value = &icmp,
		  .def = "false",
		  .help = "one ICMP echo through the tunnel, then stop" },
		{ .name = "tsmp",
		  .kind = CLI_FLAG_BOOL,
		  .value = &tsmp,
		  .def = "false",
		  .help = "one TSMP-style ping through the tunnel, then stop" },
	};
	char ip[NETADDR_STRLEN], path[256], line[512];
	const char *type;
	const json_t *node;
	json_t *st = NULL;
	size_t npos;
	int rc = cli_parse(ctx, cmd, flags, sizeof(flags) / sizeof(flags[0]), argc, argv, 1, 1,
			   &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	if (timeout < CLOCK_NS_PER_MS || timeout > 3600 * CLOCK_NS_PER_SEC)
		return cli_usage_error(ctx, cmd, "invalid --timeout: want 1ms to 1h");
	if (icmp && tsmp)
		return cli_usage_error(ctx, cmd, "--icmp and --tsmp exclude each other");
	type = icmp ? "icmp" : tsmp ? "TSMP" : "disco";
	if (cli_call(ctx, "GET", LOCALAPI_STATUS, NULL, 0, &st) < 0)
		return CLI_EXIT_FAIL;
	node = cli_ping_target(st, argv[0], ip, sizeof(ip));
	rc = CLI_EXIT_FAIL;
	if (ip[0] == '\0') {
		cli_fail(ctx, "no node named `%.80s' (see weft status)", argv[0]);
		goto out;
	}
	if (node != NULL && node == json_object_get(st, "Self")) {
		fprintf(ctx->out, "%s is this node's own weft IP\n", ip);
		rc = CLI_EXIT_OK;
		goto out;
	}
	snprintf(path, sizeof(path), "%s?ip=%s&type=%s&timeout=%llums", LOCALAPI_PING, ip, type,
		 (unsigned long long)(timeout / CLOCK_NS_PER_MS));
	for (int64_t n = 1;; n++) {
		json_t *pr = NULL;
		const char *err;

		if (cli_call(ctx, "POST", path, NULL,
			     timeout / CLOCK_NS_PER_MS + CLI_PING_MARGIN_MS, &pr) < 0)
			goto out;
		err = json_string_value(json_object_get(pr, "Err"));
		if (err != NULL && strcmp(err, "timeout") == 0) {
			json_decref(pr);
			fprintf(ctx->out, "ping \"%s\" timed out\n", ip);
			fflush(ctx->out);
			if (n == count) {
				rc = any ? CLI_EXIT_OK : cli_fail(ctx, "no reply");
				goto out;
			}
			continue;
		}
		if (!cli_out_pong(pr, type, line, sizeof(line))) {
			cli_fail(ctx, "%s", err != NULL ? err : "ping failed");
			json_decref(pr);
			goto out;
		}
		fprintf(ctx->out, "%s\n", line);
		fflush(ctx->out);
		any = true;
		err = json_string_value(json_object_get(pr, "Endpoint"));
		if (icmp || tsmp || (until_direct && err != NULL && err[0] != '\0')) {
			json_decref(pr);
			rc = CLI_EXIT_OK;
			goto out;
		}
		json_decref(pr);
		if (n == count) {
			rc = until_direct ? cli_fail(ctx, "direct connection not established") :
					    CLI_EXIT_OK;
			goto out;
		}
		cli_pause_1s();
	}
out:
	json_decref(st);
	return rc;
}
