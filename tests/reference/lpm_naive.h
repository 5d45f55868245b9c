/* SPDX-License-Identifier: ISC */
/*
 * lpm_naive: the obvious longest-prefix match, a list scanned in full, as the
 * reference that allowedips (and later filter, ipalloc) are diffed against.
 * Keeps insertion order per value the way allowedips documents it.
 */
#ifndef WEFT_REF_LPM_NAIVE_H
#define WEFT_REF_LPM_NAIVE_H

#include <stddef.h>

#include "core/netaddr.h"

struct lpm_naive_entry {
	struct netprefix prefix;
	void *value;
};

struct lpm_naive {
	struct lpm_naive_entry *e;
	size_t len, cap;
};

/* Replaces the value of an existing prefix (moving it to the end, as a fresh insert). */
void lpm_naive_insert(struct lpm_naive *r, const struct netprefix *p, void *value);
/* Returns whether p was there. */
int lpm_naive_remove(struct lpm_naive *r, const struct netprefix *p);
size_t lpm_naive_remove_by_value(struct lpm_naive *r, const void *value);
void *lpm_naive_lookup(const struct lpm_naive *r, const struct netaddr *a);
void lpm_naive_free(struct lpm_naive *r);

#endif
