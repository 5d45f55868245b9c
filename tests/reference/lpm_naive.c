/* SPDX-License-Identifier: ISC */
/* lpm_naive: reference longest-prefix match by linear scan (see lpm_naive.h). */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "lpm_naive.h"

static void lpm_naive_delete(struct lpm_naive *r, size_t i)
{
	memmove(&r->e[i], &r->e[i + 1], (r->len - i - 1) * sizeof(r->e[0]));
	r->len--;
}

void lpm_naive_insert(struct lpm_naive *r, const struct netprefix *p, void *value)
{
	for (size_t i = 0; i < r->len; i++) {
		if (netprefix_eq(&r->e[i].prefix, p)) {
			if (r->e[i].value == value)
				return;
			lpm_naive_delete(r, i);
			break;
		}
	}
	if (mem_grow((void **)&r->e, &r->cap, r->len + 1, sizeof(r->e[0])) < 0)
		abort();
	r->e[r->len].prefix = *p;
	r->e[r->len].value = value;
	r->len++;
}

int lpm_naive_remove(struct lpm_naive *r, const struct netprefix *p)
{
	for (size_t i = 0; i < r->len; i++) {
		if (netprefix_eq(&r->e[i].prefix, p)) {
			lpm_naive_delete(r, i);
			return 1;
		}
	}
	return 0;
}

size_t lpm_naive_remove_by_value(struct lpm_naive *r, const void *value)
{
	size_t n = 0;

	for (size_t i = 0; i < r->len;) {
		if (r->e[i].value == value) {
			lpm_naive_delete(r, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

void *lpm_naive_lookup(const struct lpm_naive *r, const struct netaddr *a)
{
	const struct lpm_naive_entry *best = NULL;

	for (size_t i = 0; i < r->len; i++) {
		if (netprefix_contains(&r->e[i].prefix, a) &&
		    (best == NULL || r->e[i].prefix.bits > best->prefix.bits))
			best = &r->e[i];
	}
	return best != NULL ? best->value : NULL;
}

void lpm_naive_free(struct lpm_naive *r)
{
	free(r->e);
	memset(r, 0, sizeof(*r));
}
