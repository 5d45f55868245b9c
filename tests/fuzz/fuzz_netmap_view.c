/* SPDX-License-Identifier: ISC */
/* fuzz_netmap_view: arbitrary JSON as a network map into weftd's reader (server input). */
#include <stdint.h>

#include "../../src/weftd/backend_netmap.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int backend_peers_set(struct backend *be, const struct backend_peer *self,
		      const struct backend_peer *peers, size_t npeers)
{
	(void)be;
	(void)self;
	(void)peers;
	(void)npeers;
	return 0;
}

int backend_users_set(struct backend *be, const struct backend_user *users, size_t n)
{
	(void)be;
	(void)users;
	(void)n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct backend be;
	json_error_t e;
	json_t *j = json_loadb((const char *)data, size, 0, &e);

	if (j != NULL) {
		(void)backend_view_from_netmap(&be, j);
		json_decref(j);
	}
	return 0;
}
