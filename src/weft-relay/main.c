/* SPDX-License-Identifier: ISC */
/* weft-relay: the weft relay and STUN server for nodes that cannot reach each other directly. (Stub until its issue lands: prints usage and version.) */
#include <stdio.h>
#include <string.h>

#include "weft_config.h"

static void usage(FILE *fp)
{
	fprintf(fp, "usage: weft-relay [--help] [--version]\n\n"
		    "the weft relay and STUN server for nodes that cannot reach each other directly.\n"
		    "Not implemented yet in this version.\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
		printf("weft-relay %s\n", WEFT_VERSION);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
