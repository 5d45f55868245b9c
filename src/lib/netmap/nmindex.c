/* SPDX-License-Identifier: ISC */
/* nmindex: open-addressing hash index over short byte keys (see nmindex.h). */
#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "netmap/nmindex.h"

void nmindex_init(struct nmindex *ix)
{
	memset(ix, 0, sizeof(*ix));
	randombytes_buf(ix->hkey, sizeof(ix->hkey));
}

void nmindex_fini(struct nmindex *ix)
{
	free(ix->slots);
	ix->slots = NULL;
	ix->cap = ix->n = 0;
}

static uint64_t nmindex_hash(const struct nmindex *ix, const void *key, size_t klen)
{
	uint8_t h[crypto_shorthash_siphash24_BYTES];
	uint64_t v;

	crypto_shorthash_siphash24(h, key, klen, ix->hkey);
	memcpy(&v, h, sizeof(v));
	return v | 1; /* 0 marks an empty slot */
}

static bool nmindex_slot_is(const struct nmindex_slot *s, uint64_t h, const void *key, size_t klen)
{
	return s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0;
}

static void nmindex_insert_slot(struct nmindex_slot *slots, size_t cap,
				const struct nmindex_slot *src)
{
	size_t i = (size_t)src->hash & (cap - 1);

	while (slots[i].hash != 0)
		i = (i + 1) & (cap - 1);
	slots[i] = *src;
}

/* Keeps the load factor at or below 1/2. */
int nmindex_reserve(struct nmindex *ix, size_t n)
{
	struct nmindex_slot *ns;
	size_t cap = ix->cap ? ix->cap : 16;

	while (cap / 2 < n) {
		if (cap > SIZE_MAX / 4)
			return -ENOMEM;
		cap *= 2;
	}
	if (cap == ix->cap)
		return 0;
	if ((ns = mem_calloc(cap, sizeof(*ns))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < ix->cap; i++)
		if (ix->slots[i].hash != 0)
			nmindex_insert_slot(ns, cap, &ix->slots[i]);
	free(ix->slots);
	ix->slots = ns;
	ix->cap = cap;
	return 0;
}

static size_t nmindex_find(const struct nmindex *ix, uint64_t h, const void *key, size_t klen)
{
	size_t i = (size_t)h & (ix->cap - 1);

	while (ix->slots[i].hash != 0) {
		if (nmindex_slot_is(&ix->slots[i], h, key, klen))
			return i;
		i = (i + 1) & (ix->cap - 1);
	}
	return SIZE_MAX;
}

int nmindex_put(struct nmindex *ix, const void *key, size_t klen, void *val)
{
	struct nmindex_slot s = { 0 };
	int r;

	if (klen == 0 || klen > NMINDEX_KEY_MAX)
		return -EINVAL;
	if ((r = nmindex_reserve(ix, ix->n + 1)) < 0)
		return r;
	s.hash = nmindex_hash(ix, key, klen);
	if (nmindex_find(ix, s.hash, key, klen) != SIZE_MAX)
		return -EEXIST;
	s.val = val;
	s.klen = (uint8_t)klen;
	memcpy(s.key, key, klen);
	nmindex_insert_slot(ix->slots, ix->cap, &s);
	ix->n++;
	return 0;
}

void *nmindex_get(const struct nmindex *ix, const void *key, size_t klen)
{
	size_t i;

	if (ix->cap == 0 || klen == 0 || klen > NMINDEX_KEY_MAX)
		return NULL;
	i = nmindex_find(ix, nmindex_hash(ix, key, klen), key, klen);
	return i == SIZE_MAX ? NULL : ix->slots[i].val;
}

/* Backward-shift deletion: later slots of the run move up so probes never see a hole. */
void *nmindex_del(struct nmindex *ix, const void *key, size_t klen)
{
	size_t i, j, mask = ix->cap - 1;
	void *val;

	if (ix->cap == 0 || klen == 0 || klen > NMINDEX_KEY_MAX)
		return NULL;
	if ((i = nmindex_find(ix, nmindex_hash(ix, key, klen), key, klen)) == SIZE_MAX)
		return NULL;
	val = ix->slots[i].val;
	for (j = (i + 1) & mask; ix->slots[j].hash != 0; j = (j + 1) & mask) {
		size_t home = (size_t)ix->slots[j].hash & mask;
		/* Move j into the hole at i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		ix->slots[i] = ix->slots[j];
		i = j;
	}
	memset(&ix->slots[i], 0, sizeof(ix->slots[i]));
	ix->n--;
	return val;
}
