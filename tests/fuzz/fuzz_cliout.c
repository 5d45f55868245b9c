/* SPDX-License-Identifier: ISC */
/*
 * fuzz_cliout: arbitrary JSON from the local API through every printer of weft's output
 * (status table, whois, pong line, profiles, dns status and query) and the node lookup, and
 * arbitrary bytes through the watch stream's line framing: never a crash, whatever the shapes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/cli.h"
#include "weft/client.h"
#include "weft/output.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cli_status_opts o = { .self = true, .peers = true, .active = size % 2 == 1 };
	json_error_t e;
	json_t *j = json_loadb((const char *)data, size, 0, &e);
	long n = cli_line_find((const char *)data, size);
	char buf[512];
	FILE *fp;

	if (n >= 0 && ((size_t)n >= size || data[n] != '\n'))
		abort();
	if (j == NULL)
		return 0;
	fp = fopen("/dev/null", "w");
	if (fp != NULL) {
		(void)cli_out_status(fp, j, &o, 1800000000);
		cli_out_whois(fp, j);
		cli_out_profiles(fp, j, "abcd");
		cli_out_dns_status(fp, j);
		cli_out_dns_query(fp, j);
		(void)cli_out_json(fp, j);
		fclose(fp);
	}
	(void)cli_out_pong(j, "disco", buf, sizeof(buf));
	cli_out_peer_state(j, 1800000000, buf, sizeof(buf));
	cli_out_peer_name(j, j, buf, sizeof(buf));
	cli_out_peer_owner(j, j, buf, sizeof(buf));
	(void)cli_find_node(j, "gw");
	(void)cli_find_node(j, "100.64.0.2");
	json_decref(j);
	return 0;
}
