/* SPDX-License-Identifier: ISC */
/* keypair: session keys, sealing/opening data messages, slot rotation (see keypair.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "crypto/aead.h"
#include "wg/keypair.h"

static _Atomic uint64_t wg_keypair_next_id = 1;

int wg_keypair_new(const uint8_t send[static WG_KEY_LEN], const uint8_t recv[static WG_KEY_LEN],
		   bool initiator, uint32_t local_index, uint32_t remote_index, uint64_t now_ns,
		   struct wg_keypair **out)
{
	struct wg_keypair *kp;

	*out = NULL;
	kp = calloc(1, sizeof(*kp));
	if (kp == NULL)
		return -ENOMEM;
	atomic_init(&kp->kp_refcount, 1);
	kp->kp_id = atomic_fetch_add(&wg_keypair_next_id, 1);
	memcpy(kp->kp_send, send, WG_KEY_LEN);
	memcpy(kp->kp_recv, recv, WG_KEY_LEN);
	replay_init(&kp->kp_replay);
	kp->kp_birth_ns = now_ns;
	kp->kp_initiator = initiator;
	kp->kp_local_index = local_index;
	kp->kp_remote_index = remote_index;
	*out = kp;
	return 0;
}

struct wg_keypair *wg_keypair_get(struct wg_keypair *kp)
{
	atomic_fetch_add(&kp->kp_refcount, 1);
	return kp;
}

void wg_keypair_put(struct wg_keypair *kp)
{
	if (kp == NULL)
		return;
	if (atomic_fetch_sub(&kp->kp_refcount, 1) != 1)
		return;
	mem_wipe(kp, sizeof(*kp));
	free(kp);
}

bool wg_keypair_is_live(const struct wg_keypair *kp, uint64_t now_ns)
{
	return now_ns - kp->kp_birth_ns < WG_REJECT_AFTER_TIME;
}

size_t wg_keypair_padded_len(size_t len, unsigned mtu)
{
	size_t last = len, padded;

	/* As the kernel does: pad to 16, but never past the MTU (a full packet is not padded). */
	if (mtu != 0 && last > mtu)
		last %= mtu;
	padded = (last + WG_PADDING - 1) & ~(size_t)(WG_PADDING - 1);
	if (mtu != 0 && padded > mtu)
		padded = mtu;
	if (padded < last)
		padded = last;
	return len + (padded - last);
}

int wg_keypair_seal(const struct wg_keypair *kp, struct aead_ctx *ctx, uint64_t counter,
		    uint8_t *buf, size_t len, unsigned mtu, size_t *outlen)
{
	size_t padded = wg_keypair_padded_len(len, mtu);
	uint8_t *p = buf + WG_DATA_HEADER_LEN;
	int r;

	memset(p + len, 0, padded - len);
	buf[0] = WG_MSG_DATA;
	buf[1] = buf[2] = buf[3] = 0;
	buf_store_le32(buf + 4, kp->kp_remote_index);
	buf_store_le64(buf + 8, counter);
	r = aead_ctx_seal(ctx, kp->kp_id * 2, kp->kp_send, counter, p, p, padded);
	if (r < 0)
		return r;
	*outlen = WG_DATA_HEADER_LEN + padded + WG_TAG_LEN;
	return 0;
}

int wg_keypair_open(const struct wg_keypair *kp, struct aead_ctx *ctx, uint8_t *buf, size_t len,
		    size_t *plen, uint64_t *counter)
{
	uint64_t c;

	if (len < WG_DATA_MIN_LEN)
		return -EMSGSIZE;
	c = buf_load_le64(buf + 8);
	/* The recv key caches under an id distinct from the send key's (same kp_id). */
	if (aead_ctx_open(ctx, kp->kp_id * 2 + 1, kp->kp_recv, c, buf + WG_DATA_HEADER_LEN,
			  buf + WG_DATA_HEADER_LEN, len - WG_DATA_HEADER_LEN) != 0)
		return -EBADMSG;
	*plen = len - WG_DATA_MIN_LEN;
	*counter = c;
	return 0;
}

void wg_keypairs_install(struct wg_keypairs *s, struct wg_keypair *kp,
			 struct wg_keypair *dropped[static 3], size_t *ndropped)
{
	size_t n = 0;

	if (kp->kp_initiator) {
		if (s->next != NULL) {
			/* A responder keypair never confirmed: it becomes previous so late
			 * packets under it still open; the old current goes. */
			if (s->prev != NULL)
				dropped[n++] = s->prev;
			s->prev = s->next;
			s->next = NULL;
			if (s->cur != NULL)
				dropped[n++] = s->cur;
		} else {
			if (s->prev != NULL)
				dropped[n++] = s->prev;
			s->prev = s->cur;
		}
		s->cur = kp;
	} else {
		if (s->next != NULL)
			dropped[n++] = s->next;
		s->next = kp;
		/* The kernel drops previous here too: current stays usable until next is confirmed. */
		if (s->prev != NULL)
			dropped[n++] = s->prev;
		s->prev = NULL;
	}
	*ndropped = n;
}

bool wg_keypairs_received_with(struct wg_keypairs *s, struct wg_keypair *kp,
			       struct wg_keypair **dropped)
{
	*dropped = NULL;
	if (s->next != kp)
		return false;
	*dropped = s->prev;
	s->prev = s->cur;
	s->cur = s->next;
	s->next = NULL;
	return true;
}

void wg_keypairs_clear(struct wg_keypairs *s, struct wg_keypair *dropped[static 3],
		       size_t *ndropped)
{
	size_t n = 0;

	if (s->prev != NULL)
		dropped[n++] = s->prev;
	if (s->cur != NULL)
		dropped[n++] = s->cur;
	if (s->next != NULL)
		dropped[n++] = s->next;
	s->prev = s->cur = s->next = NULL;
	*ndropped = n;
}
