/* SPDX-License-Identifier: ISC */
/* mss: clamp the MSS option of TCP SYNs (see mss.h). */
#include "core/buf.h"
#include "net/mss.h"

#define TCP_SYN 0x02
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). */
static uint16_t mss_csum_update(uint16_t hc, uint16_t old, uint16_t new)
{
	uint32_t s = (uint16_t)~hc + (uint32_t)(uint16_t)~old + new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Offset of the TCP header if this is a clampable SYN, else 0. */
static size_t mss_tcp_offset(const uint8_t *pkt, size_t len, unsigned *overhead)
{
	size_t off;

	if (len < 1)
		return 0;
	if (pkt[0] >> 4 == 4) {
		if (len < 20 || pkt[9] != 6 || (buf_load_be16(pkt + 6) & 0x3fff) != 0)
			return 0;
		off = (size_t)(pkt[0] & 0x0f) * 4;
		*overhead = 40;
	} else if (pkt[0] >> 4 == 6) {
		if (len < 40 || pkt[6] != 6)
			return 0;
		off = 40;
		*overhead = 60;
	} else {
		return 0;
	}
	if (off < 20 || off + 20 > len || !(pkt[off + 13] & TCP_SYN))
		return 0;
	return off;
}

bool mss_clamp(uint8_t *pkt, size_t len, unsigned mtu)
{
	unsigned overhead;
	size_t tcp = mss_tcp_offset(pkt, len, &overhead), hl, i;
	uint16_t limit, mss;

	if (tcp == 0 || mtu <= overhead)
		return false;
	limit = (uint16_t)(mtu - overhead);
	hl = (size_t)(pkt[tcp + 12] >> 4) * 4;
	if (hl < 20 || tcp + hl > len)
		return false;
	for (i = tcp + 20; i < tcp + hl;) {
		uint8_t kind = pkt[i], olen;
		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= tcp + hl)
			break;
		olen = pkt[i + 1];
		if (olen < 2 || i + olen > tcp + hl)
			break;
		if (kind == TCPOPT_MSS && olen == 4) {
			mss = buf_load_be16(pkt + i + 2);
			if (mss <= limit)
				return false;
			buf_store_be16(pkt + i + 2, limit);
			buf_store_be16(pkt + tcp + 16,
				       mss_csum_update(buf_load_be16(pkt + tcp + 16), mss, limit));
			return true;
		}
		i += olen;
	}
	return false;
}
