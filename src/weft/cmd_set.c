/* SPDX-License-Identifier: ISC */
/*
 * cmd_set: the commands that change prefs without waiting: `weft set`
 * (only the prefs mentioned, as masked prefs), `weft down` (WantRunning
 * off, the login kept) and `weft logout`.
 */
#include <stdio.h>
#include <string.h>

#include "weft/cli.h"
#include "weft/localapi.h"
#include "weft/prefflags.h"

int cli_cmd_set(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	struct cli_flag flags[CLI_PREF_COUNT];
	struct cli_prefargs pa;
	char err[CLI_PREF_ERR_MAX];
	json_t *m, *ans = NULL;
	size_t n = 0, npos;
	int rc;

	cli_prefargs_init(&pa);
	cli_prefargs_flags(&pa, CLI_PREFS_SET, flags, &n, CLI_PREF_COUNT);
	rc = cli_parse(ctx, cmd, flags, n, argc, argv, 0, 0, &npos);
	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_prefargs_mentioned_mask(&pa, CLI_PREFS_SET) == 0)
		return cli_usage_error(ctx, cmd, "no settings given");
	m = cli_prefargs_masked(&pa, CLI_PREFS_SET, err, sizeof(err));
	if (m == NULL)
		return cli_usage_error(ctx, cmd, "%s", err);
	rc = cli_call(ctx, "PATCH", LOCALAPI_PREFS, m, 0, &ans) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	json_decref(ans);
	json_decref(m);
	return rc;
}

int cli_cmd_down(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	json_t *st = NULL, *ans = NULL, *m;
	const char *state;
	size_t npos;
	int rc = cli_parse(ctx, cmd, NULL, 0, argc, argv, 0, 0, &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_call(ctx, "GET", LOCALAPI_STATUS "?peers=false", NULL, 0, &st) < 0)
		return CLI_EXIT_FAIL;
	state = json_string_value(json_object_get(st, "BackendState"));
	if (state != NULL && strcmp(state, LOCALAPI_STATE_STOPPED) == 0) {
		fprintf(ctx->out, "Weft was already stopped.\n");
		json_decref(st);
		return CLI_EXIT_OK;
	}
	json_decref(st);
	m = json_pack("{s:b, s:b}", "WantRunning", 0, "WantRunningSet", 1);
	rc = m != NULL && cli_call(ctx, "PATCH", LOCALAPI_PREFS, m, 0, &ans) == 0 ? CLI_EXIT_OK :
										    CLI_EXIT_FAIL;
	json_decref(ans);
	json_decref(m);
	return rc;
}

int cli_cmd_logout(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	json_t *ans = NULL;
	size_t npos;
	int rc = cli_parse(ctx, cmd, NULL, 0, argc, argv, 0, 0, &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	rc = cli_call(ctx, "POST", LOCALAPI_LOGOUT, NULL, 0, &ans) < 0 ? CLI_EXIT_FAIL :
									 CLI_EXIT_OK;
	json_decref(ans);
	return rc;
}
