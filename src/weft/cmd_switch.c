/* SPDX-License-Identifier: ISC */
/*
 * cmd_switch: `weft switch` over weftd's profiles: list them, make one
 * current (by ID, name or account), or remove one that is not current.
 */
#include <stdio.h>
#include <string.h>

#include "weft/cli.h"
#include "weft/localapi.h"
#include "weft/output.h"

static const char *cli_ps(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

/* A profile by ID first, then by name, then by account login. */
static const json_t *cli_profile_find(const json_t *list, const char *arg)
{
	static const char *const keys[] = { "ID", "Name" };
	const json_t *p;
	size_t i;

	for (size_t k = 0; k < 2; k++) {
		json_array_foreach(list, i, p) {
			if (strcmp(cli_ps(p, keys[k]), arg) == 0)
				return p;
		}
	}
	json_array_foreach(list, i, p) {
		if (strcmp(cli_ps(json_object_get(p, "UserProfile"), "LoginName"), arg) == 0)
			return p;
	}
	return NULL;
}

int cli_cmd_switch(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	bool list = false, json = false;
	struct cli_flag flags[] = {
		{ .name = "list",
		  .kind = CLI_FLAG_BOOL,
		  .value = &list,
		  .def = "false",
		  .help = "list the profiles; the current one has a * after its ID" },
		{ .name = "json",
		  .kind = CLI_FLAG_BOOL,
		  .value = &json,
		  .def = "false",
		  .help = "with --list: print the profiles as JSON" },
	};
	json_t *all = NULL, *cur = NULL, *ans = NULL;
	const json_t *p;
	char path[128];
	bool remove;
	size_t npos;
	int rc = cli_parse(ctx, cmd, flags, sizeof(flags) / sizeof(flags[0]), argc, argv, 0, 2,
			   &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	remove = npos == 2 && strcmp(argv[0], "remove") == 0;
	if (list ? npos != 0 : !(npos == 1 || remove))
		return cli_usage_error(ctx, cmd,
				       list ? "--list takes no profile" :
					      "want a profile: weft switch NAME|ID");
	if (json && !list)
		return cli_usage_error(ctx, cmd, "--json goes with --list");
	rc = CLI_EXIT_FAIL;
	if (cli_call(ctx, "GET", LOCALAPI_PROFILES, NULL, 0, &all) < 0 ||
	    cli_call(ctx, "GET", LOCALAPI_PROFILES "current", NULL, 0, &cur) < 0)
		goto out;
	if (list) {
		if (json)
			rc = cli_out_json(ctx->out, all) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
		else {
			cli_out_profiles(ctx->out, all, cli_ps(cur, "ID"));
			rc = CLI_EXIT_OK;
		}
		goto out;
	}
	p = cli_profile_find(all, argv[remove ? 1 : 0]);
	if (p == NULL) {
		cli_fail(ctx, "no profile `%.64s' (see weft switch --list)", argv[remove ? 1 : 0]);
		goto out;
	}
	snprintf(path, sizeof(path), "%s%s", LOCALAPI_PROFILES, cli_ps(p, "ID"));
	if (remove) {
		if (cli_call(ctx, "DELETE", path, NULL, 0, &ans) == 0)
			rc = CLI_EXIT_OK;
		goto out;
	}
	if (strcmp(cli_ps(p, "ID"), cli_ps(cur, "ID")) == 0) {
		fprintf(ctx->out, "Already on profile %s (%s).\n", cli_ps(p, "Name"),
			cli_ps(p, "ID"));
		rc = CLI_EXIT_OK;
		goto out;
	}
	if (cli_call(ctx, "POST", path, NULL, 0, &ans) == 0) {
		fprintf(ctx->out, "Switched to profile %s (%s).\n", cli_ps(p, "Name"),
			cli_ps(p, "ID"));
		rc = CLI_EXIT_OK;
	}
out:
	json_decref(ans);
	json_decref(cur);
	json_decref(all);
	return rc;
}
