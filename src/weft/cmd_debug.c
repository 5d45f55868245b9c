/* SPDX-License-Identifier: ISC */
/*
 * cmd_debug: `weft version` and the `weft debug` views of weftd's
 * internals: the current prefs, the network map, the packet filter in
 * force, and the data-plane counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/cli.h"
#include "weft/localapi.h"
#include "weft/output.h"
#include "weft_config.h"

int cli_cmd_version(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	bool daemon = false, json = false;
	struct cli_flag flags[] = {
		{ .name = "daemon",
		  .kind = CLI_FLAG_BOOL,
		  .value = &daemon,
		  .def = "false",
		  .help = "also ask the running weftd for its version" },
		{ .name = "json",
		  .kind = CLI_FLAG_BOOL,
		  .value = &json,
		  .def = "false",
		  .help = "print the versions as JSON" },
	};
	json_t *st = NULL, *j;
	const char *dv = NULL;
	size_t npos;
	int rc = cli_parse(ctx, cmd, flags, sizeof(flags) / sizeof(flags[0]), argc, argv, 0, 0,
			   &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	rc = CLI_EXIT_OK;
	if (daemon) {
		if (cli_call(ctx, "GET", LOCALAPI_STATUS "?peers=false", NULL, 0, &st) < 0)
			return CLI_EXIT_FAIL;
		dv = json_string_value(json_object_get(st, "Version"));
		if (dv == NULL)
			dv = "unknown";
	}
	if (json) {
		j = json_pack("{s:s, s:s, s:s}", "majorMinorPatch", WEFT_VERSION, "short",
			      WEFT_VERSION, "long", WEFT_VERSION);
		if (j != NULL && dv != NULL)
			json_object_set_new(j, "daemon", json_string(dv));
		rc = j != NULL && cli_out_json(ctx->out, j) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		json_decref(j);
	} else if (dv != NULL) {
		fprintf(ctx->out, "Client: %s\nDaemon: %s\n", WEFT_VERSION, dv);
		if (strcmp(dv, WEFT_VERSION) != 0)
			fprintf(ctx->err, "Warning: client version %s != weftd version %s\n",
				WEFT_VERSION, dv);
	} else {
		fprintf(ctx->out, "%s\n", WEFT_VERSION);
	}
	json_decref(st);
	return rc;
}

/* GET path and print it as JSON: the shape of prefs and netmap. */
static int cli_debug_show(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv,
			  const char *path)
{
	json_t *j = NULL;
	size_t npos;
	int rc = cli_parse(ctx, cmd, NULL, 0, argc, argv, 0, 0, &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_call(ctx, "GET", path, NULL, 0, &j) < 0)
		return CLI_EXIT_FAIL;
	rc = j != NULL && cli_out_json(ctx->out, j) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	json_decref(j);
	return rc;
}

int cli_cmd_debug_prefs(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	return cli_debug_show(ctx, cmd, argc, argv, LOCALAPI_PREFS);
}

int cli_cmd_debug_netmap(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	return cli_debug_show(ctx, cmd, argc, argv, LOCALAPI_NETMAP);
}

int cli_cmd_debug_filter(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	bool json = false;
	struct cli_flag flags[] = {
		{ .name = "json",
		  .kind = CLI_FLAG_BOOL,
		  .value = &json,
		  .def = "false",
		  .help = "print the filter as JSON (the rules as the server sent them)" },
	};
	json_t *j = NULL;
	size_t npos;
	int rc = cli_parse(ctx, cmd, flags, 1, argc, argv, 0, 0, &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_call(ctx, "GET", LOCALAPI_FILTER, NULL, 0, &j) < 0)
		return CLI_EXIT_FAIL;
	if (json)
		rc = cli_out_json(ctx->out, j) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	else
		cli_out_filter(ctx->out, j);
	json_decref(j);
	return rc == CLI_CONTINUE ? CLI_EXIT_OK : rc;
}

static int cli_key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cli_cmd_debug_counters(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
			   char **argv)
{
	bool json = false;
	struct cli_flag flags[] = {
		{ .name = "json",
		  .kind = CLI_FLAG_BOOL,
		  .value = &json,
		  .def = "false",
		  .help = "print the counters as one JSON object" },
	};
	const char **keys = NULL, *k;
	json_t *j = NULL, *v;
	size_t npos, n = 0;
	int rc = cli_parse(ctx, cmd, flags, 1, argc, argv, 0, 0, &npos);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cli_call(ctx, "GET", LOCALAPI_COUNTERS, NULL, 0, &j) < 0)
		return CLI_EXIT_FAIL;
	if (json) {
		rc = cli_out_json(ctx->out, j) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		goto out;
	}
	keys = calloc(json_object_size(j) + 1, sizeof(*keys));
	if (keys == NULL) {
		rc = cli_fail(ctx, "out of memory");
		goto out;
	}
	json_object_foreach(j, k, v) {
		keys[n++] = k;
	}
	qsort(keys, n, sizeof(*keys), cli_key_cmp);
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(j, keys[i]);
		if (json_is_integer(v))
			fprintf(ctx->out, "%s %lld\n", keys[i], (long long)json_integer_value(v));
	}
	rc = CLI_EXIT_OK;
out:
	free(keys);
	json_decref(j);
	return rc;
}
