/* SPDX-License-Identifier: ISC */
/*
 * allowedips: a path-compressed binary trie per family, as in the Linux
 * kernel's allowedips.c, plus an index from value to its prefixes (a hash of
 * value pointers to a list of nodes) so that per-peer walks and removal cost
 * O(prefixes of that peer), not O(table).
 *
 * Trie invariants: a node's cidr is larger than its parent's and its key
 * extends the parent's; a node without a value (a branch) has two children.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "wg/allowedips.h"

struct allowedips_node {
	struct allowedips_node *child[2];
	struct allowedips_node *parent;
	void *value; /* NULL: a branch node */
	/* The value's other nodes, in insertion order. */
	struct allowedips_node *vprev, *vnext;
	uint64_t key[2]; /* address bits, most significant first, masked to cidr */
	uint8_t cidr;
	uint8_t family;
};

/* One value's prefixes; an open-addressing slot, empty when value is NULL. */
struct allowedips_owner {
	const void *value;
	struct allowedips_node *head, *tail;
	size_t count;
};

struct allowedips {
	struct allowedips_node *root[2]; /* IPv4, IPv6 */
	struct allowedips_owner *owners;
	size_t owners_cap; /* zero or a power of two */
	size_t owners_len;
	size_t nodes;
	size_t prefixes;
};

#define ALLOWEDIPS_OWNERS_MIN 16

/* ---- keys: addresses as two 64-bit words, bit 0 the most significant ---- */

static unsigned allowedips_maxbits(enum netaddr_family family)
{
	return family == NETADDR_V4 ? 32 : 128;
}

static void allowedips_key_load(uint64_t k[2], enum netaddr_family family, const uint8_t *addr)
{
	if (family == NETADDR_V4) {
		k[0] = (uint64_t)buf_load_be32(addr) << 32;
		k[1] = 0;
	} else {
		k[0] = (uint64_t)buf_load_be32(addr) << 32 | buf_load_be32(addr + 4);
		k[1] = (uint64_t)buf_load_be32(addr + 8) << 32 | buf_load_be32(addr + 12);
	}
}

static uint64_t allowedips_mask_hi(unsigned cidr)
{
	if (cidr == 0)
		return 0;
	return cidr >= 64 ? UINT64_MAX : UINT64_MAX << (64 - cidr);
}

static uint64_t allowedips_mask_lo(unsigned cidr)
{
	return cidr <= 64 ? 0 : UINT64_MAX << (128 - cidr);
}

static bool allowedips_node_matches(const struct allowedips_node *n, const uint64_t k[2])
{
	return (((k[0] ^ n->key[0]) & allowedips_mask_hi(n->cidr)) |
		((k[1] ^ n->key[1]) & allowedips_mask_lo(n->cidr))) == 0;
}

/* The bit that follows the first cidr bits: which child to descend into. */
static unsigned allowedips_bit(const uint64_t k[2], unsigned cidr)
{
	return cidr < 64 ? (unsigned)(k[0] >> (63 - cidr)) & 1 :
			   (unsigned)(k[1] >> (127 - cidr)) & 1;
}

static unsigned allowedips_common_bits(const uint64_t a[2], const uint64_t b[2])
{
	if (a[0] != b[0])
		return (unsigned)__builtin_clzll(a[0] ^ b[0]);
	if (a[1] != b[1])
		return 64 + (unsigned)__builtin_clzll(a[1] ^ b[1]);
	return 128;
}

static bool allowedips_prefix_ok(const struct netprefix *p)
{
	struct netprefix m;

	if (p->addr.family != NETADDR_V4 && p->addr.family != NETADDR_V6)
		return false;
	return netprefix_make(&m, &p->addr, p->bits) == 0 && netprefix_eq(&m, p);
}

/* ---- the value index ---- */

static size_t allowedips_owner_home(const struct allowedips *t, const void *value)
{
	uint64_t h = (uint64_t)(uintptr_t)value * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (t->owners_cap - 1);
}

static struct allowedips_owner *allowedips_owner_find(const struct allowedips *t, const void *value)
{
	if (t->owners_cap == 0)
		return NULL;
	for (size_t i = allowedips_owner_home(t, value);; i = (i + 1) & (t->owners_cap - 1)) {
		if (t->owners[i].value == value)
			return &t->owners[i];
		if (t->owners[i].value == NULL)
			return NULL;
	}
}

/* The slot for value, claiming an empty one; needs a free slot (owner_reserve). */
static struct allowedips_owner *allowedips_owner_claim(struct allowedips *t, const void *value)
{
	size_t i = allowedips_owner_home(t, value);

	while (t->owners[i].value != NULL && t->owners[i].value != value)
		i = (i + 1) & (t->owners_cap - 1);
	if (t->owners[i].value == NULL) {
		t->owners[i].value = value;
		t->owners_len++;
	}
	return &t->owners[i];
}

/* Makes room for one more value, keeping the load at most 3/4. */
static int allowedips_owner_reserve(struct allowedips *t)
{
	struct allowedips_owner *old = t->owners;
	size_t oldcap = t->owners_cap, cap = oldcap ? oldcap * 2 : ALLOWEDIPS_OWNERS_MIN;

	if ((t->owners_len + 1) * 4 <= oldcap * 3)
		return 0;
	t->owners = mem_calloc(cap, sizeof(*t->owners));
	if (t->owners == NULL) {
		t->owners = old;
		return -ENOMEM;
	}
	t->owners_cap = cap;
	t->owners_len = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].value != NULL)
			*allowedips_owner_claim(t, old[i].value) = old[i];
	}
	free(old);
	return 0;
}

/* Empties slot o, shifting later members of its probe run back (no tombstones). */
static void allowedips_owner_delete(struct allowedips *t, struct allowedips_owner *o)
{
	size_t mask = t->owners_cap - 1, hole = (size_t)(o - t->owners);

	for (size_t i = (hole + 1) & mask; t->owners[i].value != NULL; i = (i + 1) & mask) {
		size_t home = allowedips_owner_home(t, t->owners[i].value);
		/* Move i into the hole unless its home lies cyclically in (hole, i]. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			t->owners[hole] = t->owners[i];
			hole = i;
		}
	}
	memset(&t->owners[hole], 0, sizeof(t->owners[hole]));
	t->owners_len--;
}

static void allowedips_owner_append(struct allowedips_owner *o, struct allowedips_node *n)
{
	n->vprev = o->tail;
	n->vnext = NULL;
	if (o->tail != NULL)
		o->tail->vnext = n;
	else
		o->head = n;
	o->tail = n;
	o->count++;
}

/* Takes n's value away, leaving n a branch (or a dead node for prune). */
static void allowedips_node_clear(struct allowedips *t, struct allowedips_node *n)
{
	struct allowedips_owner *o = allowedips_owner_find(t, n->value);

	if (n->vprev != NULL)
		n->vprev->vnext = n->vnext;
	else
		o->head = n->vnext;
	if (n->vnext != NULL)
		n->vnext->vprev = n->vprev;
	else
		o->tail = n->vprev;
	n->vprev = n->vnext = NULL;
	n->value = NULL;
	t->prefixes--;
	if (--o->count == 0)
		allowedips_owner_delete(t, o);
}

/* Gives n (with or without a value) to value; needs owner_reserve first. */
static void allowedips_node_give(struct allowedips *t, struct allowedips_node *n, void *value)
{
	if (n->value != NULL)
		allowedips_node_clear(t, n);
	n->value = value;
	t->prefixes++;
	allowedips_owner_append(allowedips_owner_claim(t, value), n);
}

/* ---- the trie ---- */

static struct allowedips_node *allowedips_node_new(const uint64_t k[2], unsigned cidr,
						   uint8_t family)
{
	struct allowedips_node *n = mem_calloc(1, sizeof(*n));

	if (n != NULL) {
		n->key[0] = k[0] & allowedips_mask_hi(cidr);
		n->key[1] = k[1] & allowedips_mask_lo(cidr);
		n->cidr = (uint8_t)cidr;
		n->family = family;
	}
	return n;
}

static struct allowedips_node **allowedips_root(struct allowedips *t, uint8_t family)
{
	return &t->root[family == NETADDR_V4 ? 0 : 1];
}

/* Puts repl where old hangs (its parent's child or the root); repl may be NULL. */
static void allowedips_node_replace(struct allowedips *t, struct allowedips_node *old,
				    struct allowedips_node *repl)
{
	struct allowedips_node *parent = old->parent;

	if (parent == NULL)
		*allowedips_root(t, old->family) = repl;
	else
		parent->child[parent->child[1] == old] = repl;
	if (repl != NULL)
		repl->parent = parent;
}

static void allowedips_node_attach(struct allowedips_node *parent, struct allowedips_node *n)
{
	parent->child[allowedips_bit(n->key, parent->cidr)] = n;
	n->parent = parent;
}

/* Frees valueless nodes from n upwards until the invariants hold again. */
static void allowedips_prune(struct allowedips *t, struct allowedips_node *n)
{
	while (n != NULL && n->value == NULL && (n->child[0] == NULL || n->child[1] == NULL)) {
		struct allowedips_node *child = n->child[0] != NULL ? n->child[0] : n->child[1];
		struct allowedips_node *parent = n->parent;

		allowedips_node_replace(t, n, child);
		free(n);
		t->nodes--;
		/* With a child spliced up, the parent keeps its two children. */
		n = child != NULL ? NULL : parent;
	}
}

/*
 * Walks down towards key/cidr. Returns the node for exactly that prefix, or
 * NULL with *parent the deepest node containing the prefix (NULL: the root
 * slot) and *below what hangs there on the key's side.
 */
static struct allowedips_node *allowedips_descend(struct allowedips *t, const uint64_t k[2],
						  unsigned cidr, uint8_t family,
						  struct allowedips_node **parent,
						  struct allowedips_node **below)
{
	struct allowedips_node *n = *allowedips_root(t, family);

	*parent = NULL;
	while (n != NULL && n->cidr <= cidr && allowedips_node_matches(n, k)) {
		if (n->cidr == cidr)
			return n;
		*parent = n;
		n = n->child[allowedips_bit(k, n->cidr)];
	}
	*below = n;
	return NULL;
}

/* Links fresh node n (and, when n and below diverge, the branch) under parent. */
static void allowedips_link(struct allowedips *t, struct allowedips_node *parent,
			    struct allowedips_node *below, struct allowedips_node *n,
			    struct allowedips_node *branch)
{
	struct allowedips_node *top = branch != NULL ? branch : n;

	if (below != NULL) {
		allowedips_node_replace(t, below, top);
		allowedips_node_attach(top, below);
		if (branch != NULL)
			allowedips_node_attach(branch, n);
	} else if (parent != NULL) {
		allowedips_node_attach(parent, n);
	} else {
		*allowedips_root(t, n->family) = n;
	}
}

int allowedips_insert(struct allowedips *t, const struct netprefix *p, void *value)
{
	struct allowedips_node *n, *parent, *below = NULL, *branch = NULL;
	uint64_t k[2];
	unsigned common;
	int ret = -ENOMEM;

	if (value == NULL || !allowedips_prefix_ok(p))
		return -EINVAL;
	allowedips_key_load(k, p->addr.family, p->addr.a);
	n = allowedips_descend(t, k, p->bits, p->addr.family, &parent, &below);
	if (n != NULL && n->value == value)
		return 0;
	if (allowedips_owner_reserve(t) < 0)
		return -ENOMEM;
	if (n != NULL) {
		allowedips_node_give(t, n, value);
		return 0;
	}
	n = allowedips_node_new(k, p->bits, p->addr.family);
	if (n == NULL)
		goto out;
	if (below != NULL) {
		common = allowedips_common_bits(below->key, k);
		if (common > p->bits)
			common = p->bits;
		if (common < p->bits) {
			branch = allowedips_node_new(k, common, p->addr.family);
			if (branch == NULL)
				goto out;
		}
	}
	allowedips_link(t, parent, below, n, branch);
	t->nodes += branch != NULL ? 2 : 1;
	allowedips_node_give(t, n, value);
	n = NULL;
	ret = 0;
out:
	free(n);
	return ret;
}

static struct allowedips_node *allowedips_find(struct allowedips *t, const struct netprefix *p)
{
	struct allowedips_node *parent, *below;
	uint64_t k[2];

	if (!allowedips_prefix_ok(p))
		return NULL;
	allowedips_key_load(k, p->addr.family, p->addr.a);
	return allowedips_descend(t, k, p->bits, p->addr.family, &parent, &below);
}

int allowedips_remove(struct allowedips *t, const struct netprefix *p)
{
	struct allowedips_node *n = allowedips_find(t, p);

	if (n == NULL || n->value == NULL)
		return -ENOENT;
	allowedips_node_clear(t, n);
	allowedips_prune(t, n);
	return 0;
}

size_t allowedips_remove_by_value(struct allowedips *t, const void *value)
{
	struct allowedips_owner *o = allowedips_owner_find(t, value);
	struct allowedips_node *n, *next;
	size_t count;

	if (o == NULL)
		return 0;
	n = o->head;
	count = o->count;
	allowedips_owner_delete(t, o);
	t->prefixes -= count;
	/* prune frees only valueless nodes, so the rest of the list stays valid. */
	for (; n != NULL; n = next) {
		next = n->vnext;
		n->value = NULL;
		n->vprev = n->vnext = NULL;
		allowedips_prune(t, n);
	}
	return count;
}

void *allowedips_lookup(const struct allowedips *t, enum netaddr_family family, const uint8_t *addr)
{
	const struct allowedips_node *n;
	unsigned maxbits;
	void *best = NULL;
	uint64_t k[2];

	if (family != NETADDR_V4 && family != NETADDR_V6)
		return NULL;
	n = t->root[family == NETADDR_V4 ? 0 : 1];
	maxbits = allowedips_maxbits(family);
	allowedips_key_load(k, family, addr);
	while (n != NULL && allowedips_node_matches(n, k)) {
		if (n->value != NULL)
			best = n->value;
		if (n->cidr == maxbits)
			break;
		n = n->child[allowedips_bit(k, n->cidr)];
	}
	return best;
}

size_t allowedips_count(const struct allowedips *t, const void *value)
{
	const struct allowedips_owner *o = allowedips_owner_find(t, value);

	return o != NULL ? o->count : 0;
}

static void allowedips_node_prefix(const struct allowedips_node *n, struct netprefix *p)
{
	memset(p, 0, sizeof(*p));
	p->addr.family = n->family;
	buf_store_be32(p->addr.a, (uint32_t)(n->key[0] >> 32));
	if (n->family == NETADDR_V6) {
		buf_store_be32(p->addr.a + 4, (uint32_t)n->key[0]);
		buf_store_be32(p->addr.a + 8, (uint32_t)(n->key[1] >> 32));
		buf_store_be32(p->addr.a + 12, (uint32_t)n->key[1]);
	}
	p->bits = n->cidr;
}

int allowedips_walk(const struct allowedips *t, const void *value,
		    int (*fn)(const struct netprefix *p, void *arg), void *arg)
{
	const struct allowedips_owner *o = allowedips_owner_find(t, value);
	struct netprefix p;
	int ret = 0;

	for (const struct allowedips_node *n = o != NULL ? o->head : NULL; n != NULL && ret == 0;
	     n = n->vnext) {
		allowedips_node_prefix(n, &p);
		ret = fn(&p, arg);
	}
	return ret;
}

void allowedips_stats_get(const struct allowedips *t, struct allowedips_stats *st)
{
	st->prefixes = t->prefixes;
	st->nodes = t->nodes;
	st->bytes = sizeof(*t) + t->nodes * sizeof(struct allowedips_node) +
		    t->owners_cap * sizeof(struct allowedips_owner);
}

int allowedips_new(struct allowedips **out)
{
	*out = mem_calloc(1, sizeof(**out));
	return *out != NULL ? 0 : -ENOMEM;
}

/* Depth is bounded by the address length (cidr grows along every path). */
static void allowedips_subtree_free(struct allowedips_node *n)
{
	if (n == NULL)
		return;
	allowedips_subtree_free(n->child[0]);
	allowedips_subtree_free(n->child[1]);
	free(n);
}

void allowedips_free(struct allowedips *t)
{
	if (t == NULL)
		return;
	allowedips_subtree_free(t->root[0]);
	allowedips_subtree_free(t->root[1]);
	free(t->owners);
	free(t);
}
