/* SPDX-License-Identifier: ISC */
/* weft-server: the weft coordination server: users, nodes, keys, addresses, network maps. (Stub until its issue lands: prints usage and version.) */
#include <stdio.h>
#include <string.h>

#include "weft_config.h"
#include "weft-server/policy_cmd.h"

static void usage(FILE *fp)
{
	fprintf(fp, "usage: weft-server [--help] [--version]\n"
		    "       weft-server policy check|compile ...\n\n"
		    "the weft coordination server: users, nodes, keys, addresses, network maps.\n"
		    "Not implemented yet in this version.\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "policy") == 0)
		return policy_cmd_main(argc - 1, argv + 1);
	if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
		printf("weft-server %s\n", WEFT_VERSION);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
