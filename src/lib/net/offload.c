/* SPDX-License-Identifier: ISC */
/* offload: TSO splitting and GRO merging for the TUN device (see offload.h). */
#include <errno.h>
#include <string.h>

#include "core/buf.h"
#include "net/csum.h"
#include "net/offload.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80
#define PROTO_TCP 6
#define PROTO_UDP 17
#define OFFLOAD_MAX_IP 65535

void offload_vnet_hdr_decode(const uint8_t p[static OFFLOAD_VNET_HDR_LEN],
			     struct offload_vnet_hdr *h)
{
	h->flags = p[0];
	h->gso_type = p[1];
	h->hdr_len = (uint16_t)(p[2] | p[3] << 8);
	h->gso_size = (uint16_t)(p[4] | p[5] << 8);
	h->csum_start = (uint16_t)(p[6] | p[7] << 8);
	h->csum_offset = (uint16_t)(p[8] | p[9] << 8);
}

void offload_vnet_hdr_encode(uint8_t p[static OFFLOAD_VNET_HDR_LEN],
			     const struct offload_vnet_hdr *h)
{
	p[0] = h->flags;
	p[1] = h->gso_type;
	p[2] = (uint8_t)h->hdr_len;
	p[3] = (uint8_t)(h->hdr_len >> 8);
	p[4] = (uint8_t)h->gso_size;
	p[5] = (uint8_t)(h->gso_size >> 8);
	p[6] = (uint8_t)h->csum_start;
	p[7] = (uint8_t)(h->csum_start >> 8);
	p[8] = (uint8_t)h->csum_offset;
	p[9] = (uint8_t)(h->csum_offset >> 8);
}

/* IP version and header length of a packet; 0 when malformed. */
static size_t offload_iphlen(const uint8_t *pkt, size_t len, unsigned *version, uint8_t *proto)
{
	size_t ihl;

	if (len < 1)
		return 0;
	*version = pkt[0] >> 4;
	if (*version == 4) {
		if (len < 20)
			return 0;
		ihl = (size_t)(pkt[0] & 0x0f) * 4;
		if (ihl < 20 || ihl > len)
			return 0;
		*proto = pkt[9];
		return ihl;
	}
	if (*version == 6) {
		if (len < 40)
			return 0;
		*proto = pkt[6];
		return 40;
	}
	return 0;
}

int offload_split_plan(const struct offload_vnet_hdr *h, const uint8_t *pkt, size_t len,
		       size_t *nsegs, size_t *seg_len, const char **why)
{
	unsigned version;
	uint8_t proto;
	size_t iphl, l4h, payload;
	uint8_t gso = h->gso_type & (uint8_t)~OFFLOAD_GSO_ECN;

	*why = NULL;
	if (h->flags & OFFLOAD_F_NEEDS_CSUM) {
		if ((size_t)h->csum_start + h->csum_offset + 2 > len) {
			*why = "checksum offset beyond packet";
			return -EINVAL;
		}
	}
	if (gso == OFFLOAD_GSO_NONE) {
		*nsegs = 1;
		*seg_len = len;
		return 0;
	}
	iphl = offload_iphlen(pkt, len, &version, &proto);
	if (iphl == 0) {
		*why = "malformed IP header";
		return -EINVAL;
	}
	if ((gso == OFFLOAD_GSO_TCPV4 && (version != 4 || proto != PROTO_TCP)) ||
	    (gso == OFFLOAD_GSO_TCPV6 && (version != 6 || proto != PROTO_TCP)) ||
	    (gso == OFFLOAD_GSO_UDP_L4 && proto != PROTO_UDP) ||
	    (gso != OFFLOAD_GSO_TCPV4 && gso != OFFLOAD_GSO_TCPV6 && gso != OFFLOAD_GSO_UDP_L4)) {
		*why = "unsupported GSO type";
		return -EINVAL;
	}
	if (!(h->flags & OFFLOAD_F_NEEDS_CSUM) || h->csum_start != iphl) {
		*why = "GSO without a partial checksum at the transport header";
		return -EINVAL;
	}
	if (proto == PROTO_TCP) {
		if (iphl + 20 > len)
			return *why = "short TCP header", -EINVAL;
		l4h = (size_t)(pkt[iphl + 12] >> 4) * 4;
		if (l4h < 20 || h->csum_offset != 16)
			return *why = "bad TCP header", -EINVAL;
	} else {
		l4h = 8;
		if (h->csum_offset != 6)
			return *why = "bad UDP header", -EINVAL;
	}
	if (iphl + l4h > len || h->gso_size == 0)
		return *why = "bad GSO size or header length", -EINVAL;
	payload = len - iphl - l4h;
	*nsegs = payload == 0 ? 1 : (payload + h->gso_size - 1) / h->gso_size;
	*seg_len = iphl + l4h + (payload < h->gso_size ? payload : h->gso_size);
	return 0;
}

/* Completes a partial checksum left by the kernel (NEEDS_CSUM) in place. */
static void offload_finish_partial(const struct offload_vnet_hdr *h, uint8_t *pkt, size_t len)
{
	uint8_t *field = pkt + h->csum_start + h->csum_offset;
	uint16_t v = csum_finish(csum_add(0, pkt + h->csum_start, len - h->csum_start));

	/* UDP sends an all-zero checksum as 0xffff (zero means "none"); harmless for TCP. */
	buf_store_be16(field, v != 0 ? v : 0xffff);
}

static void offload_ip_fix(uint8_t *ip, unsigned version, size_t iphl, size_t total, uint16_t id)
{
	if (version == 4) {
		buf_store_be16(ip + 2, (uint16_t)total);
		buf_store_be16(ip + 4, id);
		ip[10] = ip[11] = 0;
		buf_store_be16(ip + 10, csum_finish(csum_add(0, ip, iphl)));
	} else {
		buf_store_be16(ip + 4, (uint16_t)(total - 40));
	}
}

static void offload_l4_csum(uint8_t *ip, unsigned version, size_t iphl, uint8_t proto,
			    size_t l4len, size_t field_off)
{
	size_t alen = version == 4 ? 4 : 16;
	const uint8_t *src = ip + (version == 4 ? 12 : 8);
	uint8_t *l4 = ip + iphl;
	uint64_t acc;
	uint16_t v;

	l4[field_off] = l4[field_off + 1] = 0;
	acc = csum_pseudo(src, src + alen, alen, proto, (uint32_t)l4len);
	v = csum_finish(csum_add(acc, l4, l4len));
	if (proto == PROTO_UDP && v == 0)
		v = 0xffff;
	buf_store_be16(l4 + field_off, v);
}

void offload_split(const struct offload_vnet_hdr *h, const uint8_t *pkt, size_t len,
		   uint8_t *out, size_t stride, size_t *lens)
{
	uint8_t gso = h->gso_type & (uint8_t)~OFFLOAD_GSO_ECN;
	unsigned version;
	uint8_t proto;
	size_t iphl, l4h, payload, n, hdr;
	uint32_t seq = 0;
	uint16_t id = 0;
	uint8_t flags = 0;

	if (gso == OFFLOAD_GSO_NONE) {
		memcpy(out, pkt, len);
		if (h->flags & OFFLOAD_F_NEEDS_CSUM)
			offload_finish_partial(h, out, len);
		lens[0] = len;
		return;
	}
	iphl = offload_iphlen(pkt, len, &version, &proto);
	if (proto == PROTO_TCP) {
		l4h = (size_t)(pkt[iphl + 12] >> 4) * 4;
		seq = buf_load_be32(pkt + iphl + 4);
		flags = pkt[iphl + 13];
	} else {
		l4h = 8;
	}
	if (version == 4)
		id = buf_load_be16(pkt + 4);
	hdr = iphl + l4h;
	payload = len - hdr;
	n = payload == 0 ? 1 : (payload + h->gso_size - 1) / h->gso_size;
	for (size_t i = 0; i < n; i++) {
		size_t off = i * h->gso_size;
		size_t seg = payload - off < h->gso_size ? payload - off : h->gso_size;
		uint8_t *d = out + i * stride, *l4 = d + iphl;

		memcpy(d, pkt, hdr);
		memcpy(d + hdr, pkt + hdr + off, seg);
		offload_ip_fix(d, version, iphl, hdr + seg, (uint16_t)(id + i));
		if (proto == PROTO_TCP) {
			uint8_t f = flags;
			buf_store_be32(l4 + 4, seq + (uint32_t)off);
			if (i + 1 < n)
				f &= (uint8_t)~(TCP_FIN | TCP_PSH);
			if (i > 0)
				f &= (uint8_t)~TCP_CWR;
			l4[13] = f;
			offload_l4_csum(d, version, iphl, PROTO_TCP, l4h + seg, 16);
		} else {
			buf_store_be16(l4 + 4, (uint16_t)(l4h + seg));
			offload_l4_csum(d, version, iphl, PROTO_UDP, l4h + seg, 6);
		}
		lens[i] = hdr + seg;
	}
}

int offload_tcp_parse(const uint8_t *pkt, size_t len, struct offload_tcp *t)
{
	unsigned version;
	uint8_t proto;
	size_t iphl, tcphl, total;
	const uint8_t *tcp;
	uint64_t acc;

	iphl = offload_iphlen(pkt, len, &version, &proto);
	if (iphl == 0 || proto != PROTO_TCP)
		return -EINVAL;
	if (version == 4) {
		/* No options, not a fragment (MF clear, offset zero; DF is fine). */
		if (iphl != 20 || (buf_load_be16(pkt + 6) & 0x3fff) != 0)
			return -EINVAL;
		total = buf_load_be16(pkt + 2);
	} else {
		total = 40 + (size_t)buf_load_be16(pkt + 4);
	}
	if (total != len || iphl + 20 > len)
		return -EINVAL;
	tcp = pkt + iphl;
	tcphl = (size_t)(tcp[12] >> 4) * 4;
	if (tcphl < 20 || iphl + tcphl >= len)
		return -EINVAL; /* no payload: nothing to merge */
	if ((tcp[13] & (uint8_t)~TCP_PSH) != TCP_ACK)
		return -EINVAL;
	/* Merged segments are handed over with checksums to be completed: check them now. */
	acc = csum_pseudo(pkt + (version == 4 ? 12 : 8), pkt + (version == 4 ? 16 : 24),
			  version == 4 ? 4 : 16, PROTO_TCP, (uint32_t)(len - iphl));
	if (csum_fold(csum_add(acc, tcp, len - iphl)) != 0xffff)
		return -EINVAL;
	t->family = (uint8_t)version;
	t->iphlen = (uint8_t)iphl;
	t->tcphlen = (uint8_t)tcphl;
	t->payload = (uint16_t)(len - iphl - tcphl);
	t->seq = buf_load_be32(tcp + 4);
	t->flags = tcp[13];
	return 0;
}

bool offload_tcp_follows(const uint8_t *first, const struct offload_tcp *ft, const uint8_t *next,
			 const struct offload_tcp *nt, uint32_t expect_seq, size_t run_bytes)
{
	const uint8_t *a = first + ft->iphlen, *b = next + nt->iphlen;

	if (nt->family != ft->family || nt->tcphlen != ft->tcphlen || nt->seq != expect_seq ||
	    nt->payload > ft->payload || run_bytes + nt->payload > OFFLOAD_MAX_IP)
		return false;
	if (ft->family == 4) {
		/* TOS, flags/fragment, TTL, protocol, addresses: all but length, ID, checksum. */
		if (first[1] != next[1] || memcmp(first + 6, next + 6, 3) != 0 ||
		    memcmp(first + 12, next + 12, 8) != 0)
			return false;
	} else {
		/* Version, class, flow label, next header, hop limit, addresses. */
		if (memcmp(first, next, 4) != 0 || memcmp(first + 6, next + 6, 34) != 0)
			return false;
	}
	/* Ports, ack, data offset, window, urgent pointer and options equal; flags ACK[|PSH]. */
	if (memcmp(a, b, 4) != 0 || memcmp(a + 8, b + 8, 5) != 0 || memcmp(a + 14, b + 14, 2) != 0 ||
	    memcmp(a + 18, b + 18, (size_t)ft->tcphlen - 18) != 0)
		return false;
	return true;
}

void offload_tcp_merge_finish(uint8_t *first, const struct offload_tcp *ft, size_t total,
			      size_t seg_size, bool psh, struct offload_vnet_hdr *h)
{
	size_t alen = ft->family == 4 ? 4 : 16;
	const uint8_t *src = first + (ft->family == 4 ? 12 : 8);
	uint8_t *tcp = first + ft->iphlen;

	offload_ip_fix(first, ft->family, ft->iphlen, total,
		       ft->family == 4 ? buf_load_be16(first + 4) : 0);
	if (psh)
		tcp[13] |= TCP_PSH;
	/* The kernel completes the checksum (CHECKSUM_PARTIAL): leave the pseudo-header sum. */
	buf_store_be16(tcp + 16, csum_fold(csum_pseudo(src, src + alen, alen, PROTO_TCP,
						       (uint32_t)(total - ft->iphlen))));
	h->flags = OFFLOAD_F_NEEDS_CSUM;
	h->gso_type = ft->family == 4 ? OFFLOAD_GSO_TCPV4 : OFFLOAD_GSO_TCPV6;
	h->hdr_len = (uint16_t)(ft->iphlen + ft->tcphlen);
	h->gso_size = (uint16_t)seg_size;
	h->csum_start = ft->iphlen;
	h->csum_offset = 16;
}
