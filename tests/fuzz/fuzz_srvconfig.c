/* SPDX-License-Identifier: ISC */
/*
 * fuzz_srvconfig: arbitrary bytes as a weft-server config file (yamlx, then
 * srv_config_parse). Whatever is accepted must dump to YAML that parses back
 * without warnings and dumps to the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weft-server/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srv_config *c, *c2;
	char err[SRV_CONFIG_ERR_LEN], err2[SRV_CONFIG_ERR_LEN];
	char *d1, *d2;

	if (srv_config_parse(data, size, "fuzz.yaml", &c, err) != 0) {
		if (c != NULL || err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return 0;
	}
	if ((d1 = srv_config_dump(c)) == NULL)
		abort();
	if (srv_config_parse(d1, strlen(d1), "dump", &c2, err2) != 0 || c2->n_warnings != 0)
		abort();
	if ((d2 = srv_config_dump(c2)) == NULL || strcmp(d1, d2) != 0)
		abort();
	free(d1);
	free(d2);
	srv_config_free(c2);
	srv_config_free(c);
	return 0;
}
