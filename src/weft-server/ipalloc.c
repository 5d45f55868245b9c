/* SPDX-License-Identifier: ISC */
/* ipalloc: addresses within a prefix, by offset from its base, with a used set (see ipalloc.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "crypto/keys.h"
#include "netmap/nmindex.h"
#include "weft-server/ipalloc.h"

/* Offsets beyond this are not used: 2^40 addresses is more than any tailnet needs. */
#define IPALLOC_SPAN_MAX (1ULL << 40)
#define IPALLOC_RANDOM_TRIES 64

struct ipalloc {
	struct netprefix prefix;
	uint64_t span;	 /* offsets [1, span) are candidates; IPv4 also skips span - 1 */
	uint64_t cursor; /* sequential: the next offset to try */
	bool random;
	struct nmindex used;
	uint64_t capacity; /* candidates that are not reserved */
};

static const struct netprefix ipalloc_chromeos = {
	.addr = { .family = NETADDR_V4, .a = { 100, 115, 92, 0 } },
	.bits = 23,
};
static const struct netaddr ipalloc_quad100 = { .family = NETADDR_V4, .a = { 100, 100, 100, 100 } };
static const struct netaddr ipalloc_dns6 = {
	.family = NETADDR_V6,
	.a = { 0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53 },
};

static uint64_t ipalloc_low(const struct netaddr *a)
{
	if (a->family == NETADDR_V4)
		return buf_load_be32(a->a);
	return (uint64_t)buf_load_be32(a->a + 8) << 32 | buf_load_be32(a->a + 12);
}

/* a's offset from the prefix base, or UINT64_MAX when outside the usable span. */
static uint64_t ipalloc_offset(const struct ipalloc *ia, const struct netaddr *a)
{
	uint64_t off;

	if (a->family != ia->prefix.addr.family || !netprefix_contains(&ia->prefix, a))
		return UINT64_MAX;
	if (a->family == NETADDR_V6 && memcmp(a->a, ia->prefix.addr.a, 8) != 0)
		return UINT64_MAX;
	off = ipalloc_low(a) - ipalloc_low(&ia->prefix.addr);
	return off < ia->span ? off : UINT64_MAX;
}

static void ipalloc_at(const struct ipalloc *ia, uint64_t off, struct netaddr *out)
{
	*out = ia->prefix.addr;
	netaddr_add(out, off);
}

static bool ipalloc_reserved_off(const struct ipalloc *ia, uint64_t off)
{
	struct netaddr a;

	if (off == 0 || off >= ia->span)
		return true;
	if (ia->prefix.addr.family == NETADDR_V4 && off == ia->span - 1 &&
	    ia->span == 1ULL << (32 - ia->prefix.bits))
		return true; /* broadcast */
	ipalloc_at(ia, off, &a);
	return netaddr_eq(&a, &ipalloc_quad100) || netaddr_eq(&a, &ipalloc_dns6) ||
	       netprefix_contains(&ipalloc_chromeos, &a);
}

bool ipalloc_is_reserved(const struct ipalloc *ia, const struct netaddr *a)
{
	uint64_t off = ipalloc_offset(ia, a);

	return off == UINT64_MAX || ipalloc_reserved_off(ia, off);
}

/*
 * Takes a reserved address out of the capacity, unless it is outside the
 * prefix or already counted as the network or broadcast address (as
 * 100.100.100.100 is in 100.100.100.100/30).
 */
static void ipalloc_uncount(struct ipalloc *ia, const struct netaddr *a)
{
	uint64_t off = ipalloc_offset(ia, a);

	if (off == UINT64_MAX || off == 0 ||
	    (ia->prefix.addr.family == NETADDR_V4 && off == ia->span - 1))
		return;
	ia->capacity--;
}

int ipalloc_new(const struct netprefix *p, bool random, struct ipalloc **out)
{
	struct ipalloc *ia;
	unsigned host = netaddr_bits(&p->addr) - p->bits;
	struct netaddr a;

	*out = NULL;
	if (host < 2)
		return -EINVAL;
	if ((ia = calloc(1, sizeof(*ia))) == NULL)
		return -ENOMEM;
	ia->prefix = *p;
	ia->span = host >= 40 ? IPALLOC_SPAN_MAX : 1ULL << host;
	ia->random = random;
	ia->cursor = 1;
	nmindex_init(&ia->used);
	ia->capacity = ia->span - 1 - (p->addr.family == NETADDR_V4 ? 1 : 0);
	/* Subtract the reserved addresses that fall inside. */
	ipalloc_uncount(ia, &ipalloc_quad100);
	ipalloc_uncount(ia, &ipalloc_dns6);
	for (uint32_t i = 0; i < 512; i++) {
		a = ipalloc_chromeos.addr;
		netaddr_add(&a, i);
		ipalloc_uncount(ia, &a);
	}
	*out = ia;
	return 0;
}

void ipalloc_free(struct ipalloc *ia)
{
	if (ia == NULL)
		return;
	nmindex_fini(&ia->used);
	free(ia);
}

bool ipalloc_is_used(const struct ipalloc *ia, const struct netaddr *a)
{
	return nmindex_get(&ia->used, a->a, netaddr_len(a)) != NULL;
}

size_t ipalloc_used(const struct ipalloc *ia)
{
	return ia->used.n;
}

int ipalloc_reserve(struct ipalloc *ia, const struct netaddr *a)
{
	uint64_t off = ipalloc_offset(ia, a);

	if (off == UINT64_MAX || ipalloc_reserved_off(ia, off))
		return -ERANGE;
	/* The stored value only needs to be non-NULL. */
	return nmindex_put(&ia->used, a->a, netaddr_len(a), ia);
}

void ipalloc_release(struct ipalloc *ia, const struct netaddr *a)
{
	(void)nmindex_del(&ia->used, a->a, netaddr_len(a));
}

static bool ipalloc_take(struct ipalloc *ia, uint64_t off, struct netaddr *out)
{
	if (ipalloc_reserved_off(ia, off))
		return false;
	ipalloc_at(ia, off, out);
	return !ipalloc_is_used(ia, out) && ipalloc_reserve(ia, out) == 0;
}

int ipalloc_next(struct ipalloc *ia, struct netaddr *out)
{
	uint64_t off;

	if (ia->used.n >= ia->capacity)
		return -ENOSPC;
	if (ia->random) {
		for (int i = 0; i < IPALLOC_RANDOM_TRIES; i++) {
			keys_random(&off, sizeof(off));
			off %= ia->span;
			if (ipalloc_take(ia, off, out))
				return 0;
		}
		/* Nearly full: scan on from a random point. */
		keys_random(&ia->cursor, sizeof(ia->cursor));
		ia->cursor %= ia->span;
	}
	/* There is a free candidate (capacity check), so one pass finds it. */
	for (uint64_t n = 0; n < ia->span; n++) {
		off = ia->cursor;
		ia->cursor = ia->cursor + 1 >= ia->span ? 1 : ia->cursor + 1;
		if (ipalloc_take(ia, off, out))
			return 0;
	}
	return -ENOSPC;
}
