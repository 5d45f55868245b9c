/* SPDX-License-Identifier: ISC */
/*
 * cmd_status: the read-only commands about nodes: `weft status` (the
 * table or --json), `weft ip` (our or a peer's tailnet addresses) and
 * `weft whois` (who owns a tailnet address).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/netaddr.h"
#include "weft/cli.h"
#include "weft/localapi.h"
#include "weft/output.h"

int cli_cmd_status(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	struct cli_status_opts o = { .self = true, .peers = true };
	bool json = false;
	struct cli_flag flags[] = {
		{ .name = "json",
		  .kind = CLI_FLAG_BOOL,
		  .value = &json,
		  .def = "false",
		  .help = "print the status as JSON (Tailscale's shape; docs/LOCALAPI.md)" },
		{ .name = "peers",
		  .kind = CLI_FLAG_BOOL,
		  .value = &o.peers,
		  .def = "true",
		  .help = "show the peers" },
		{ .name = "self",
		  .kind = CLI_FLAG_BOOL,
		  .value = &o.self,
		  .def = "true",
		  .help = "show this node's own line" },
		{ .name = "active",
		  .kind = CLI_FLAG_BOOL,
		  .value = &o.active,
		  .def = "false",
		  .help = "only peers with recent traffic" },
	};
	json_t *st = NULL;
	size_t npos;
	int rc = cli_parse(ctx, cmd, flags, sizeof(flags) / sizeof(flags[0]), argc, argv, 0, 0,
			   &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_call(ctx, "GET", o.peers ? LOCALAPI_STATUS : LOCALAPI_STATUS "?peers=false", NULL,
		     0, &st) < 0)
		return CLI_EXIT_FAIL;
	if (json)
		rc = cli_out_json(ctx->out, st) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	else
		rc = cli_out_status(ctx->out, st, &o, (int64_t)time(NULL)) == 0 ? CLI_EXIT_OK :
										  CLI_EXIT_FAIL;
	json_decref(st);
	return rc;
}

int cli_cmd_ip(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	bool v4 = false, v6 = false, one = false;
	struct cli_flag flags[] = {
		{ .name = "4",
		  .kind = CLI_FLAG_BOOL,
		  .value = &v4,
		  .help = "only the IPv4 address" },
		{ .name = "6",
		  .kind = CLI_FLAG_BOOL,
		  .value = &v6,
		  .help = "only the IPv6 address" },
		{ .name = "1",
		  .kind = CLI_FLAG_BOOL,
		  .value = &one,
		  .help = "only one address (IPv4 if there is one)" },
	};
	const json_t *node, *ips, *v;
	json_t *st = NULL;
	const char *state;
	size_t npos, i, printed = 0;
	int rc = cli_parse(ctx, cmd, flags, sizeof(flags) / sizeof(flags[0]), argc, argv, 0, 1,
			   &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	if (v4 + v6 + one > 1)
		return cli_usage_error(ctx, cmd, "-1, -4 and -6 exclude each other");
	if (cli_call(ctx, "GET", npos > 0 ? LOCALAPI_STATUS : LOCALAPI_STATUS "?peers=false", NULL,
		     0, &st) < 0)
		return CLI_EXIT_FAIL;
	state = json_string_value(json_object_get(st, "BackendState"));
	rc = CLI_EXIT_FAIL;
	if (npos > 0) {
		node = cli_find_node(st, argv[0]);
		if (node == NULL) {
			cli_fail(ctx, "no node named `%.80s' (see weft status)", argv[0]);
			goto out;
		}
		ips = json_object_get(node, "TailscaleIPs");
	} else {
		ips = json_object_get(st, "TailscaleIPs");
	}
	json_array_foreach(ips, i, v) {
		struct netaddr a;
		if (!json_is_string(v) || netaddr_parse(json_string_value(v), &a) < 0)
			continue;
		if ((v4 && a.family != NETADDR_V4) || (v6 && a.family != NETADDR_V6))
			continue;
		if (one && printed > 0)
			break;
		fprintf(ctx->out, "%s\n", json_string_value(v));
		printed++;
	}
	if (printed == 0) {
		if (json_array_size(ips) == 0)
			cli_fail(ctx, "no current weft IPs; state: %s",
				 state != NULL ? state : "?");
		else
			cli_fail(ctx, "no IPv%s address", v4 ? "4" : "6");
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	json_decref(st);
	return rc;
}

/* Percent-encodes a query value (everything but unreserved characters and ':'). */
void cli_urlencode(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s != '\0' && n + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || c == ':') {
			buf[n++] = (char)c;
		} else {
			buf[n++] = '%';
			buf[n++] = hex[c >> 4];
			buf[n++] = hex[c & 15];
		}
	}
	buf[n] = '\0';
}

int cli_cmd_whois(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	bool json = false;
	const char *proto = NULL;
	struct cli_flag flags[] = {
		{ .name = "json",
		  .kind = CLI_FLAG_BOOL,
		  .value = &json,
		  .def = "false",
		  .help = "print the answer as JSON" },
		{ .name = "proto",
		  .kind = CLI_FLAG_STRING,
		  .value = &proto,
		  .arg = "tcp|udp",
		  .help = "the protocol of IP:PORT (accepted for Tailscale's scripts)" },
	};
	char path[256], enc[160];
	struct netendpoint ep;
	struct netaddr a;
	json_t *who = NULL;
	size_t npos;
	int rc = cli_parse(ctx, cmd, flags, sizeof(flags) / sizeof(flags[0]), argc, argv, 1, 1,
			   &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	if (netaddr_parse(argv[0], &a) < 0 && netendpoint_parse(argv[0], &ep) < 0)
		return cli_usage_error(ctx, cmd, "`%.60s' is not an IP address or IP:PORT",
				       argv[0]);
	if (proto != NULL && strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
		return cli_usage_error(ctx, cmd, "invalid --proto `%.20s': want tcp or udp", proto);
	cli_urlencode(argv[0], enc, sizeof(enc));
	snprintf(path, sizeof(path), "%s?addr=%s%s%s", LOCALAPI_WHOIS, enc,
		 proto != NULL ? "&proto=" : "", proto != NULL ? proto : "");
	if (cli_call(ctx, "GET", path, NULL, 0, &who) < 0)
		return CLI_EXIT_FAIL;
	if (json)
		rc = cli_out_json(ctx->out, who) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	else {
		cli_out_whois(ctx->out, who);
		rc = CLI_EXIT_OK;
	}
	json_decref(who);
	return rc;
}
