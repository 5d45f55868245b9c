/* SPDX-License-Identifier: ISC */
/* csum: Internet checksum (see csum.h). */
#include <string.h>

#include "net/csum.h"

uint64_t csum_add(uint64_t acc, const uint8_t *p, size_t len)
{
	uint32_t w;
	uint16_t h;

	/* Sum native 32-bit words: the one's-complement sum is byte-order neutral
	 * up to a final swap (RFC 1071 section 2(B)). */
	while (len >= 32) {
		uint32_t a[8];
		memcpy(a, p, sizeof(a));
		acc += (uint64_t)a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
		p += 32;
		len -= 32;
	}
	while (len >= 4) {
		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		acc += h;
		p += 2;
		len -= 2;
	}
	if (len == 1) {
		uint8_t b[2] = { p[0], 0 };
		memcpy(&h, b, 2);
		acc += h;
	}
	return acc;
}

uint64_t csum_pseudo(const uint8_t *src, const uint8_t *dst, size_t alen, uint8_t proto,
		     uint32_t len)
{
	uint8_t tail[8] = { 0 };
	uint64_t acc = 0;

	acc = csum_add(acc, src, alen);
	acc = csum_add(acc, dst, alen);
	/* IPv4: 0, proto, 16-bit length; IPv6: 32-bit length, 3 zero bytes, next header.
	 * Both sum to the same value, so one layout serves. */
	tail[2] = (uint8_t)(len >> 24);
	tail[3] = (uint8_t)(len >> 16);
	tail[4] = (uint8_t)(len >> 8);
	tail[5] = (uint8_t)len;
	tail[7] = proto;
	return csum_add(acc, tail, sizeof(tail));
}

uint16_t csum_fold(uint64_t acc)
{
	uint16_t r;

	acc = (acc & 0xffffffffULL) + (acc >> 32);
	acc = (acc & 0xffffffffULL) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	r = (uint16_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	r = (uint16_t)((r >> 8) | (r << 8));
#endif
	return r;
}
