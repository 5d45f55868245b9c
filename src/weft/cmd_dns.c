/* SPDX-License-Identifier: ISC */
/*
 * cmd_dns: `weft dns status` (what MagicDNS and the host's DNS are doing)
 * and `weft dns query NAME [TYPE]` (ask the tailnet's resolver at
 * 100.100.100.100 through weftd), as `tailscale dns` has them.
 */
#include <stdio.h>
#include <string.h>

#include "weft/cli.h"
#include "weft/localapi.h"
#include "weft/output.h"

int cli_cmd_dns_status(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	bool json = false;
	struct cli_flag flags[] = {
		{ .name = "json",
		  .kind = CLI_FLAG_BOOL,
		  .value = &json,
		  .def = "false",
		  .help = "print the status as JSON (docs/LOCALAPI.md, dns-status)" },
	};
	json_t *st = NULL;
	size_t npos;
	int rc = cli_parse(ctx, cmd, flags, sizeof(flags) / sizeof(flags[0]), argc, argv, 0, 0,
			   &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_call(ctx, "GET", LOCALAPI_DNS_STATUS, NULL, 0, &st) < 0)
		return CLI_EXIT_FAIL;
	rc = CLI_EXIT_OK;
	if (json)
		rc = cli_out_json(ctx->out, st) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	else
		cli_out_dns_status(ctx->out, st);
	json_decref(st);
	return rc;
}

int cli_cmd_dns_query(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	bool json = false;
	struct cli_flag flags[] = {
		{ .name = "json",
		  .kind = CLI_FLAG_BOOL,
		  .value = &json,
		  .def = "false",
		  .help = "print the answer as JSON (docs/LOCALAPI.md, dns-query)" },
	};
	char name[1024], type[64], path[sizeof(name) + sizeof(type) + 64];
	json_t *ans = NULL;
	size_t npos;
	int rc = cli_parse(ctx, cmd, flags, sizeof(flags) / sizeof(flags[0]), argc, argv, 1, 2,
			   &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	if (strlen(argv[0]) > 253 + 1)
		return cli_usage_error(ctx, cmd, "`%.40s...' is longer than a DNS name can be",
				       argv[0]);
	cli_urlencode(argv[0], name, sizeof(name));
	cli_urlencode(npos > 1 ? argv[1] : "", type, sizeof(type));
	snprintf(path, sizeof(path), "%s?name=%s%s%s", LOCALAPI_DNS_QUERY, name,
		 type[0] != '\0' ? "&type=" : "", type);
	if (cli_call(ctx, "GET", path, NULL, 0, &ans) < 0)
		return CLI_EXIT_FAIL;
	rc = CLI_EXIT_OK;
	if (json)
		rc = cli_out_json(ctx->out, ans) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	else
		cli_out_dns_query(ctx->out, ans);
	json_decref(ans);
	return rc;
}
