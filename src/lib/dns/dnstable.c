/* SPDX-License-Identifier: ISC */
/* dnstable: MagicDNS names, zones and routes built from a network map (see dnstable.h). */
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/mem.h"
#include "dns/dnstable.h"
#include "netmap/netmap.h"

const struct netaddr dnstable_quad100_v4 = { .family = NETADDR_V4, .a = { 100, 100, 100, 100 } };
const struct netaddr dnstable_quad100_v6 = {
	.family = NETADDR_V6,
	.a = { 0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53 },
};

/* One record while building: owner, type and RDATA live in the arena. */
struct dnstable_tuple {
	const uint8_t *name;
	uint8_t nlen;
	uint16_t type;
	uint16_t rdlen;
	const uint8_t *rdata;
};

/* A zone: answered here (n_ns == 0) or forwarded. */
struct dnstable_zone {
	const uint8_t *name;
	uint8_t nlen;
	struct netendpoint ns[DNSTABLE_MAX_UPSTREAMS];
	size_t n_ns;
	char *domain;
};

struct dnstable_entry {
	const uint8_t *name;
	uint8_t nlen;
	struct dnstable_rr *rr;
	size_t n_rr;
};

/* Open addressing: hash and 1-based index per slot (index 0 = empty). */
struct dnstable_map {
	uint64_t *h;
	uint32_t *ix;
	size_t mask;
};

struct dnstable_builder {
	struct arena *a;
	struct dnstable_tuple *t;
	size_t n_t, cap_t;
	struct dnstable_zone *z;
	size_t n_z, cap_z;
	struct netendpoint global[DNSTABLE_MAX_UPSTREAMS];
	size_t n_global;
	struct netendpoint os[DNSTABLE_MAX_UPSTREAMS];
	size_t n_os;
	char *search[DNSTABLE_MAX_SEARCH];
	size_t n_search;
	bool magic;
	char *base;
	struct dnstable_report rep;
};

struct dnstable {
	struct arena *a;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	struct dnstable_entry *names;
	size_t n_names;
	struct dnstable_map names_map;
	struct dnstable_map ent; /* empty non-terminals and local zone apexes: hashes only */
	struct dnstable_zone *zones;
	size_t n_zones;
	struct dnstable_map zones_map;
	struct netendpoint def[DNSTABLE_MAX_UPSTREAMS];
	size_t n_def;
	bool overrides;
	bool magic;
	char *base;
	char *search[DNSTABLE_MAX_SEARCH];
	size_t n_search;
	uint64_t digest;
};

static uint64_t dnstable_hash(const struct dnstable *t, const uint8_t *k, size_t n)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, k, n, t->hkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

static int dnstable_map_init(struct dnstable_map *m, size_t n)
{
	size_t cap = 8;

	while (cap < 2 * n)
		cap *= 2;
	m->h = mem_calloc(cap, sizeof(*m->h));
	m->ix = mem_calloc(cap, sizeof(*m->ix));
	m->mask = cap - 1;
	return m->h != NULL && m->ix != NULL ? 0 : -ENOMEM;
}

static void dnstable_map_fini(struct dnstable_map *m)
{
	free(m->h);
	free(m->ix);
}

static void dnstable_map_put(struct dnstable_map *m, uint64_t h, uint32_t ix)
{
	size_t i = (size_t)h & m->mask;

	while (m->ix[i] != 0)
		i = (i + 1) & m->mask;
	m->h[i] = h;
	m->ix[i] = ix;
}

/* The hash-only set (sized at build so that it never fills). */
static bool dnstable_set_has(const struct dnstable_map *m, uint64_t h)
{
	for (size_t i = (size_t)h & m->mask; m->ix[i] != 0; i = (i + 1) & m->mask)
		if (m->h[i] == h)
			return true;
	return false;
}

static void dnstable_set_add(struct dnstable_map *m, uint64_t h)
{
	if (!dnstable_set_has(m, h))
		dnstable_map_put(m, h, 1);
}

static const struct dnstable_entry *dnstable_name_get(const struct dnstable *t, uint64_t h,
						      const uint8_t *k, size_t n)
{
	const struct dnstable_map *m = &t->names_map;

	for (size_t i = (size_t)h & m->mask; m->ix[i] != 0; i = (i + 1) & m->mask) {
		const struct dnstable_entry *e = &t->names[m->ix[i] - 1];
		if (m->h[i] == h && e->nlen == n && memcmp(e->name, k, n) == 0)
			return e;
	}
	return NULL;
}

static const struct dnstable_zone *dnstable_zone_get(const struct dnstable *t, uint64_t h,
						     const uint8_t *k, size_t n)
{
	const struct dnstable_map *m = &t->zones_map;

	for (size_t i = (size_t)h & m->mask; m->ix[i] != 0; i = (i + 1) & m->mask) {
		const struct dnstable_zone *z = &t->zones[m->ix[i] - 1];
		if (m->h[i] == h && z->nlen == n && memcmp(z->name, k, n) == 0)
			return z;
	}
	return NULL;
}

/* Builder */

__attribute__((format(printf, 2, 3))) static void dnstable_note(struct dnstable_builder *b,
								const char *fmt, ...)
{
	va_list ap;

	if (b->rep.skipped++ == 0) {
		va_start(ap, fmt);
		vsnprintf(b->rep.first, sizeof(b->rep.first), fmt, ap);
		va_end(ap);
	}
}

int dnstable_builder_new(struct dnstable_builder **out)
{
	struct dnstable_builder *b;

	*out = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return -ENOMEM;
	if (arena_new(1 << 16, &b->a) < 0) {
		free(b);
		return -ENOMEM;
	}
	*out = b;
	return 0;
}

void dnstable_builder_free(struct dnstable_builder *b)
{
	if (b == NULL)
		return;
	arena_free(b->a);
	free(b->t);
	free(b->z);
	free(b);
}

/* A lower-cased wire name copied into the arena. */
static const uint8_t *dnstable_keep_name(struct dnstable_builder *b, const struct dnsmsg_name *n)
{
	uint8_t *p = arena_alloc(b->a, n->len);

	if (p != NULL)
		memcpy(p, n->b, n->len);
	return p;
}

static int dnstable_text_name(const char *s, struct dnsmsg_name *n)
{
	int r = dnsmsg_name_from_text(s, n);

	if (r == 0)
		dnsmsg_name_lower(n);
	return r;
}

static int dnstable_add(struct dnstable_builder *b, const struct dnsmsg_name *owner, uint16_t type,
			const void *rdata, uint16_t rdlen)
{
	struct dnstable_tuple *t;
	uint8_t *rd;

	if (mem_grow((void **)&b->t, &b->cap_t, b->n_t + 1, sizeof(*b->t)) < 0)
		return -ENOMEM;
	t = &b->t[b->n_t];
	if ((t->name = dnstable_keep_name(b, owner)) == NULL ||
	    (rd = arena_alloc(b->a, rdlen ? rdlen : 1)) == NULL)
		return -ENOMEM;
	memcpy(rd, rdata, rdlen);
	t->nlen = owner->len;
	t->type = type;
	t->rdlen = rdlen;
	t->rdata = rd;
	b->n_t++;
	return 0;
}

static struct dnstable_zone *dnstable_zone_find(struct dnstable_builder *b,
						const struct dnsmsg_name *n)
{
	for (size_t i = 0; i < b->n_z; i++)
		if (b->z[i].nlen == n->len && memcmp(b->z[i].name, n->b, n->len) == 0)
			return &b->z[i];
	return NULL;
}

static int dnstable_zone_add(struct dnstable_builder *b, const struct dnsmsg_name *n,
			     const char *domain, struct dnstable_zone **out)
{
	struct dnstable_zone *z;

	*out = NULL;
	if (dnstable_zone_find(b, n) != NULL)
		return -EEXIST;
	if (mem_grow((void **)&b->z, &b->cap_z, b->n_z + 1, sizeof(*b->z)) < 0)
		return -ENOMEM;
	z = &b->z[b->n_z];
	memset(z, 0, sizeof(*z));
	if ((z->name = dnstable_keep_name(b, n)) == NULL ||
	    (z->domain = arena_strdup(b->a, domain)) == NULL)
		return -ENOMEM;
	z->nlen = n->len;
	b->n_z++;
	*out = z;
	return 0;
}

static int dnstable_local_zone(struct dnstable_builder *b, const struct dnsmsg_name *n)
{
	char text[DNSMSG_TEXT_MAX];
	struct dnstable_zone *z;
	int r = dnstable_zone_add(b, n, dnsmsg_name_to_text(n, text, sizeof(text)), &z);

	return r == -EEXIST ? 0 : r;
}

int dnstable_builder_search(struct dnstable_builder *b, const char *domain)
{
	struct dnsmsg_name n;
	char text[DNSMSG_TEXT_MAX], *s;
	size_t len;

	if (dnstable_text_name(domain, &n) < 0 || n.labels == 0) {
		dnstable_note(b, "search domain `%s': not a domain name", domain);
		return -EINVAL;
	}
	dnsmsg_name_to_text(&n, text, sizeof(text));
	len = strlen(text);
	text[len - 1] = '\0'; /* resolv.conf spells search domains without the dot */
	for (size_t i = 0; i < b->n_search; i++)
		if (strcmp(b->search[i], text) == 0)
			return 0;
	if (b->n_search == DNSTABLE_MAX_SEARCH) {
		dnstable_note(b, "search domain `%s': more than %d", domain, DNSTABLE_MAX_SEARCH);
		return -E2BIG;
	}
	if ((s = arena_strdup(b->a, text)) == NULL)
		return -ENOMEM;
	b->search[b->n_search++] = s;
	return 0;
}

int dnstable_builder_magic(struct dnstable_builder *b, const char *base)
{
	struct dnsmsg_name n;
	static const uint8_t ula[6] = { 0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0 };
	int r;

	b->magic = true;
	if (base != NULL && base[0] != '\0') {
		if (dnstable_text_name(base, &n) < 0 || n.labels == 0) {
			dnstable_note(b, "base domain `%s': not a domain name", base);
			return -EINVAL;
		}
		if ((r = dnstable_local_zone(b, &n)) < 0)
			return r;
		if ((b->base = arena_strdup(b->a, base)) == NULL)
			return -ENOMEM;
		if ((r = dnstable_builder_search(b, base)) == -ENOMEM)
			return r;
	}
	/* 100.64.0.0/10: second octets 64-127. */
	for (unsigned o = 64; o < 128; o++) {
		struct dnsmsg_name full;

		dnsmsg_name_reverse((uint8_t[4]){ 100, (uint8_t)o, 0, 0 }, 4, &full);
		dnsmsg_name_parent(&full, 2, &n);
		if ((r = dnstable_local_zone(b, &n)) < 0)
			return r;
	}
	{
		uint8_t a6[16] = { 0 };
		struct dnsmsg_name full;

		memcpy(a6, ula, sizeof(ula));
		dnsmsg_name_reverse(a6, 16, &full);
		dnsmsg_name_parent(&full, 20, &n); /* keep the 12 nibbles of the /48 */
		if ((r = dnstable_local_zone(b, &n)) < 0)
			return r;
	}
	return 0;
}

int dnstable_builder_host(struct dnstable_builder *b, const char *fqdn, const struct netaddr *addrs,
			  size_t n)
{
	struct dnsmsg_name name, bare, rev;
	int r;

	if (dnstable_text_name(fqdn, &name) < 0 || name.labels == 0) {
		dnstable_note(b, "node name `%s': not a domain name", fqdn);
		return -EINVAL;
	}
	bare.len = (uint8_t)(name.b[0] + 2);
	bare.labels = 1;
	memcpy(bare.b, name.b, (size_t)name.b[0] + 1);
	bare.b[name.b[0] + 1] = 0;
	for (size_t i = 0; i < n; i++) {
		const struct netaddr *a = &addrs[i];
		uint16_t type = a->family == NETADDR_V4 ? DNSMSG_T_A : DNSMSG_T_AAAA;
		uint16_t alen = (uint16_t)netaddr_len(a);

		if (a->family != NETADDR_V4 && a->family != NETADDR_V6)
			continue;
		if ((r = dnstable_add(b, &name, type, a->a, alen)) < 0 ||
		    (name.labels > 1 && (r = dnstable_add(b, &bare, type, a->a, alen)) < 0))
			return r;
		dnsmsg_name_reverse(a->a, alen, &rev);
		if ((r = dnstable_add(b, &rev, DNSMSG_T_PTR, name.b, name.len)) < 0)
			return r;
	}
	return 0;
}

int dnstable_builder_record(struct dnstable_builder *b, const char *name, const char *type,
			    const char *value)
{
	struct dnsmsg_name n;
	struct netaddr a;
	bool v4 = strcasecmp(type, "A") == 0, v6 = strcasecmp(type, "AAAA") == 0;

	if (dnstable_text_name(name, &n) < 0 || n.labels == 0) {
		dnstable_note(b, "extra record `%s': not a domain name", name);
		return -EINVAL;
	}
	if (!v4 && !v6) {
		dnstable_note(b, "extra record `%s': type `%s' is not supported (A or AAAA)", name,
			      type);
		return -EINVAL;
	}
	if (netaddr_parse(value, &a) < 0 || (a.family == NETADDR_V4) != v4) {
		dnstable_note(b, "extra record `%s': `%s' is not an IPv%c address", name, value,
			      v4 ? '4' : '6');
		return -EINVAL;
	}
	return dnstable_add(b, &n, v4 ? DNSMSG_T_A : DNSMSG_T_AAAA, a.a, (uint16_t)netaddr_len(&a));
}

bool dnstable_is_self_addr(const struct netaddr *a)
{
	return netaddr_eq(a, &dnstable_quad100_v4) || netaddr_eq(a, &dnstable_quad100_v6);
}

/* "1.1.1.1", "1.1.1.1:5353", "2606:4700::1111", "[2606:4700::1111]:53". */
static int dnstable_ns_parse(struct dnstable_builder *b, const char *s, struct netendpoint *e)
{
	memset(e, 0, sizeof(*e));
	if (netaddr_parse(s, &e->addr) == 0)
		e->port = DNSTABLE_PORT;
	else if (netendpoint_parse(s, e) < 0 || e->port == 0) {
		if (strncasecmp(s, "https://", 8) == 0 || strncasecmp(s, "tls://", 6) == 0)
			dnstable_note(b, "nameserver `%s': encrypted DNS is not supported", s);
		else
			dnstable_note(b, "nameserver `%s': not an address or address:port", s);
		return -EINVAL;
	}
	if (dnstable_is_self_addr(&e->addr) || netaddr_is_unspecified(&e->addr)) {
		dnstable_note(b, "nameserver `%s': that is MagicDNS itself", s);
		return -EINVAL;
	}
	return 0;
}

static size_t dnstable_ns_list(struct dnstable_builder *b, char *const *ns, size_t n,
			       struct netendpoint *out, const char *what)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (k == DNSTABLE_MAX_UPSTREAMS) {
			dnstable_note(b, "%s: more than %d nameservers", what,
				      DNSTABLE_MAX_UPSTREAMS);
			break;
		}
		if (dnstable_ns_parse(b, ns[i], &out[k]) == 0)
			k++;
	}
	return k;
}

int dnstable_builder_route(struct dnstable_builder *b, const char *domain, char *const *ns,
			   size_t n)
{
	struct dnsmsg_name name;
	struct dnstable_zone *z;
	struct netendpoint v[DNSTABLE_MAX_UPSTREAMS];
	size_t k;
	int r;

	if (dnstable_text_name(domain, &name) < 0 || name.labels == 0) {
		dnstable_note(b, "split domain `%s': not a domain name", domain);
		return -EINVAL;
	}
	k = dnstable_ns_list(b, ns, n, v, domain);
	if (n > 0 && k == 0)
		return -EINVAL; /* every nameserver was unusable: do not turn it into a local zone
				 */
	if ((r = dnstable_zone_add(b, &name, domain, &z)) == -EEXIST) {
		dnstable_note(b, "split domain `%s': already routed or answered here", domain);
		return -EINVAL;
	}
	if (r < 0)
		return r;
	memcpy(z->ns, v, k * sizeof(v[0]));
	z->n_ns = k;
	return 0;
}

int dnstable_builder_global(struct dnstable_builder *b, char *const *ns, size_t n)
{
	b->n_global = dnstable_ns_list(b, ns, n, b->global, "global");
	return 0;
}

int dnstable_builder_os(struct dnstable_builder *b, const struct netendpoint *ns, size_t n)
{
	b->n_os = 0;
	for (size_t i = 0; i < n && b->n_os < DNSTABLE_MAX_UPSTREAMS; i++)
		if (!dnstable_is_self_addr(&ns[i].addr) && !netaddr_is_unspecified(&ns[i].addr))
			b->os[b->n_os++] = ns[i];
	return 0;
}

static int dnstable_tuple_cmp(const void *pa, const void *pb)
{
	const struct dnstable_tuple *a = pa, *b = pb;
	int c;

	if (a->nlen != b->nlen)
		return a->nlen < b->nlen ? -1 : 1;
	if ((c = memcmp(a->name, b->name, a->nlen)) != 0)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->rdlen != b->rdlen)
		return a->rdlen < b->rdlen ? -1 : 1;
	return memcmp(a->rdata, b->rdata, a->rdlen);
}

static void dnstable_digest_add(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *s = p;

	for (size_t i = 0; i < n; i++) {
		*h ^= s[i];
		*h *= 0x100000001b3ULL; /* FNV-1a: change detection, not security */
	}
}

static void dnstable_digest_ns(uint64_t *h, const struct netendpoint *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t port[2] = { (uint8_t)(v[i].port >> 8), (uint8_t)v[i].port };
		dnstable_digest_add(h, &v[i].addr.family, 1);
		dnstable_digest_add(h, v[i].addr.a, sizeof(v[i].addr.a));
		dnstable_digest_add(h, port, 2);
	}
	dnstable_digest_add(h, "|", 1);
}

/* Marks the names between an owner and the nearest enclosing local zone (and the apex) as existing.
 */
static void dnstable_mark_ents(struct dnstable *t, const uint8_t *name, size_t nlen)
{
	size_t offs[DNSMSG_NAME_MAX], n = 0;

	for (size_t i = 0; i < nlen && name[i] != 0; i += 1 + (size_t)name[i])
		offs[n++] = i;
	for (size_t k = 1; k < n; k++) {
		const uint8_t *s = name + offs[k];
		size_t slen = nlen - offs[k];
		const struct dnstable_zone *z =
			dnstable_zone_get(t, dnstable_hash(t, s, slen), s, slen);

		if (z == NULL)
			continue;
		if (z->n_ns == 0)
			for (size_t j = 1; j <= k; j++)
				dnstable_set_add(&t->ent,
						 dnstable_hash(t, name + offs[j], nlen - offs[j]));
		return;
	}
}

int dnstable_builder_finish(struct dnstable_builder *b, struct dnstable **out,
			    struct dnstable_report *rep)
{
	struct dnstable *t = NULL;
	size_t ents = 0;
	int r = -ENOMEM;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto fail;
	randombytes_buf(t->hkey, sizeof(t->hkey));
	t->digest = 0xcbf29ce484222325ULL;
	/* Records: sort, drop duplicates, group by owner. */
	if (b->n_t > 0)
		qsort(b->t, b->n_t, sizeof(*b->t), dnstable_tuple_cmp);
	{
		size_t k = 0;
		for (size_t i = 0; i < b->n_t; i++)
			if (k == 0 || dnstable_tuple_cmp(&b->t[k - 1], &b->t[i]) != 0)
				b->t[k++] = b->t[i];
		b->n_t = k;
	}
	for (size_t i = 0; i < b->n_t; i++)
		if (i == 0 || b->t[i].nlen != b->t[i - 1].nlen ||
		    memcmp(b->t[i].name, b->t[i - 1].name, b->t[i].nlen) != 0)
			t->n_names++;
	if (t->n_names > UINT32_MAX - 1 || b->n_z > UINT32_MAX - 1)
		goto fail;
	if ((t->names = mem_calloc(t->n_names ? t->n_names : 1, sizeof(*t->names))) == NULL ||
	    dnstable_map_init(&t->names_map, t->n_names) < 0)
		goto fail;
	{
		size_t e = 0, i = 0;
		while (i < b->n_t) {
			size_t j = i;
			struct dnstable_entry *en = &t->names[e];

			while (j < b->n_t && b->t[j].nlen == b->t[i].nlen &&
			       memcmp(b->t[j].name, b->t[i].name, b->t[i].nlen) == 0)
				j++;
			en->name = b->t[i].name;
			en->nlen = b->t[i].nlen;
			en->n_rr = j - i;
			if ((en->rr = arena_calloc(b->a, en->n_rr, sizeof(*en->rr))) == NULL)
				goto fail;
			for (size_t k = i; k < j; k++)
				en->rr[k - i] = (struct dnstable_rr){ b->t[k].type, b->t[k].rdlen,
								      b->t[k].rdata };
			dnstable_map_put(&t->names_map, dnstable_hash(t, en->name, en->nlen),
					 (uint32_t)(e + 1));
			ents += (size_t)en->nlen / 2 + 1; /* at least its label count */
			e++;
			i = j;
		}
	}
	/* Zones, then the empty non-terminals below the local ones. */
	t->zones = b->z;
	t->n_zones = b->n_z;
	b->z = NULL;
	if (dnstable_map_init(&t->zones_map, t->n_zones) < 0)
		goto fail;
	for (size_t i = 0; i < t->n_zones; i++) {
		struct dnstable_zone *z = &t->zones[i];
		dnstable_map_put(&t->zones_map, dnstable_hash(t, z->name, z->nlen),
				 (uint32_t)(i + 1));
		dnstable_digest_add(&t->digest, z->name, z->nlen);
		dnstable_digest_ns(&t->digest, z->ns, z->n_ns);
	}
	if (dnstable_map_init(&t->ent, t->n_zones + ents) < 0)
		goto fail;
	for (size_t i = 0; i < t->n_zones; i++)
		if (t->zones[i].n_ns == 0)
			dnstable_set_add(&t->ent,
					 dnstable_hash(t, t->zones[i].name, t->zones[i].nlen));
	for (size_t i = 0; i < t->n_names; i++)
		dnstable_mark_ents(t, t->names[i].name, t->names[i].nlen);
	/* Default route: the map's global nameservers, else the host's. */
	t->overrides = b->n_global > 0;
	t->n_def = t->overrides ? b->n_global : b->n_os;
	memcpy(t->def, t->overrides ? b->global : b->os, t->n_def * sizeof(t->def[0]));
	dnstable_digest_ns(&t->digest, t->def, t->n_def);
	t->magic = b->magic;
	t->base = b->base;
	memcpy(t->search, b->search, b->n_search * sizeof(b->search[0]));
	t->n_search = b->n_search;
	t->a = b->a;
	b->a = NULL;
	if (rep != NULL)
		*rep = b->rep;
	dnstable_builder_free(b);
	*out = t;
	return 0;
fail:
	if (rep != NULL)
		*rep = b->rep;
	dnstable_builder_free(b);
	if (t != NULL)
		t->a = NULL;
	dnstable_free(t);
	return r;
}

void dnstable_free(struct dnstable *t)
{
	if (t == NULL)
		return;
	dnstable_map_fini(&t->names_map);
	dnstable_map_fini(&t->zones_map);
	dnstable_map_fini(&t->ent);
	free(t->names);
	free(t->zones);
	arena_free(t->a);
	free(t);
}

static size_t dnstable_node_addrs(const struct netmap_node *nd, struct netaddr *out)
{
	size_t k = 0;

	for (size_t i = 0; i < nd->n_addresses && k < NETMAP_MAX_ADDRS; i++)
		if (nd->addresses[i].bits == netaddr_bits(&nd->addresses[i].addr))
			out[k++] = nd->addresses[i].addr;
	return k;
}

static int dnstable_add_node(struct dnstable_builder *b, const struct netmap_node *nd)
{
	struct netaddr a[NETMAP_MAX_ADDRS];
	size_t n;
	int r;

	if (nd == NULL || nd->name == NULL || nd->name[0] == '\0')
		return 0;
	n = dnstable_node_addrs(nd, a);
	r = dnstable_builder_host(b, nd->name, a, n);
	return r == -ENOMEM ? r : 0;
}

int dnstable_from_netmap(const struct netmap *nm, const struct netendpoint *os_ns, size_t n_os,
			 struct dnstable **out, struct dnstable_report *rep)
{
	struct dnstable_builder *b;
	const struct netmap_dns *d = nm != NULL ? netmap_dns(nm) : NULL;
	int r;

	*out = NULL;
	if ((r = dnstable_builder_new(&b)) < 0)
		return r;
	if ((r = dnstable_builder_os(b, os_ns, n_os)) < 0)
		goto fail;
	if (d != NULL && d->magic_dns) {
		const char *base = d->base_domain != NULL && d->base_domain[0] != '\0' ?
					   d->base_domain :
					   netmap_domain(nm);

		if ((r = dnstable_builder_magic(b, base)) == -ENOMEM ||
		    (r = dnstable_add_node(b, netmap_self(nm))) < 0)
			goto fail;
		for (size_t i = 0; i < netmap_peer_count(nm); i++)
			if ((r = dnstable_add_node(b, netmap_peer_at(nm, i))) < 0)
				goto fail;
		for (size_t i = 0; i < d->n_records; i++)
			if ((r = dnstable_builder_record(b, d->records[i].name, d->records[i].type,
							 d->records[i].value)) == -ENOMEM)
				goto fail;
	}
	if (d != NULL) {
		for (size_t i = 0; i < d->n_split; i++)
			if ((r = dnstable_builder_route(b, d->split[i].domain,
							d->split[i].nameservers,
							d->split[i].n_nameservers)) == -ENOMEM)
				goto fail;
		if ((r = dnstable_builder_global(b, d->nameservers, d->n_nameservers)) < 0)
			goto fail;
		for (size_t i = 0; i < d->n_search_domains; i++)
			if ((r = dnstable_builder_search(b, d->search_domains[i])) == -ENOMEM)
				goto fail;
	}
	return dnstable_builder_finish(b, out, rep);
fail:
	if (rep != NULL)
		*rep = b->rep;
	dnstable_builder_free(b);
	return r;
}

/* Lookups */

enum dnstable_kind dnstable_lookup(const struct dnstable *t, const struct dnsmsg_name *lname,
				   struct dnstable_result *res)
{
	uint64_t h = dnstable_hash(t, lname->b, lname->len);
	const struct dnstable_entry *e = dnstable_name_get(t, h, lname->b, lname->len);
	size_t i = 0;

	memset(res, 0, sizeof(*res));
	if (e != NULL) {
		res->rr = e->rr;
		res->n_rr = e->n_rr;
		return res->kind = DNSTABLE_NAME;
	}
	if (dnstable_set_has(&t->ent, h))
		return res->kind = DNSTABLE_NAME;
	/* Longest suffix first: the name itself, then its parents, not the root. */
	for (unsigned k = 0; k < lname->labels; k++) {
		const uint8_t *s = lname->b + i;
		size_t slen = lname->len - i;
		const struct dnstable_zone *z =
			dnstable_zone_get(t, k == 0 ? h : dnstable_hash(t, s, slen), s, slen);

		if (z != NULL) {
			if (z->n_ns == 0)
				return res->kind = DNSTABLE_NXDOMAIN;
			res->up = (struct dnstable_upstreams){ z->ns, z->n_ns, z->domain };
			return res->kind = DNSTABLE_FORWARD;
		}
		i += 1 + (size_t)lname->b[i];
	}
	res->up = dnstable_default(t);
	return res->kind = res->up.n > 0 ? DNSTABLE_FORWARD : DNSTABLE_NO_UPSTREAM;
}

bool dnstable_magic_dns(const struct dnstable *t)
{
	return t->magic;
}

const char *dnstable_base_domain(const struct dnstable *t)
{
	return t->base != NULL ? t->base : "";
}

size_t dnstable_search_count(const struct dnstable *t)
{
	return t->n_search;
}

const char *dnstable_search_at(const struct dnstable *t, size_t i)
{
	return i < t->n_search ? t->search[i] : NULL;
}

size_t dnstable_route_count(const struct dnstable *t)
{
	return t->n_zones;
}

struct dnstable_upstreams dnstable_route_at(const struct dnstable *t, size_t i)
{
	const struct dnstable_zone *z = &t->zones[i];

	return (struct dnstable_upstreams){ z->ns, z->n_ns, z->domain };
}

struct dnstable_upstreams dnstable_default(const struct dnstable *t)
{
	return (struct dnstable_upstreams){ t->def, t->n_def, "" };
}

bool dnstable_overrides_os(const struct dnstable *t)
{
	return t->overrides;
}

size_t dnstable_name_count(const struct dnstable *t)
{
	return t->n_names;
}

uint64_t dnstable_upstream_digest(const struct dnstable *t)
{
	return t->digest;
}
