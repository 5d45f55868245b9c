/* SPDX-License-Identifier: ISC */
/* cli: helpers every weft subcommand uses (see cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/netaddr.h"
#include "weft/cli.h"
#include "weft/client.h"

void cli_usage(struct cli_ctx *ctx, const struct cli_command *cmd, const struct cli_flag *flags,
	       size_t nflags)
{
	FILE *fp = ctx->out;

	fprintf(fp, "USAGE\n  weft %s%s%s\n\n%s\n", cmd->name, cmd->args[0] != '\0' ? " " : "",
		cmd->args, cmd->description);
	if (cmd->subs != NULL) {
		fprintf(fp, "\nSUBCOMMANDS\n");
		for (const struct cli_command *s = cmd->subs; s->name != NULL; s++)
			fprintf(fp, "  %-12s %s\n", s->name, s->summary);
	}
	cli_flags_usage(fp, flags, nflags);
}

int cli_usage_error(struct cli_ctx *ctx, const struct cli_command *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(ctx->err, "weft %s: %s (see weft %s --help)\n", cmd->name, msg, cmd->name);
	return CLI_EXIT_USAGE;
}

int cli_fail(struct cli_ctx *ctx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(ctx->err, "weft: %s\n", msg);
	return CLI_EXIT_FAIL;
}

int cli_parse(struct cli_ctx *ctx, const struct cli_command *cmd, struct cli_flag *flags,
	      size_t nflags, int argc, char **argv, size_t min_pos, size_t max_pos, size_t *npos)
{
	char err[CLI_FLAGS_ERR_MAX];
	int r = cli_flags_parse(flags, nflags, argc, argv, npos, err, sizeof(err));

	if (r == CLI_FLAGS_HELP) {
		cli_usage(ctx, cmd, flags, nflags);
		return CLI_EXIT_OK;
	}
	if (r != CLI_FLAGS_OK)
		return cli_usage_error(ctx, cmd, "%s", err);
	if (*npos > max_pos)
		return cli_usage_error(ctx, cmd, "unexpected argument `%.60s'", argv[max_pos]);
	if (*npos < min_pos)
		return cli_usage_error(ctx, cmd, "missing argument: weft %s %s", cmd->name,
				       cmd->args);
	return CLI_CONTINUE;
}

struct cli_client *cli_client(struct cli_ctx *ctx)
{
	int r;

	if (ctx->client != NULL)
		return ctx->client;
	r = cli_client_new(ctx->socket, &ctx->client);
	if (r == -ENAMETOOLONG)
		cli_fail(ctx, "socket path `%.80s...' is too long for a unix socket", ctx->socket);
	else if (r < 0)
		cli_fail(ctx, "cannot set up the local API client: %s", strerror(-r));
	return ctx->client;
}

int cli_call(struct cli_ctx *ctx, const char *method, const char *path, const json_t *body,
	     uint64_t timeout_ms, json_t **out)
{
	struct cli_client *c = cli_client(ctx);
	char err[CLI_CLIENT_ERR_MAX];
	int r;

	*out = NULL;
	if (c == NULL)
		return -ENOMEM;
	r = cli_client_call(c, method, path, body, timeout_ms, out, err, sizeof(err));
	if (r < 0)
		cli_fail(ctx, "%s", err);
	return r;
}

/* True if the status node `ps` answers to `arg`. */
static bool cli_node_matches(const json_t *st, const json_t *ps, const char *arg)
{
	const char *dns = json_string_value(json_object_get(ps, "DNSName"));
	const char *host = json_string_value(json_object_get(ps, "HostName"));
	const char *suffix = json_string_value(json_object_get(st, "MagicDNSSuffix"));
	const json_t *ips = json_object_get(ps, "TailscaleIPs"), *v;
	size_t alen = strlen(arg), i;
	struct netaddr want, have;

	if (netaddr_parse(arg, &want) == 0) {
		json_array_foreach(ips, i, v) {
			if (json_is_string(v) && netaddr_parse(json_string_value(v), &have) == 0 &&
			    netaddr_eq(&want, &have))
				return true;
		}
		return false;
	}
	if (alen > 0 && arg[alen - 1] == '.')
		alen--;
	if (dns != NULL && dns[0] != '\0') {
		size_t dl = strlen(dns);
		if (dns[dl - 1] == '.')
			dl--;
		if (dl == alen && strncasecmp(dns, arg, alen) == 0)
			return true;
		/* the short name: the DNS name without the tailnet's suffix */
		if (suffix != NULL && suffix[0] != '\0') {
			size_t sl = strlen(suffix);
			if (dl == alen + 1 + sl && dns[alen] == '.' &&
			    strncasecmp(dns, arg, alen) == 0 &&
			    strncasecmp(dns + alen + 1, suffix, sl) == 0)
				return true;
		}
		/* or its first label */
		if (dl > alen && dns[alen] == '.' && strncasecmp(dns, arg, alen) == 0 &&
		    memchr(arg, '.', alen) == NULL)
			return true;
	}
	return host != NULL && strlen(host) == alen && strncasecmp(host, arg, alen) == 0;
}

const json_t *cli_find_node(const json_t *st, const char *arg)
{
	const json_t *self = json_object_get(st, "Self"), *v;
	const char *key;

	if (arg[0] == '\0')
		return NULL;
	if (json_is_object(self) && cli_node_matches(st, self, arg))
		return self;
	json_object_foreach((json_t *)json_object_get(st, "Peer"), key, v) {
		if (json_is_object(v) && cli_node_matches(st, v, arg))
			return v;
	}
	return NULL;
}
