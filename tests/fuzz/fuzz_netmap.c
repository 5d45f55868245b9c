/* SPDX-License-Identifier: ISC */
/*
 * fuzz_netmap: hostile network maps. The input is NUL-separated JSON texts:
 * the first a full frame, the rest deltas applied in order. Every accepted
 * map must answer its own lookups consistently, and a failed delta must leave
 * the map exactly as it was (checked with netmap_diff against a copy).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/jsonx.h"
#include "netmap/netmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct netmap *nm)
{
	for (size_t i = 0; i < netmap_peer_count(nm); i++) {
		const struct netmap_node *p = netmap_peer_at(nm, i);
		if (netmap_peer_by_id(nm, p->id) != p || netmap_peer_by_key(nm, &p->key) != p)
			abort();
		for (size_t a = 0; a < p->n_addresses; a++)
			if (netmap_peer_by_addr(nm, &p->addresses[a].addr) != p)
				abort();
	}
}

static json_t *next_json(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *z = memchr(*p, 0, (size_t)(end - *p));
	struct jsonx_err err;
	size_t n = z ? (size_t)(z - *p) : (size_t)(end - *p);
	json_t *v = NULL;

	(void)!jsonx_load(*p, n, &v, &err);
	*p += n + (z ? 1 : 0);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct netmap_changes ch;
	struct netmap *nm = NULL, *copy = NULL;
	struct jsonx_err err;
	json_t *full = next_json(&p, end), *d;

	if (full == NULL || netmap_new_from_full(full, &nm, &err) < 0)
		goto out;
	(void)!netmap_new_from_full(full, &copy, &err);
	netmap_changes_init(&ch);
	while (p < end) {
		if ((d = next_json(&p, end)) == NULL)
			continue;
		netmap_changes_reset(&ch);
		if (netmap_apply_delta(nm, d, &ch, &err) < 0) {
			netmap_changes_reset(&ch);
			if (copy && netmap_diff(copy, nm, &ch) == 0 && ch.n != 0)
				abort(); /* a refused delta changed the map */
		} else if (copy) {
			(void)!netmap_apply_delta(copy, d, NULL, &err);
		}
		check(nm);
		json_decref(d);
	}
	netmap_changes_free(&ch);
out:
	netmap_free(nm);
	netmap_free(copy);
	json_decref(full);
	return 0;
}
