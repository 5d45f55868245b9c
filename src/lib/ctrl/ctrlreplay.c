/* SPDX-License-Identifier: ISC */
/*
 * ctrlreplay: the server's memory of recent request nonces per machine key
 * (see ctrl_replay_* in ctrlproto.h). A ring in arrival order plus a hash
 * index; entries leave after CTRL_REPLAY_WINDOW_NS, or early when the ring is
 * full, in which case a watermark refuses anything as old as what was evicted.
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "ctrl/ctrlproto.h"
#include "netmap/nmindex.h"

struct ctrl_replay_entry {
	uint8_t key[32]; /* BLAKE2b(machine key || nonce) */
	int64_t timestamp_ns;
	int64_t arrived_ns;
};

struct ctrl_replay {
	struct ctrl_replay_entry *ring;
	size_t cap;
	size_t head; /* oldest */
	size_t n;
	int64_t watermark_ns; /* requests stamped at or before this are refused */
	bool have_watermark;
	struct nmindex index;
};

int ctrl_replay_new(size_t capacity, struct ctrl_replay **out)
{
	struct ctrl_replay *r = mem_calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL || capacity == 0)
		goto fail;
	r->cap = capacity;
	nmindex_init(&r->index);
	if ((r->ring = mem_calloc(capacity, sizeof(*r->ring))) == NULL ||
	    nmindex_reserve(&r->index, capacity) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	ctrl_replay_free(r);
	return -ENOMEM;
}

void ctrl_replay_free(struct ctrl_replay *r)
{
	if (r == NULL)
		return;
	nmindex_fini(&r->index);
	free(r->ring);
	free(r);
}

size_t ctrl_replay_count(const struct ctrl_replay *r)
{
	return r->n;
}

static void ctrl_replay_pop(struct ctrl_replay *r, bool early)
{
	struct ctrl_replay_entry *e = &r->ring[r->head];

	nmindex_del(&r->index, e->key, sizeof(e->key));
	if (early && (!r->have_watermark || e->timestamp_ns > r->watermark_ns)) {
		r->watermark_ns = e->timestamp_ns;
		r->have_watermark = true;
	}
	r->head = (r->head + 1) % r->cap;
	r->n--;
}

static void ctrl_replay_key(const struct machine_public *mk, const struct ctrl_envelope *env,
			    uint8_t key[static 32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, mk->b, sizeof(mk->b));
	crypto_generichash_update(&st, env->nonce, sizeof(env->nonce));
	crypto_generichash_final(&st, key, 32);
}

bool ctrl_replay_seen(const struct ctrl_replay *r, const struct machine_public *mk,
		      const struct ctrl_envelope *env)
{
	uint8_t key[32];

	ctrl_replay_key(mk, env, key);
	return nmindex_get(&r->index, key, sizeof(key)) != NULL;
}

int ctrl_replay_check(struct ctrl_replay *r, const struct machine_public *mk,
		      const struct ctrl_envelope *env, int64_t now_ns)
{
	struct ctrl_replay_entry *e;
	uint8_t key[32];

	/* age out: beyond the window the Timestamp check already refuses the request */
	while (r->n > 0 && now_ns - r->ring[r->head].arrived_ns > CTRL_REPLAY_WINDOW_NS)
		ctrl_replay_pop(r, false);
	if (r->have_watermark && env->timestamp_ns <= r->watermark_ns)
		return -ESTALE;
	ctrl_replay_key(mk, env, key);
	if (nmindex_get(&r->index, key, sizeof(key)) != NULL)
		return -EALREADY;
	if (r->n == r->cap)
		ctrl_replay_pop(r, true);
	e = &r->ring[(r->head + r->n) % r->cap];
	memcpy(e->key, key, sizeof(key));
	e->timestamp_ns = env->timestamp_ns;
	e->arrived_ns = now_ns;
	r->n++;
	if (nmindex_put(&r->index, e->key, sizeof(e->key), e) < 0)
		abort(); /* reserved for cap entries; present keys were refused above */
	return 0;
}
