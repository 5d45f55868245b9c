/* SPDX-License-Identifier: ISC */
/* ippkt: parse one UDP/TCP packet strictly, build UDP and TCP replies (see ippkt.h). */
#include <errno.h>
#include <string.h>

#include "core/buf.h"
#include "net/csum.h"
#include "net/ippkt.h"

#define IPPKT_V4_HDR 20
#define IPPKT_V6_HDR 40
#define IPPKT_UDP_HDR 8
#define IPPKT_TCP_HDR 20
#define IPPKT_UDP_MAX 65507

static const char *const ippkt_status_names[IPPKT_STATUS_COUNT] = {
	[IPPKT_OK] = "ok",
	[IPPKT_E_SHORT] = "truncated or inconsistent lengths",
	[IPPKT_E_VERSION] = "not an IPv4 or IPv6 packet",
	[IPPKT_E_FRAGMENT] = "IPv4 fragment",
	[IPPKT_E_PROTO] = "not UDP or TCP",
	[IPPKT_E_CHECKSUM] = "bad checksum",
	[IPPKT_E_TCP_OPTS] = "malformed TCP header or options",
};

const char *ippkt_status_str(enum ippkt_status s)
{
	return (unsigned)s < IPPKT_STATUS_COUNT ? ippkt_status_names[s] : "?";
}

/* The TCP header after the fixed part: options walked, MSS kept. */
static enum ippkt_status ippkt_tcp_opts(const uint8_t *o, size_t n, uint16_t *mss)
{
	size_t i = 0;

	*mss = 0;
	while (i < n) {
		uint8_t kind = o[i], olen;
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n || (olen = o[i + 1]) < 2 || i + olen > n)
			return IPPKT_E_TCP_OPTS;
		if (kind == 2) {
			if (olen != 4)
				return IPPKT_E_TCP_OPTS;
			*mss = buf_load_be16(o + i + 2);
		}
		i += olen;
	}
	return IPPKT_OK;
}

static enum ippkt_status ippkt_l4(const uint8_t *l4, size_t l4len, uint64_t pseudo,
				  bool v6, struct ippkt *out)
{
	if (out->proto == IPPKT_PROTO_UDP) {
		uint16_t ulen, sum;
		if (l4len < IPPKT_UDP_HDR)
			return IPPKT_E_SHORT;
		ulen = buf_load_be16(l4 + 4);
		sum = buf_load_be16(l4 + 6);
		if (ulen != l4len)
			return IPPKT_E_SHORT;
		if (sum == 0 ? v6 : csum_fold(csum_add(pseudo, l4, l4len)) != 0xffff)
			return IPPKT_E_CHECKSUM;
		out->payload = l4 + IPPKT_UDP_HDR;
		out->payload_len = l4len - IPPKT_UDP_HDR;
	} else {
		size_t hl;
		enum ippkt_status st;
		if (l4len < IPPKT_TCP_HDR)
			return IPPKT_E_SHORT;
		hl = (size_t)(l4[12] >> 4) * 4;
		if (hl < IPPKT_TCP_HDR || hl > l4len)
			return IPPKT_E_TCP_OPTS;
		if (csum_fold(csum_add(pseudo, l4, l4len)) != 0xffff)
			return IPPKT_E_CHECKSUM;
		if ((st = ippkt_tcp_opts(l4 + IPPKT_TCP_HDR, hl - IPPKT_TCP_HDR, &out->tcp.mss)) !=
		    IPPKT_OK)
			return st;
		out->tcp.seq = buf_load_be32(l4 + 4);
		out->tcp.ack = buf_load_be32(l4 + 8);
		out->tcp.flags = l4[13];
		out->tcp.window = buf_load_be16(l4 + 14);
		out->payload = l4 + hl;
		out->payload_len = l4len - hl;
	}
	out->src.port = buf_load_be16(l4);
	out->dst.port = buf_load_be16(l4 + 2);
	return IPPKT_OK;
}

enum ippkt_status ippkt_parse(const uint8_t *p, size_t len, struct ippkt *out)
{
	size_t hl, total;
	const uint8_t *src, *dst;
	size_t alen;

	memset(out, 0, sizeof(*out));
	if (len < 1)
		return IPPKT_E_SHORT;
	if (p[0] >> 4 == 4) {
		hl = (size_t)(p[0] & 0x0f) * 4;
		if (hl < IPPKT_V4_HDR)
			return IPPKT_E_VERSION;
		if (len < hl)
			return IPPKT_E_SHORT;
		total = buf_load_be16(p + 2);
		if (total < hl || total > len)
			return IPPKT_E_SHORT;
		if (csum_fold(csum_add(0, p, hl)) != 0xffff)
			return IPPKT_E_CHECKSUM;
		if ((buf_load_be16(p + 6) & 0x3fff) != 0)
			return IPPKT_E_FRAGMENT; /* MF set or an offset: the kernel reassembles, not us */
		out->proto = p[9];
		src = p + 12;
		dst = p + 16;
		alen = 4;
		netaddr_from_v4(&out->src.addr, src);
		netaddr_from_v4(&out->dst.addr, dst);
	} else if (p[0] >> 4 == 6) {
		if (len < IPPKT_V6_HDR)
			return IPPKT_E_SHORT;
		hl = IPPKT_V6_HDR;
		total = hl + buf_load_be16(p + 4);
		if (total > len)
			return IPPKT_E_SHORT;
		out->proto = p[6];
		src = p + 8;
		dst = p + 24;
		alen = 16;
		netaddr_from_v6(&out->src.addr, src);
		netaddr_from_v6(&out->dst.addr, dst);
	} else {
		return IPPKT_E_VERSION;
	}
	if (out->proto != IPPKT_PROTO_UDP && out->proto != IPPKT_PROTO_TCP)
		return IPPKT_E_PROTO;
	return ippkt_l4(p + hl, total - hl,
			csum_pseudo(src, dst, alen, out->proto, (uint32_t)(total - hl)), alen == 16,
			out);
}

/* The IP header for an L4 part of l4len bytes; returns its length. */
static size_t ippkt_ip_header(uint8_t *out, const struct netendpoint *src,
			      const struct netendpoint *dst, uint8_t proto, size_t l4len)
{
	if (src->addr.family == NETADDR_V4) {
		memset(out, 0, IPPKT_V4_HDR);
		out[0] = 0x45;
		buf_store_be16(out + 2, (uint16_t)(IPPKT_V4_HDR + l4len));
		buf_store_be16(out + 6, 0x4000); /* DF, as the kernel sends small datagrams */
		out[8] = IPPKT_TTL;
		out[9] = proto;
		memcpy(out + 12, src->addr.a, 4);
		memcpy(out + 16, dst->addr.a, 4);
		buf_store_be16(out + 10, csum_finish(csum_add(0, out, IPPKT_V4_HDR)));
		return IPPKT_V4_HDR;
	}
	memset(out, 0, IPPKT_V6_HDR);
	out[0] = 0x60;
	buf_store_be16(out + 4, (uint16_t)l4len);
	out[6] = proto;
	out[7] = IPPKT_TTL;
	memcpy(out + 8, src->addr.a, 16);
	memcpy(out + 24, dst->addr.a, 16);
	return IPPKT_V6_HDR;
}

static void ippkt_l4_csum(uint8_t *l4, size_t l4len, const struct netendpoint *src,
			  const struct netendpoint *dst, uint8_t proto, size_t field)
{
	size_t alen = netaddr_len(&src->addr);
	uint16_t v = csum_finish(csum_add(
		csum_pseudo(src->addr.a, dst->addr.a, alen, proto, (uint32_t)l4len), l4, l4len));

	/* A UDP sum of zero means "none": send its other form (RFC 768). */
	if (v == 0 && proto == IPPKT_PROTO_UDP)
		v = 0xffff;
	buf_store_be16(l4 + field, v);
}

static bool ippkt_families_ok(const struct netendpoint *src, const struct netendpoint *dst)
{
	return src->addr.family == dst->addr.family &&
	       (src->addr.family == NETADDR_V4 || src->addr.family == NETADDR_V6);
}

int ippkt_udp_build(uint8_t *out, size_t cap, const struct netendpoint *src,
		    const struct netendpoint *dst, const uint8_t *payload, size_t len)
{
	size_t iphl, l4len = IPPKT_UDP_HDR + len;
	uint8_t *l4;

	if (!ippkt_families_ok(src, dst) || len > IPPKT_UDP_MAX)
		return -EINVAL;
	iphl = src->addr.family == NETADDR_V4 ? IPPKT_V4_HDR : IPPKT_V6_HDR;
	if (iphl + l4len > cap)
		return -ENOSPC;
	l4 = out + iphl;
	memmove(l4 + IPPKT_UDP_HDR, payload, len);
	ippkt_ip_header(out, src, dst, IPPKT_PROTO_UDP, l4len);
	buf_store_be16(l4, src->port);
	buf_store_be16(l4 + 2, dst->port);
	buf_store_be16(l4 + 4, (uint16_t)l4len);
	buf_store_be16(l4 + 6, 0);
	ippkt_l4_csum(l4, l4len, src, dst, IPPKT_PROTO_UDP, 6);
	return (int)(iphl + l4len);
}

int ippkt_tcp_build(uint8_t *out, size_t cap, const struct ippkt_tcp_seg *s)
{
	size_t iphl, tcphl = IPPKT_TCP_HDR + (s->mss != 0 ? 4 : 0), l4len = tcphl + s->len;
	uint8_t *l4;

	if (!ippkt_families_ok(&s->src, &s->dst) || s->len > 65535 - 60)
		return -EINVAL;
	iphl = s->src.addr.family == NETADDR_V4 ? IPPKT_V4_HDR : IPPKT_V6_HDR;
	if (iphl + l4len > cap)
		return -ENOSPC;
	l4 = out + iphl;
	if (s->len > 0)
		memmove(l4 + tcphl, s->data, s->len);
	ippkt_ip_header(out, &s->src, &s->dst, IPPKT_PROTO_TCP, l4len);
	memset(l4, 0, tcphl);
	buf_store_be16(l4, s->src.port);
	buf_store_be16(l4 + 2, s->dst.port);
	buf_store_be32(l4 + 4, s->seq);
	buf_store_be32(l4 + 8, s->ack);
	l4[12] = (uint8_t)((tcphl / 4) << 4);
	l4[13] = s->flags;
	buf_store_be16(l4 + 14, s->window);
	if (s->mss != 0) {
		l4[20] = 2;
		l4[21] = 4;
		buf_store_be16(l4 + 22, s->mss);
	}
	ippkt_l4_csum(l4, l4len, &s->src, &s->dst, IPPKT_PROTO_TCP, 16);
	return (int)(iphl + l4len);
}
