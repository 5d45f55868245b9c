/* SPDX-License-Identifier: ISC */
/*
 * conntrack: the flow table (see conntrack.h). Open addressing with linear
 * probing under a random SipHash key, so a peer cannot aim its packets at
 * one chain; backward-shift deletion keeps probe sequences short without
 * tombstones. Timed-out entries are removed when a lookup meets them and by
 * the caller's incremental sweep.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/netaddr.h"
#include "filter/conntrack.h"

/* How far from its home slot a full table looks for an entry to give way. */
#define CT_EVICT_WINDOW 16
#define CT_MIN_FLOWS 16

struct ct_slot {
	struct conntrack_key k;
	uint64_t last; /* when the flow last moved */
	uint32_t hash; /* 0: the slot is empty */
	uint8_t state;
};

struct conntrack {
	struct ct_slot *slot;
	size_t mask; /* capacity - 1 */
	size_t max;  /* most flows held at once */
	size_t cursor;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	struct conntrack_stats st;
};

static uint32_t ct_hash(const struct conntrack *ct, const struct conntrack_key *k)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint32_t v;

	crypto_shorthash(h, (const uint8_t *)k, sizeof(*k), ct->hkey);
	memcpy(&v, h, sizeof(v));
	return v | 1u; /* never 0, which marks an empty slot */
}

static uint64_t ct_timeout(const struct ct_slot *s)
{
	switch (s->k.proto) {
	case 6:
		return s->state == CONNTRACK_S_NEW     ? CONNTRACK_TCP_SYN_S :
		       s->state == CONNTRACK_S_CLOSING ? CONNTRACK_TCP_CLOSE_S :
							 CONNTRACK_TCP_EST_S;
	case 17:
	case 132:
		return s->state == CONNTRACK_S_NEW ? CONNTRACK_UDP_S : CONNTRACK_UDP_REPLIED_S;
	case 1:
	case 58:
		return CONNTRACK_ICMP_S;
	default:
		return CONNTRACK_OTHER_S;
	}
}

static bool ct_is_live(const struct ct_slot *s, uint64_t now)
{
	return now < s->last + ct_timeout(s);
}

int conntrack_new(size_t max_flows, struct conntrack **out)
{
	struct conntrack *ct;
	size_t cap = 2 * CT_MIN_FLOWS;

	*out = NULL;
	if (max_flows < CT_MIN_FLOWS)
		max_flows = CT_MIN_FLOWS;
	if (max_flows > (SIZE_MAX / 4) / sizeof(struct ct_slot))
		return -EINVAL;
	while (cap < 2 * max_flows)
		cap *= 2;
	if ((ct = calloc(1, sizeof(*ct))) == NULL)
		return -ENOMEM;
	if ((ct->slot = calloc(cap, sizeof(*ct->slot))) == NULL) {
		free(ct);
		return -ENOMEM;
	}
	ct->mask = cap - 1;
	ct->max = max_flows;
	randombytes_buf(ct->hkey, sizeof(ct->hkey));
	*out = ct;
	return 0;
}

void conntrack_free(struct conntrack *ct)
{
	if (ct == NULL)
		return;
	free(ct->slot);
	free(ct);
}

/* Removes slot i, shifting back the entries of its probe run. */
static void ct_del(struct conntrack *ct, size_t i)
{
	size_t j = i;

	ct->slot[i].hash = 0;
	ct->st.flows--;
	for (;;) {
		size_t home;

		j = (j + 1) & ct->mask;
		if (ct->slot[j].hash == 0)
			return;
		home = ct->slot[j].hash & ct->mask;
		/* Entry j may move to i unless its home lies cyclically in (i, j]. */
		if (((j - home) & ct->mask) >= ((j - i) & ct->mask)) {
			ct->slot[i] = ct->slot[j];
			ct->slot[j].hash = 0;
			i = j;
		}
	}
}

/* The live slot holding k, or SIZE_MAX; a timed-out one met on the way is removed. */
static size_t ct_find(struct conntrack *ct, const struct conntrack_key *k, uint32_t h, uint64_t now)
{
	size_t i = h & ct->mask;

	for (;;) {
		struct ct_slot *s = &ct->slot[i];

		if (s->hash == 0)
			return SIZE_MAX;
		if (s->hash == h && memcmp(&s->k, k, sizeof(*k)) == 0) {
			if (ct_is_live(s, now))
				return i;
			ct_del(ct, i);
			ct->st.expired++;
			return SIZE_MAX;
		}
		i = (i + 1) & ct->mask;
	}
}

/* Makes room when full: the entry with the least time left near k's home slot goes. */
static void ct_make_room(struct conntrack *ct, uint32_t h, uint64_t now)
{
	size_t i = h & ct->mask, victim = SIZE_MAX;
	uint64_t best = UINT64_MAX;

	for (size_t n = 0; n < CT_EVICT_WINDOW && n <= ct->mask; n++, i = (i + 1) & ct->mask) {
		const struct ct_slot *s = &ct->slot[i];
		uint64_t end;

		if (s->hash == 0)
			continue;
		end = s->last + ct_timeout(s);
		if (end < best) {
			best = end;
			victim = i;
		}
	}
	if (victim == SIZE_MAX) {
		/* A window of empty slots while full cannot happen at load 1/2; sweep instead. */
		for (victim = 0; victim <= ct->mask && ct->slot[victim].hash == 0; victim++)
			;
	}
	if (best <= now)
		ct->st.expired++;
	else
		ct->st.evicted++;
	ct_del(ct, victim);
}

void conntrack_open(struct conntrack *ct, const struct conntrack_key *k, uint64_t now)
{
	uint32_t h = ct_hash(ct, k);
	size_t i = ct_find(ct, k, h, now);

	if (i != SIZE_MAX) {
		ct->slot[i].last = now;
		if (ct->slot[i].state == CONNTRACK_S_CLOSING) /* a new connection on old ports */
			ct->slot[i].state = CONNTRACK_S_NEW;
		return;
	}
	if (ct->st.flows >= ct->max)
		ct_make_room(ct, h, now);
	for (i = h & ct->mask; ct->slot[i].hash != 0; i = (i + 1) & ct->mask)
		;
	ct->slot[i].k = *k;
	ct->slot[i].hash = h;
	ct->slot[i].last = now;
	ct->slot[i].state = CONNTRACK_S_NEW;
	ct->st.flows++;
	ct->st.created++;
}

bool conntrack_touch(struct conntrack *ct, const struct conntrack_key *k, bool closing,
		     uint64_t now)
{
	size_t i = ct_find(ct, k, ct_hash(ct, k), now);

	if (i == SIZE_MAX)
		return false;
	ct->slot[i].last = now;
	if (closing && k->proto == 6)
		ct->slot[i].state = CONNTRACK_S_CLOSING;
	return true;
}

bool conntrack_reply(struct conntrack *ct, const struct conntrack_key *k, bool closing,
		     uint64_t now)
{
	size_t i = ct_find(ct, k, ct_hash(ct, k), now);
	struct ct_slot *s;

	if (i == SIZE_MAX)
		return false;
	s = &ct->slot[i];
	s->last = now;
	if (closing && k->proto == 6)
		s->state = CONNTRACK_S_CLOSING;
	else if (s->state == CONNTRACK_S_NEW)
		s->state = CONNTRACK_S_REPLIED;
	return true;
}

bool conntrack_has(const struct conntrack *ct, const struct conntrack_key *k, uint64_t now)
{
	uint32_t h = ct_hash(ct, k);

	for (size_t i = h & ct->mask;; i = (i + 1) & ct->mask) {
		const struct ct_slot *s = &ct->slot[i];

		if (s->hash == 0)
			return false;
		if (s->hash == h && memcmp(&s->k, k, sizeof(*k)) == 0)
			return ct_is_live(s, now);
	}
}

void conntrack_expire(struct conntrack *ct, uint64_t now, size_t budget)
{
	size_t i = ct->cursor & ct->mask;

	while (budget-- > 0) {
		struct ct_slot *s = &ct->slot[i];

		/* A deletion may shift the next entry into slot i: look at it again. */
		if (s->hash != 0 && !ct_is_live(s, now)) {
			ct_del(ct, i);
			ct->st.expired++;
			continue;
		}
		i = (i + 1) & ct->mask;
	}
	ct->cursor = i;
}

void conntrack_clear(struct conntrack *ct)
{
	memset(ct->slot, 0, (ct->mask + 1) * sizeof(*ct->slot));
	ct->st.flows = 0;
}

struct conntrack_stats conntrack_get_stats(const struct conntrack *ct)
{
	return ct->st;
}

size_t conntrack_capacity(const struct conntrack *ct)
{
	return ct->mask + 1;
}
