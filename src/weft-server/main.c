/* SPDX-License-Identifier: ISC */
/*
 * weft-server: the weft coordination server. This file only dispatches:
 * `serve` (server.c), `configtest`, `version`, the admin groups
 * (admin_cmd.c) and `policy` (policy_cmd.c).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/flags.h"
#include "core/log.h"
#include "weft_config.h"
#include "weft-server/admin_cmd.h"
#include "weft-server/config.h"
#include "weft-server/policy_cmd.h"
#include "weft-server/server.h"

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: weft-server [--config FILE] COMMAND [flags]\n\n"
		"The weft coordination server: users, nodes, keys, addresses and network maps.\n\n"
		"COMMANDS\n"
		"  serve        run the server (embedded defaults without --config)\n"
		"  configtest   check the configuration; --dump prints it as weft reads it\n"
		"  version      print the version\n");
	admin_cmd_usage(fp);
	fprintf(fp,
		"  policy       get | set FILE | check FILE | compile FILE --topology T: the access\n"
		"               policy (docs/POLICY.md)\n\n"
		"Every command takes --config FILE (default: the embedded defaults; see\n"
		"docs/weft-server.md) and `COMMAND --help`. The admin commands reach the server\n"
		"on its admin socket, or remotely with cli.address and an API key\n"
		"(WEFT_CLI_ADDRESS, WEFT_CLI_API_KEY).\n");
}

static int load_config(const char *path, struct srv_config **cfg)
{
	char err[SRV_CONFIG_ERR_LEN];

	if (path == NULL)
		return srv_config_defaults(cfg) < 0 ? -1 : 0;
	if (srv_config_load(path, cfg, err) < 0) {
		fprintf(stderr, "weft-server: %s\n", err);
		return -1;
	}
	return 0;
}

static void apply_logging(const struct srv_config *cfg)
{
	enum log_level lvl = LOG_LEVEL_INFO;

	if (cfg->log_level != NULL && log_level_parse(cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	log_set_json(cfg->log_format == SRV_LOG_JSON);
}

/* serve and configtest share --config and, for configtest, --dump. */
static int cmd_serve(const char *name, const char *config_path, int argc, char **argv)
{
	const char *cfgflag = NULL;
	bool dump = false;
	struct cli_flag f[] = {
		{ .name = "config", .alias = "c", .kind = CLI_FLAG_STRING, .value = &cfgflag,
		  .arg = "FILE", .help = "the configuration file (YAML, Headscale's key names)" },
		{ .name = "dump", .kind = CLI_FLAG_BOOL, .value = &dump,
		  .help = "print the effective configuration (configtest only)" },
	};
	bool test = strcmp(name, "configtest") == 0;
	struct srv_config *cfg = NULL;
	char err[CLI_FLAGS_ERR_MAX];
	size_t npos;
	int r;

	r = cli_flags_parse(f, test ? 2 : 1, argc, argv, &npos, err, sizeof(err));
	if (r == CLI_FLAGS_HELP) {
		printf("usage: weft-server %s [--config FILE]%s\n\n%s\n", name,
		       test ? " [--dump]" : "",
		       test ? "Reads and checks the configuration, then exits: 0 when it is valid."
			    : "Runs the coordination server in the foreground until SIGTERM or "
			      "SIGINT.");
		cli_flags_usage(stdout, f, test ? 2 : 1);
		return 0;
	}
	if (r == CLI_FLAGS_ERROR || npos > 0) {
		fprintf(stderr, "weft-server %s: %s (see --help)\n", name,
			r == CLI_FLAGS_ERROR ? err : "takes no arguments");
		return 2;
	}
	if (cfgflag != NULL)
		config_path = cfgflag;
	if (load_config(config_path, &cfg) < 0)
		return 1;
	if (test) {
		for (size_t i = 0; i < cfg->n_warnings; i++)
			fprintf(stderr, "weft-server: warning: %s\n", cfg->warnings[i]);
		if (dump) {
			char *s = srv_config_dump(cfg);
			if (s != NULL)
				fputs(s, stdout);
			free(s);
		} else {
			printf("configuration %s is valid\n", config_path ? config_path : "(defaults)");
		}
		srv_config_free(cfg);
		return 0;
	}
	apply_logging(cfg);
	r = srv_serve(cfg);
	srv_config_free(cfg);
	return r;
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	bool help = false, version = false;
	struct cli_flag g[] = {
		{ .name = "config", .alias = "c", .kind = CLI_FLAG_STRING, .value = &config_path,
		  .arg = "FILE", .help = "the configuration file" },
		{ .name = "version", .kind = CLI_FLAG_BOOL, .value = &version,
		  .help = "print the version" },
	};
	char err[CLI_FLAGS_ERR_MAX];
	size_t used;
	int r;

	log_init("weft-server", LOG_LEVEL_INFO);
	/* The embedded relay keeps its key in sodium_malloc'd memory. */
	if (sodium_init() < 0) {
		log_error("libsodium failed to start");
		return 1;
	}
	r = cli_flags_parse_head(g, 2, argc - 1, argv + 1, &used, err, sizeof(err));
	if (r == CLI_FLAGS_HELP)
		help = true;
	else if (r == CLI_FLAGS_ERROR) {
		fprintf(stderr, "weft-server: %s (see weft-server --help)\n", err);
		return 2;
	}
	argc -= 1 + (int)used;
	argv += 1 + (int)used;
	if (version || (argc > 0 && strcmp(argv[0], "version") == 0)) {
		printf("weft-server %s\n", WEFT_VERSION);
		return 0;
	}
	if (help || (argc > 0 && strcmp(argv[0], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc == 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[0], "serve") == 0 || strcmp(argv[0], "configtest") == 0)
		return cmd_serve(argv[0], config_path, argc - 1, argv + 1);
	if (strcmp(argv[0], "policy") == 0)
		return policy_cmd_main(config_path, argc, argv);
	if (admin_cmd_is_group(argv[0]))
		return admin_cmd_main(config_path, argc, argv);
	fprintf(stderr, "weft-server: unknown command `%s' (see weft-server --help)\n", argv[0]);
	return 2;
}
