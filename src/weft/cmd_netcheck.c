/* SPDX-License-Identifier: ISC */
/*
 * cmd_netcheck: `weft netcheck [--format json]`: weftd's last network
 * report (GET /localapi/v0/netcheck) as Tailscale's report names in JSON, or
 * as a short human summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "weft/cli.h"
#include "weft/client.h"
#include "weft/localapi.h"
#include "weft/output.h"

/* "* IPv4: yes, ADDR" or "* IPv4: no". */
static void cli_nc_addr(struct cli_ctx *ctx, const json_t *j, const char *fam, const char *addr)
{
	const char *a = json_string_value(json_object_get(j, addr));

	if (json_is_true(json_object_get(j, fam)))
		fprintf(ctx->out, "\t* %s: yes, %s\n", fam, a != NULL ? a : "");
	else
		fprintf(ctx->out, "\t* %s: no\n", fam);
}

int cli_cmd_netcheck(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	const char *format = "";
	struct cli_flag flags[] = {
		{ .name = "format",
		  .kind = CLI_FLAG_STRING,
		  .value = &format,
		  .arg = "json",
		  .help = "print the report as JSON (Tailscale's field names)" },
	};
	const json_t *lat, *v;
	const char *k;
	json_t *j = NULL;
	size_t npos;
	int rc = cli_parse(ctx, cmd, flags, 1, argc, argv, 0, 0, &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	if (format[0] != '\0' && strcmp(format, "json") != 0)
		return cli_usage_error(ctx, cmd, "invalid --format `%s': want json", format);
	if (cli_call(ctx, "GET", LOCALAPI_NETCHECK, NULL, 0, &j) < 0)
		return CLI_EXIT_FAIL;
	if (format[0] != '\0') {
		rc = cli_out_json(ctx->out, j) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		json_decref(j);
		return rc;
	}
	if (json_object_size(j) == 0) {
		fprintf(ctx->out, "No report yet: weftd has not measured the network.\n");
		json_decref(j);
		return CLI_EXIT_OK;
	}
	fprintf(ctx->out, "Report:\n");
	fprintf(ctx->out, "\t* UDP: %s\n",
		json_is_true(json_object_get(j, "UDP")) ? "true" : "false");
	cli_nc_addr(ctx, j, "IPv4", "GlobalV4");
	cli_nc_addr(ctx, j, "IPv6", "GlobalV6");
	fprintf(ctx->out, "\t* MappingVariesByDestIP: %s\n",
		json_is_true(json_object_get(j, "MappingVariesByDestIP")) ? "true" : "false");
	fprintf(ctx->out, "\t* Preferred relay region: %lld\n",
		(long long)json_integer_value(json_object_get(j, "PreferredDERP")));
	fprintf(ctx->out, "\t* Relay latency:\n");
	lat = json_object_get(j, "RegionLatency");
	json_object_foreach((json_t *)lat, k, v) {
		fprintf(ctx->out, "\t\t- %s: %.1fms\n", k, (double)json_integer_value(v) / 1e6);
	}
	json_decref(j);
	return CLI_EXIT_OK;
}
