/* SPDX-License-Identifier: ISC */
/*
 * netcfg_probe: drives weftd's netcfg module for tests/net/t_netcfg.sh.
 *   netcfg_probe IFNAME addrs PREFIX...    make IFNAME carry exactly these addresses
 *   netcfg_probe IFNAME routes PREFIX...   make the main table route exactly these via IFNAME
 *   netcfg_probe IFNAME link MTU up|down
 *   netcfg_probe IFNAME list               print addresses, then routes, one per line
 */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weftd/netcfg.h"

static int parse_all(int argc, char **argv, struct netprefix *v)
{
	for (int i = 0; i < argc; i++) {
		if (netprefix_parse_loose(argv[i], &v[i]) < 0) {
			fprintf(stderr, "netcfg_probe: bad prefix %s\n", argv[i]);
			return -1;
		}
		/* Addresses keep their host bits: re-read the address part. */
		char tmp[64];
		snprintf(tmp, sizeof(tmp), "%s", argv[i]);
		char *slash = strchr(tmp, '/');
		if (slash != NULL)
			*slash = '\0';
		if (netaddr_parse(tmp, &v[i].addr) < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct netcfg *n;
	struct netprefix v[64], *cur;
	size_t ncur;
	char buf[NETPREFIX_STRLEN];
	unsigned idx;
	int r = -1;

	if (argc < 3 || (idx = if_nametoindex(argv[1])) == 0 || argc - 3 > 64) {
		fprintf(stderr, "usage: netcfg_probe IFNAME addrs|routes|link|list ...\n");
		return 2;
	}
	if (netcfg_open(&n) < 0)
		return perror("netcfg_open"), 1;
	if (strcmp(argv[2], "addrs") == 0 && parse_all(argc - 3, argv + 3, v) == 0)
		r = netcfg_sync_addrs(n, idx, v, (size_t)(argc - 3));
	else if (strcmp(argv[2], "routes") == 0 && parse_all(argc - 3, argv + 3, v) == 0) {
		for (int i = 0; i < argc - 3; i++)
			if (netprefix_make(&v[i], &v[i].addr, v[i].bits) < 0)
				return 1;
		r = netcfg_sync_routes(n, idx, v, (size_t)(argc - 3));
	} else if (strcmp(argv[2], "link") == 0 && argc == 5)
		r = netcfg_link_set(n, idx, (unsigned)atoi(argv[3]), strcmp(argv[4], "up") == 0);
	else if (strcmp(argv[2], "list") == 0) {
		r = netcfg_list_addrs(n, idx, &cur, &ncur);
		for (size_t i = 0; r == 0 && i < ncur; i++)
			printf("addr %s\n", netprefix_format(&cur[i], buf, sizeof(buf)));
		if (r == 0)
			free(cur);
		if (r == 0)
			r = netcfg_list_routes(n, idx, &cur, &ncur);
		for (size_t i = 0; r == 0 && i < ncur; i++)
			printf("route %s\n", netprefix_format(&cur[i], buf, sizeof(buf)));
		if (r == 0)
			free(cur);
	}
	if (r < 0)
		fprintf(stderr, "netcfg_probe: %s: %s\n", argv[2], strerror(-r));
	netcfg_close(n);
	return r < 0 ? 1 : 0;
}
