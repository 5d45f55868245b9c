/* SPDX-License-Identifier: ISC */
/*
 * noise: the IKpsk2 handshake (see noise.h). Every intermediate secret lives
 * on the stack and is wiped at the single exit of each function.
 */
#include <errno.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "crypto/aead.h"
#include "crypto/b2s.h"
#include "crypto/ct.h"
#include "crypto/keys.h"
#include "wg/noise.h"

static const char noise_construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char noise_identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/* Ci = HASH(CONSTRUCTION), Hi = HASH(Ci || IDENTIFIER): constants, computed on demand. */
static void noise_initial(uint8_t ck[static WG_HASH_LEN], uint8_t h[static WG_HASH_LEN])
{
	b2s_hash(ck, noise_construction, strlen(noise_construction));
	b2s_hash2(h, ck, WG_HASH_LEN, noise_identifier, strlen(noise_identifier));
}

static void noise_mix_hash(uint8_t h[static WG_HASH_LEN], const void *data, size_t len)
{
	b2s_hash2(h, h, WG_HASH_LEN, data, len);
}

/* (ck, k) = KDF2(ck, DH(priv, pub)); -EINVAL if the DH result is zero. */
static int noise_mix_dh(uint8_t ck[static WG_HASH_LEN], uint8_t *k, const uint8_t *priv,
			const uint8_t *pub)
{
	uint8_t dh[WG_KEY_LEN];
	int r;

	r = keys_dh(dh, priv, pub);
	if (r == 0)
		b2s_kdf(ck, k, NULL, ck, dh, sizeof(dh));
	mem_wipe(dh, sizeof(dh));
	return r;
}

/* (ck, k) = KDF2(ck, ss) with a precomputed static-static secret. */
static int noise_mix_ss(uint8_t ck[static WG_HASH_LEN], uint8_t k[static WG_KEY_LEN],
			const uint8_t ss[static WG_KEY_LEN])
{
	if (ct_is_zero(ss, WG_KEY_LEN))
		return -EINVAL;
	b2s_kdf(ck, k, NULL, ck, ss, WG_KEY_LEN);
	return 0;
}

/* (ck, t, k) = KDF3(ck, psk); h = HASH(h || t). */
static void noise_mix_psk(uint8_t ck[static WG_HASH_LEN], uint8_t h[static WG_HASH_LEN],
			  uint8_t k[static WG_KEY_LEN], const uint8_t psk[static WG_KEY_LEN])
{
	uint8_t t[WG_HASH_LEN];

	b2s_kdf(ck, t, k, ck, psk, WG_KEY_LEN);
	noise_mix_hash(h, t, sizeof(t));
	mem_wipe(t, sizeof(t));
}

/* dst = AEAD(k, 0, src, h); h = HASH(h || dst). */
static void noise_encrypt_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
				   const uint8_t k[static WG_KEY_LEN], uint8_t h[static WG_HASH_LEN])
{
	aead_seal(dst, src, len, h, WG_HASH_LEN, 0, k);
	noise_mix_hash(h, dst, len + WG_TAG_LEN);
}

static int noise_decrypt_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
				  const uint8_t k[static WG_KEY_LEN], uint8_t h[static WG_HASH_LEN])
{
	if (aead_open(dst, src, len + WG_TAG_LEN, h, WG_HASH_LEN, 0, k) != 0)
		return -EBADMSG;
	noise_mix_hash(h, src, len + WG_TAG_LEN);
	return 0;
}

void noise_tai64n(uint8_t out[static WG_TIMESTAMP_LEN], uint64_t wall_ns)
{
	/* 2^62 + seconds since the epoch (TAI64 label), then nanoseconds rounded down
	 * to a 2^24 ns (~16.8 ms) grain so the timestamp leaks no fine timing. */
	uint64_t sec = wall_ns / 1000000000ULL;
	uint32_t nsec = (uint32_t)(wall_ns % 1000000000ULL);

	nsec &= ~((1U << 24) - 1);
	buf_store_be64(out, 0x4000000000000000ULL + sec);
	buf_store_be32(out + 8, nsec);
}

void noise_local_set(struct noise_local *l, const uint8_t *priv)
{
	mem_wipe(l, sizeof(*l));
	if (priv == NULL)
		return;
	memcpy(l->private_key, priv, WG_KEY_LEN);
	/* Clamp as wg(8) and the kernel do, so an unclamped key behaves identically. */
	l->private_key[0] &= 248;
	l->private_key[31] = (l->private_key[31] & 127) | 64;
	l->has_identity = keys_public(l->public_key, l->private_key) == 0;
}

void noise_handshake_rekey_local(struct noise_handshake *hs, const struct noise_local *l)
{
	noise_handshake_clear(hs);
	if (!l->has_identity || keys_dh(hs->precomputed_ss, l->private_key, hs->remote_static) != 0)
		mem_wipe(hs->precomputed_ss, WG_KEY_LEN);
}

void noise_handshake_init(struct noise_handshake *hs, const struct noise_local *l,
			  const uint8_t remote_static[static WG_KEY_LEN], const uint8_t *psk)
{
	mem_wipe(hs, sizeof(*hs));
	memcpy(hs->remote_static, remote_static, WG_KEY_LEN);
	noise_handshake_set_psk(hs, psk);
	noise_handshake_rekey_local(hs, l);
}

void noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t *psk)
{
	if (psk != NULL)
		memcpy(hs->psk, psk, WG_KEY_LEN);
	else
		mem_wipe(hs->psk, WG_KEY_LEN);
}

void noise_handshake_clear(struct noise_handshake *hs)
{
	hs->state = NOISE_STATE_ZEROED;
	mem_wipe(hs->ephemeral_private, WG_KEY_LEN);
	mem_wipe(hs->remote_ephemeral, WG_KEY_LEN);
	mem_wipe(hs->hash, WG_HASH_LEN);
	mem_wipe(hs->chaining_key, WG_HASH_LEN);
	hs->local_index = 0;
	hs->remote_index = 0;
}

void noise_handshake_wipe(struct noise_handshake *hs)
{
	mem_wipe(hs, sizeof(*hs));
}

int noise_create_initiation(const struct noise_local *l, struct noise_handshake *hs,
			    struct wg_msg_initiation *msg, uint32_t local_index, uint64_t wall_ns)
{
	uint8_t ck[WG_HASH_LEN], h[WG_HASH_LEN], k[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];
	int r = -EINVAL;

	if (!l->has_identity || ct_is_zero(hs->precomputed_ss, WG_KEY_LEN))
		goto out;
	memset(msg, 0, sizeof(*msg));
	msg->type = WG_MSG_INITIATION;
	buf_store_le32(msg->sender, local_index);

	noise_initial(ck, h);
	noise_mix_hash(h, hs->remote_static, WG_KEY_LEN);

	/* e */
	keys_generate(hs->ephemeral_private);
	if (keys_public(msg->ephemeral, hs->ephemeral_private) != 0)
		goto out;
	b2s_kdf(ck, NULL, NULL, ck, msg->ephemeral, WG_KEY_LEN);
	noise_mix_hash(h, msg->ephemeral, WG_KEY_LEN);
	/* es */
	if (noise_mix_dh(ck, k, hs->ephemeral_private, hs->remote_static) != 0)
		goto out;
	/* s */
	noise_encrypt_and_hash(msg->static_enc, l->public_key, WG_KEY_LEN, k, h);
	/* ss */
	if (noise_mix_ss(ck, k, hs->precomputed_ss) != 0)
		goto out;
	/* {t} */
	noise_tai64n(ts, wall_ns);
	noise_encrypt_and_hash(msg->timestamp_enc, ts, WG_TIMESTAMP_LEN, k, h);

	memcpy(hs->chaining_key, ck, WG_HASH_LEN);
	memcpy(hs->hash, h, WG_HASH_LEN);
	hs->local_index = local_index;
	hs->remote_index = 0;
	hs->state = NOISE_STATE_CREATED_INITIATION;
	r = 0;
out:
	if (r != 0)
		noise_handshake_clear(hs);
	mem_wipe(ck, sizeof(ck));
	mem_wipe(h, sizeof(h));
	mem_wipe(k, sizeof(k));
	return r;
}

int noise_initiation_open(const struct noise_local *l, const struct wg_msg_initiation *msg,
			  struct noise_initiation *in)
{
	uint8_t k[WG_KEY_LEN];
	int r = -EBADMSG;

	mem_wipe(in, sizeof(*in));
	if (!l->has_identity)
		goto out;
	noise_initial(in->chaining_key, in->hash);
	noise_mix_hash(in->hash, l->public_key, WG_KEY_LEN);
	/* e */
	memcpy(in->remote_ephemeral, msg->ephemeral, WG_KEY_LEN);
	b2s_kdf(in->chaining_key, NULL, NULL, in->chaining_key, msg->ephemeral, WG_KEY_LEN);
	noise_mix_hash(in->hash, msg->ephemeral, WG_KEY_LEN);
	/* es */
	if (noise_mix_dh(in->chaining_key, k, l->private_key, msg->ephemeral) != 0)
		goto out;
	/* s */
	if (noise_decrypt_and_hash(in->remote_static, msg->static_enc, WG_KEY_LEN, k, in->hash) !=
	    0)
		goto out;
	in->remote_index = buf_load_le32(msg->sender);
	r = 0;
out:
	if (r != 0)
		mem_wipe(in, sizeof(*in));
	mem_wipe(k, sizeof(k));
	return r;
}

int noise_initiation_accept(struct noise_handshake *hs, const struct wg_msg_initiation *msg,
			    struct noise_initiation *in, uint64_t now_ns)
{
	uint8_t k[WG_KEY_LEN], ts[WG_TIMESTAMP_LEN];
	int r = -EBADMSG;

	if (!ct_memeq(in->remote_static, hs->remote_static, WG_KEY_LEN))
		goto out;
	/* ss */
	if (noise_mix_ss(in->chaining_key, k, hs->precomputed_ss) != 0)
		goto out;
	/* {t} */
	if (noise_decrypt_and_hash(ts, msg->timestamp_enc, WG_TIMESTAMP_LEN, k, in->hash) != 0)
		goto out;
	/* Big-endian TAI64N compares as bytes; a replayed initiation is not newer. */
	if (memcmp(ts, hs->latest_timestamp, WG_TIMESTAMP_LEN) <= 0) {
		r = -EALREADY;
		goto out;
	}
	if (hs->last_initiation_consumed_ns != 0 &&
	    now_ns - hs->last_initiation_consumed_ns < WG_NS(1) / WG_INITIATIONS_PER_SECOND) {
		r = -EBUSY;
		goto out;
	}
	noise_handshake_clear(hs);
	memcpy(hs->latest_timestamp, ts, WG_TIMESTAMP_LEN);
	memcpy(hs->remote_ephemeral, in->remote_ephemeral, WG_KEY_LEN);
	memcpy(hs->hash, in->hash, WG_HASH_LEN);
	memcpy(hs->chaining_key, in->chaining_key, WG_HASH_LEN);
	hs->remote_index = in->remote_index;
	hs->last_initiation_consumed_ns = now_ns;
	hs->state = NOISE_STATE_CONSUMED_INITIATION;
	r = 0;
out:
	mem_wipe(in, sizeof(*in));
	mem_wipe(k, sizeof(k));
	mem_wipe(ts, sizeof(ts));
	return r;
}

int noise_create_response(struct noise_handshake *hs, struct wg_msg_response *msg,
			  uint32_t local_index)
{
	uint8_t ck[WG_HASH_LEN], h[WG_HASH_LEN], k[WG_KEY_LEN];
	int r = -EINVAL;

	if (hs->state != NOISE_STATE_CONSUMED_INITIATION)
		goto out;
	memcpy(ck, hs->chaining_key, WG_HASH_LEN);
	memcpy(h, hs->hash, WG_HASH_LEN);
	memset(msg, 0, sizeof(*msg));
	msg->type = WG_MSG_RESPONSE;
	buf_store_le32(msg->sender, local_index);
	buf_store_le32(msg->receiver, hs->remote_index);

	/* e */
	keys_generate(hs->ephemeral_private);
	if (keys_public(msg->ephemeral, hs->ephemeral_private) != 0)
		goto out;
	b2s_kdf(ck, NULL, NULL, ck, msg->ephemeral, WG_KEY_LEN);
	noise_mix_hash(h, msg->ephemeral, WG_KEY_LEN);
	/* ee */
	if (noise_mix_dh(ck, NULL, hs->ephemeral_private, hs->remote_ephemeral) != 0)
		goto out;
	/* se */
	if (noise_mix_dh(ck, NULL, hs->ephemeral_private, hs->remote_static) != 0)
		goto out;
	/* psk */
	noise_mix_psk(ck, h, k, hs->psk);
	/* {} */
	noise_encrypt_and_hash(msg->empty_enc, NULL, 0, k, h);

	memcpy(hs->chaining_key, ck, WG_HASH_LEN);
	memcpy(hs->hash, h, WG_HASH_LEN);
	hs->local_index = local_index;
	hs->state = NOISE_STATE_CREATED_RESPONSE;
	r = 0;
out:
	if (r != 0)
		noise_handshake_clear(hs);
	mem_wipe(ck, sizeof(ck));
	mem_wipe(h, sizeof(h));
	mem_wipe(k, sizeof(k));
	return r;
}

int noise_consume_response(const struct noise_local *l, struct noise_handshake *hs,
			   const struct wg_msg_response *msg)
{
	uint8_t ck[WG_HASH_LEN], h[WG_HASH_LEN], k[WG_KEY_LEN], e[WG_KEY_LEN];
	int r = -EBADMSG;

	if (hs->state != NOISE_STATE_CREATED_INITIATION ||
	    buf_load_le32(msg->receiver) != hs->local_index || !l->has_identity)
		goto out;
	memcpy(ck, hs->chaining_key, WG_HASH_LEN);
	memcpy(h, hs->hash, WG_HASH_LEN);
	memcpy(e, msg->ephemeral, WG_KEY_LEN);

	/* e */
	b2s_kdf(ck, NULL, NULL, ck, e, WG_KEY_LEN);
	noise_mix_hash(h, e, WG_KEY_LEN);
	/* ee */
	if (noise_mix_dh(ck, NULL, hs->ephemeral_private, e) != 0)
		goto out;
	/* se */
	if (noise_mix_dh(ck, NULL, l->private_key, e) != 0)
		goto out;
	/* psk */
	noise_mix_psk(ck, h, k, hs->psk);
	/* {} */
	if (noise_decrypt_and_hash(NULL, msg->empty_enc, 0, k, h) != 0)
		goto out;

	/* Only a response that authenticates changes state: a forged one is ignored. */
	memcpy(hs->remote_ephemeral, e, WG_KEY_LEN);
	memcpy(hs->chaining_key, ck, WG_HASH_LEN);
	memcpy(hs->hash, h, WG_HASH_LEN);
	hs->remote_index = buf_load_le32(msg->sender);
	hs->state = NOISE_STATE_CONSUMED_RESPONSE;
	r = 0;
out:
	mem_wipe(ck, sizeof(ck));
	mem_wipe(h, sizeof(h));
	mem_wipe(k, sizeof(k));
	mem_wipe(e, sizeof(e));
	return r;
}

int noise_derive_keys(struct noise_handshake *hs, uint8_t send[static WG_KEY_LEN],
		      uint8_t recv[static WG_KEY_LEN], bool *initiator, uint32_t *local_index,
		      uint32_t *remote_index)
{
	if (hs->state == NOISE_STATE_CONSUMED_RESPONSE) {
		*initiator = true;
		b2s_kdf(send, recv, NULL, hs->chaining_key, NULL, 0);
	} else if (hs->state == NOISE_STATE_CREATED_RESPONSE) {
		*initiator = false;
		b2s_kdf(recv, send, NULL, hs->chaining_key, NULL, 0);
	} else {
		return -EINVAL;
	}
	*local_index = hs->local_index;
	*remote_index = hs->remote_index;
	noise_handshake_clear(hs);
	return 0;
}
