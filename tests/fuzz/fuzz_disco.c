/* SPDX-License-Identifier: ISC */
/*
 * fuzz_disco: the disco opener and payload decoder. The first input byte
 * picks the mode: odd, the rest is a plaintext sealed with a fixed key pair
 * first (so the fuzzer reaches the decoder behind the box); even, the rest is
 * a raw datagram. A message that decodes must reseal and decode to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "disco/disco.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct disco_shared ab, ba;
static struct disco_public a_pub;
static int ready;

static void setup(void)
{
	struct disco_private a, b;
	struct disco_public b_pub;

	if (ready)
		return;
	if (sodium_init() < 0)
		abort();
	memset(a.b, 1, KEY_LEN);
	memset(b.b, 2, KEY_LEN);
	if (disco_private_public(&a_pub, &a) != 0 || disco_private_public(&b_pub, &b) != 0 ||
	    disco_shared_init(&ab, &a, &b_pub) != 0 || disco_shared_init(&ba, &b, &a_pub) != 0)
		abort();
	ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[DISCO_PACKET_MAX + 64], again[DISCO_PACKET_MAX + 64];
	struct disco_msg m, m2;
	struct disco_public who;
	size_t n;

	setup();
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		size_t pn = size - 1;
		if (pn > DISCO_PACKET_MAX - DISCO_OVERHEAD)
			return 0;
		memcpy(pkt, disco_magic, DISCO_MAGIC_LEN);
		memcpy(pkt + DISCO_MAGIC_LEN, a_pub.b, KEY_LEN);
		memset(pkt + DISCO_MAGIC_LEN + KEY_LEN, 7, DISCO_NONCE_LEN);
		if (crypto_box_easy_afternm(pkt + DISCO_HEADER_LEN, data + 1, pn,
					    pkt + DISCO_MAGIC_LEN + KEY_LEN, ab.k) != 0)
			abort();
		n = DISCO_OVERHEAD + pn;
	} else {
		n = size - 1 < sizeof(pkt) ? size - 1 : sizeof(pkt);
		memcpy(pkt, data + 1, n);
	}
	(void)disco_is_packet(pkt, n);
	(void)disco_sender(pkt, n, &who);
	if (disco_open_from(pkt, n, &a_pub, &ba, &m) != DISCO_OK)
		return 0;
	size_t n2 = disco_seal(again, sizeof(again), &a_pub, &ab, &m);
	if (n2 != n || disco_open(again, n2, &ba, &m2) != DISCO_OK || m2.type != m.type)
		abort();
	return 0;
}
