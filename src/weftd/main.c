/* SPDX-License-Identifier: ISC */
/* weftd: the weft command-line client: talks to weftd over its local API. (Stub until its issue lands: prints usage and version.) */
#include <stdio.h>
#include <string.h>

#include "weft_config.h"

static void usage(FILE *fp)
{
	fprintf(fp, "usage: weftd [--help] [--version]\n\n"
		    "the weft command-line client: talks to weftd over its local API.\n"
		    "Not implemented yet in this version.\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
		printf("weftd %s\n", WEFT_VERSION);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
