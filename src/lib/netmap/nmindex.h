/* SPDX-License-Identifier: ISC */
/*
 * nmindex: an open-addressing hash index from short byte keys (node IDs, node
 * keys, addresses, nonces; at most 32 bytes) to pointers. SipHash under a
 * random per-index key, linear probing, backward-shift deletion, so lookups,
 * inserts and deletes are O(1) and a netmap delta costs O(changed).
 */
#ifndef WEFT_NETMAP_NMINDEX_H
#define WEFT_NETMAP_NMINDEX_H

#include <stddef.h>
#include <stdint.h>

#define NMINDEX_KEY_MAX 32

struct nmindex_slot {
	uint64_t hash; /* 0: empty */
	void *val;
	uint8_t klen;
	uint8_t key[NMINDEX_KEY_MAX];
};

struct nmindex {
	struct nmindex_slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
	uint8_t hkey[16];
};

void nmindex_init(struct nmindex *ix);
void nmindex_fini(struct nmindex *ix);
/* Makes room for `n` entries in total, so that the next puts up to n cannot fail. */
int nmindex_reserve(struct nmindex *ix, size_t n) __attribute__((warn_unused_result));
/* -EEXIST when the key is present, -ENOMEM, -EINVAL when klen is out of range. */
int nmindex_put(struct nmindex *ix, const void *key, size_t klen, void *val)
	__attribute__((warn_unused_result));
void *nmindex_get(const struct nmindex *ix, const void *key, size_t klen);
/* Removes the key; returns its value or NULL. */
void *nmindex_del(struct nmindex *ix, const void *key, size_t klen);

#endif
