/* SPDX-License-Identifier: ISC */
/* dnscache: a TTL- and size-bounded LRU cache of upstream answers (see dnscache.h). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "dns/dnscache.h"

struct dnscache_entry {
	struct dnscache_entry *hnext;	    /* bucket chain */
	struct dnscache_entry *prev, *next; /* LRU list, most recent first */
	uint64_t hash;
	struct dnscache_key key;
	uint64_t born_ns;
	uint32_t ttl;
	struct dnsmsg_reply reply;
	size_t size; /* accounted bytes */
	uint8_t msg[];
};

struct dnscache {
	struct dnscache_entry **buckets;
	size_t mask;
	struct dnscache_entry *head, *tail;
	size_t max_entries, max_bytes;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	struct dnscache_stats st;
};

int dnscache_new(size_t max_entries, size_t max_bytes, struct dnscache **out)
{
	struct dnscache *c;
	size_t cap = 16;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	while (cap < max_entries && cap < ((size_t)1 << 24))
		cap *= 2;
	if ((c->buckets = mem_calloc(cap, sizeof(*c->buckets))) == NULL) {
		free(c);
		return -ENOMEM;
	}
	c->mask = cap - 1;
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	randombytes_buf(c->hkey, sizeof(c->hkey));
	*out = c;
	return 0;
}

void dnscache_flush(struct dnscache *c)
{
	struct dnscache_entry *e = c->head, *n;

	for (; e != NULL; e = n) {
		n = e->next;
		free(e);
	}
	memset(c->buckets, 0, (c->mask + 1) * sizeof(*c->buckets));
	c->head = c->tail = NULL;
	c->st.entries = 0;
	c->st.bytes = 0;
}

void dnscache_free(struct dnscache *c)
{
	if (c == NULL)
		return;
	dnscache_flush(c);
	free(c->buckets);
	free(c);
}

void dnscache_key_make(struct dnscache_key *k, const struct dnsmsg_question *q, bool dnssec_ok,
		       bool checking_disabled)
{
	memset(k, 0, sizeof(*k));
	k->name = q->name;
	dnsmsg_name_lower(&k->name);
	k->type = q->type;
	k->qclass = q->qclass;
	k->flags = (uint8_t)((dnssec_ok ? DNSCACHE_K_DO : 0) |
			     (checking_disabled ? DNSCACHE_K_CD : 0));
}

static uint64_t dnscache_hash(const struct dnscache *c, const struct dnscache_key *k)
{
	uint8_t in[DNSMSG_NAME_MAX + 5], out[crypto_shorthash_BYTES];
	uint64_t h;

	memcpy(in, k->name.b, k->name.len);
	in[k->name.len] = (uint8_t)(k->type >> 8);
	in[k->name.len + 1] = (uint8_t)k->type;
	in[k->name.len + 2] = (uint8_t)(k->qclass >> 8);
	in[k->name.len + 3] = (uint8_t)k->qclass;
	in[k->name.len + 4] = k->flags;
	crypto_shorthash(out, in, (size_t)k->name.len + 5, c->hkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

static bool dnscache_key_eq(const struct dnscache_key *a, const struct dnscache_key *b)
{
	return a->type == b->type && a->qclass == b->qclass && a->flags == b->flags &&
	       a->name.len == b->name.len && memcmp(a->name.b, b->name.b, a->name.len) == 0;
}

uint32_t dnscache_ttl(const struct dnsmsg_reply *r)
{
	uint32_t ttl;

	if (!r->has_question || (r->h.flags & DNSMSG_F_TC) || r->end > DNSCACHE_MAX_MSG)
		return 0;
	if (r->rcode == DNSMSG_R_NOERROR && r->h.ancount > 0) {
		ttl = r->min_ttl;
		return ttl > DNSCACHE_MAX_TTL ? DNSCACHE_MAX_TTL : ttl;
	}
	if (r->rcode == DNSMSG_R_NXDOMAIN || r->rcode == DNSMSG_R_NOERROR) {
		if (!r->has_soa)
			return 0; /* RFC 2308 5: no SOA, no negative caching */
		ttl = r->soa_ttl < r->min_ttl ? r->soa_ttl : r->min_ttl;
		return ttl > DNSCACHE_MAX_NEG_TTL ? DNSCACHE_MAX_NEG_TTL : ttl;
	}
	return 0;
}

static void dnscache_unlink(struct dnscache *c, struct dnscache_entry *e)
{
	struct dnscache_entry **pp = &c->buckets[e->hash & c->mask];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	c->st.entries--;
	c->st.bytes -= e->size;
}

static void dnscache_push_front(struct dnscache *c, struct dnscache_entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static struct dnscache_entry *dnscache_find(struct dnscache *c, const struct dnscache_key *k,
					    uint64_t h)
{
	for (struct dnscache_entry *e = c->buckets[h & c->mask]; e != NULL; e = e->hnext)
		if (e->hash == h && dnscache_key_eq(&e->key, k))
			return e;
	return NULL;
}

int dnscache_put(struct dnscache *c, const struct dnscache_key *k, const uint8_t *msg,
		 const struct dnsmsg_reply *r, uint64_t now_ns)
{
	uint32_t ttl = dnscache_ttl(r);
	uint64_t h;
	struct dnscache_entry *e, *old;
	size_t size = sizeof(*e) + r->end;

	if (ttl == 0 || c->max_entries == 0 || size > c->max_bytes) {
		c->st.uncacheable++;
		return 0;
	}
	h = dnscache_hash(c, k);
	if ((old = dnscache_find(c, k, h)) != NULL) {
		dnscache_unlink(c, old);
		free(old);
	}
	while (c->tail != NULL &&
	       (c->st.entries + 1 > c->max_entries || c->st.bytes + size > c->max_bytes)) {
		struct dnscache_entry *victim = c->tail;
		dnscache_unlink(c, victim);
		free(victim);
		c->st.evictions++;
	}
	if ((e = malloc(size)) == NULL)
		return -ENOMEM;
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->key = *k;
	e->born_ns = now_ns;
	e->ttl = ttl;
	e->reply = *r;
	e->reply.edns.present = false; /* the OPT is not kept */
	e->reply.h.arcount = (uint16_t)(r->h.arcount - (r->edns.present ? 1 : 0));
	e->size = size;
	memcpy(e->msg, msg, r->end);
	/* So that a negative answer's SOA, and capped TTLs, run out with the entry. */
	dnsmsg_reply_ttls(e->msg, r->end, 0, ttl);
	e->hnext = c->buckets[h & c->mask];
	c->buckets[h & c->mask] = e;
	dnscache_push_front(c, e);
	c->st.entries++;
	c->st.bytes += size;
	c->st.inserts++;
	return 1;
}

const struct dnscache_entry *dnscache_get(struct dnscache *c, const struct dnscache_key *k,
					  uint64_t now_ns, uint32_t *age)
{
	uint64_t h = dnscache_hash(c, k), a;
	struct dnscache_entry *e = dnscache_find(c, k, h);

	if (e == NULL) {
		c->st.misses++;
		return NULL;
	}
	a = now_ns > e->born_ns ? (now_ns - e->born_ns) / 1000000000ULL : 0;
	if (a >= e->ttl) {
		dnscache_unlink(c, e);
		free(e);
		c->st.expired++;
		c->st.misses++;
		return NULL;
	}
	if (c->head != e) {
		if (e->prev != NULL)
			e->prev->next = e->next;
		if (e->next != NULL)
			e->next->prev = e->prev;
		else
			c->tail = e->prev;
		dnscache_push_front(c, e);
	}
	c->st.hits++;
	*age = (uint32_t)a;
	return e;
}

const uint8_t *dnscache_entry_msg(const struct dnscache_entry *e)
{
	return e->msg;
}

const struct dnsmsg_reply *dnscache_entry_reply(const struct dnscache_entry *e)
{
	return &e->reply;
}

void dnscache_stats(const struct dnscache *c, struct dnscache_stats *out)
{
	*out = c->st;
}
