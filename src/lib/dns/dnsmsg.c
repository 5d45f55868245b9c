/* SPDX-License-Identifier: ISC */
/* dnsmsg: strict DNS message parsing and building (see dnsmsg.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "dns/dnsmsg.h"

/* A pointer chain longer than the most labels a name can have is not a name. */
#define DNSMSG_MAX_HOPS 128

static const char *const dnsmsg_status_names[DNSMSG_STATUS_COUNT] = {
	[DNSMSG_OK] = "ok",
	[DNSMSG_E_SHORT] = "message ends early",
	[DNSMSG_E_LABEL] = "bad label",
	[DNSMSG_E_NAMELEN] = "name longer than 255 bytes",
	[DNSMSG_E_POINTER] = "compression pointer not strictly backwards",
	[DNSMSG_E_QDCOUNT] = "not exactly one question",
	[DNSMSG_E_COUNTS] = "answer or authority records in a query",
	[DNSMSG_E_TRAILING] = "bytes after the last record",
	[DNSMSG_E_OPT] = "bad or duplicate OPT record",
	[DNSMSG_E_OPT_LAST] = "OPT record is not the last record",
	[DNSMSG_E_NOT_QUERY] = "wrong QR bit",
	[DNSMSG_E_RDATA] = "malformed RDATA",
};

const char *dnsmsg_status_str(enum dnsmsg_status s)
{
	return (unsigned)s < DNSMSG_STATUS_COUNT ? dnsmsg_status_names[s] : "unknown";
}

/* Names */

enum dnsmsg_status dnsmsg_name_read(const uint8_t *msg, size_t len, size_t *off,
				    struct dnsmsg_name *out)
{
	size_t pos = *off, end = 0, nlen = 0, floor = *off;
	unsigned labels = 0, hops = 0;
	bool jumped = false;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return DNSMSG_E_SHORT;
		c = msg[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= len)
				return DNSMSG_E_SHORT;
			target = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
			/*
			 * Every jump lands strictly before the segment it leaves
			 * (and after the header), so the walk always ends.
			 */
			if (target >= floor || target < DNSMSG_HDR_LEN || ++hops > DNSMSG_MAX_HOPS)
				return DNSMSG_E_POINTER;
			if (!jumped) {
				end = pos + 2;
				jumped = true;
			}
			floor = target;
			pos = target;
			continue;
		}
		if (c & 0xc0)
			return DNSMSG_E_LABEL;
		if (nlen + 1 + c > DNSMSG_NAME_MAX)
			return DNSMSG_E_NAMELEN;
		if (pos + 1 + (size_t)c > len)
			return DNSMSG_E_SHORT;
		if (out != NULL)
			memcpy(out->b + nlen, msg + pos, 1 + (size_t)c);
		nlen += 1 + (size_t)c;
		if (c == 0)
			break;
		labels++;
		pos += 1 + (size_t)c;
	}
	if (out != NULL) {
		out->len = (uint8_t)nlen;
		out->labels = (uint8_t)labels;
	}
	*off = jumped ? end : pos + 1;
	return DNSMSG_OK;
}

static bool dnsmsg_text_byte_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '.' && c != '\\';
}

int dnsmsg_name_from_text(const char *s, struct dnsmsg_name *out)
{
	size_t n = strlen(s), i = 0, len = 0;
	unsigned labels = 0;

	if (n == 0)
		return -EINVAL;
	if (strcmp(s, ".") == 0) {
		out->b[0] = 0;
		out->len = 1;
		out->labels = 0;
		return 0;
	}
	while (i < n) {
		size_t j = i;

		while (j < n && s[j] != '.') {
			if (!dnsmsg_text_byte_ok((unsigned char)s[j]))
				return -EINVAL;
			j++;
		}
		if (j == i || j - i > DNSMSG_LABEL_MAX)
			return -EINVAL;
		if (len + 1 + (j - i) + 1 > DNSMSG_NAME_MAX)
			return -ENAMETOOLONG;
		out->b[len] = (uint8_t)(j - i);
		memcpy(out->b + len + 1, s + i, j - i);
		len += 1 + (j - i);
		labels++;
		i = j + 1; /* past the dot; a trailing dot ends the loop */
	}
	out->b[len++] = 0;
	out->len = (uint8_t)len;
	out->labels = (uint8_t)labels;
	return 0;
}

char *dnsmsg_name_to_text(const struct dnsmsg_name *n, char *buf, size_t cap)
{
	size_t o = 0, i = 0;

	if (cap == 0)
		return buf;
	if (n->len <= 1) {
		snprintf(buf, cap, ".");
		return buf;
	}
	while (i < n->len && n->b[i] != 0) {
		uint8_t l = n->b[i];

		for (size_t k = 1; k <= l; k++) {
			unsigned char c = n->b[i + k];
			if (dnsmsg_text_byte_ok(c)) {
				if (o + 1 < cap)
					buf[o++] = (char)c;
			} else if (o + 4 < cap) {
				o += (size_t)snprintf(buf + o, cap - o, "\\%03u", c);
			}
		}
		if (o + 1 < cap)
			buf[o++] = '.';
		i += 1 + (size_t)l;
	}
	buf[o < cap ? o : cap - 1] = '\0';
	return buf;
}

static uint8_t dnsmsg_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/*
 * Length bytes are at most 63, below 'A', so a byte-wise ASCII fold is label
 * safe and a byte-wise comparison of equal-length names compares labels.
 */
void dnsmsg_name_lower(struct dnsmsg_name *n)
{
	for (size_t i = 0; i < n->len; i++)
		n->b[i] = dnsmsg_lower(n->b[i]);
}

static bool dnsmsg_bytes_eq_nocase(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (dnsmsg_lower(a[i]) != dnsmsg_lower(b[i]))
			return false;
	return true;
}

bool dnsmsg_name_eq_nocase(const struct dnsmsg_name *a, const struct dnsmsg_name *b)
{
	return a->len == b->len && dnsmsg_bytes_eq_nocase(a->b, b->b, a->len);
}

bool dnsmsg_name_is_under(const struct dnsmsg_name *n, const struct dnsmsg_name *zone)
{
	size_t i = 0;

	if (n->len < zone->len)
		return false;
	while (n->len - i > zone->len)
		i += 1 + (size_t)n->b[i];
	return n->len - i == zone->len && dnsmsg_bytes_eq_nocase(n->b + i, zone->b, zone->len);
}

void dnsmsg_name_parent(const struct dnsmsg_name *n, unsigned k, struct dnsmsg_name *out)
{
	size_t i = 0;

	if (k > n->labels)
		k = n->labels;
	for (unsigned j = 0; j < k; j++)
		i += 1 + (size_t)n->b[i];
	memmove(out->b, n->b + i, n->len - i);
	out->len = (uint8_t)(n->len - i);
	out->labels = (uint8_t)(n->labels - k);
}

static const uint8_t dnsmsg_in_addr_arpa[] = "\7in-addr\4arpa";
static const uint8_t dnsmsg_ip6_arpa[] = "\3ip6\4arpa";

void dnsmsg_name_reverse(const uint8_t *addr, size_t alen, struct dnsmsg_name *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (alen == 4) {
		for (int i = 3; i >= 0; i--) {
			int w = snprintf((char *)out->b + o + 1, 4, "%u", addr[i]);
			out->b[o] = (uint8_t)w;
			o += 1 + (size_t)w;
		}
		memcpy(out->b + o, dnsmsg_in_addr_arpa, sizeof(dnsmsg_in_addr_arpa));
		o += sizeof(dnsmsg_in_addr_arpa);
		out->labels = 6;
	} else {
		for (int i = 15; i >= 0; i--) {
			out->b[o++] = 1;
			out->b[o++] = (uint8_t)hex[addr[i] & 0xf];
			out->b[o++] = 1;
			out->b[o++] = (uint8_t)hex[addr[i] >> 4];
		}
		memcpy(out->b + o, dnsmsg_ip6_arpa, sizeof(dnsmsg_ip6_arpa));
		o += sizeof(dnsmsg_ip6_arpa);
		out->labels = 34;
	}
	out->len = (uint8_t)o;
}

static int dnsmsg_hexval(uint8_t c)
{
	c = dnsmsg_lower(c);
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int dnsmsg_name_reverse_addr(const struct dnsmsg_name *n, uint8_t addr[static 16], size_t *alen)
{
	size_t i = 0;

	memset(addr, 0, 16);
	if (n->labels == 6 && n->len >= sizeof(dnsmsg_in_addr_arpa) &&
	    dnsmsg_bytes_eq_nocase(n->b + n->len - sizeof(dnsmsg_in_addr_arpa), dnsmsg_in_addr_arpa,
				   sizeof(dnsmsg_in_addr_arpa))) {
		for (int k = 3; k >= 0; k--) {
			uint8_t l = n->b[i];
			unsigned v = 0;

			/* 1-3 digits, no leading zero */
			if (l < 1 || l > 3 || (l > 1 && n->b[i + 1] == '0'))
				return -EINVAL;
			for (uint8_t j = 1; j <= l; j++) {
				uint8_t c = n->b[i + j];
				if (c < '0' || c > '9')
					return -EINVAL;
				v = v * 10 + (unsigned)(c - '0');
			}
			if (v > 255)
				return -EINVAL;
			addr[k] = (uint8_t)v;
			i += 1 + (size_t)l;
		}
		if (i != n->len - sizeof(dnsmsg_in_addr_arpa))
			return -EINVAL; /* the suffix matched inside a label */
		*alen = 4;
		return 0;
	}
	if (n->labels == 34 && n->len >= sizeof(dnsmsg_ip6_arpa) &&
	    dnsmsg_bytes_eq_nocase(n->b + n->len - sizeof(dnsmsg_ip6_arpa), dnsmsg_ip6_arpa,
				   sizeof(dnsmsg_ip6_arpa))) {
		for (int k = 31; k >= 0; k--) {
			int v;

			if (n->b[i] != 1 || (v = dnsmsg_hexval(n->b[i + 1])) < 0)
				return -EINVAL;
			addr[k / 2] |= (uint8_t)(k % 2 ? v : v << 4);
			i += 2;
		}
		if (i != n->len - sizeof(dnsmsg_ip6_arpa))
			return -EINVAL;
		*alen = 16;
		return 0;
	}
	return -EINVAL;
}

/* Messages */

static void dnsmsg_header_read(const uint8_t *msg, struct dnsmsg_header *h)
{
	h->id = buf_load_be16(msg);
	h->flags = buf_load_be16(msg + 2);
	h->qdcount = buf_load_be16(msg + 4);
	h->ancount = buf_load_be16(msg + 6);
	h->nscount = buf_load_be16(msg + 8);
	h->arcount = buf_load_be16(msg + 10);
}

static enum dnsmsg_status dnsmsg_question_read(const uint8_t *msg, size_t len, size_t *off,
					       struct dnsmsg_question *q)
{
	enum dnsmsg_status s = dnsmsg_name_read(msg, len, off, &q->name);

	if (s != DNSMSG_OK)
		return s;
	if (len - *off < 4)
		return DNSMSG_E_SHORT;
	q->type = buf_load_be16(msg + *off);
	q->qclass = buf_load_be16(msg + *off + 2);
	*off += 4;
	return DNSMSG_OK;
}

/* One record's fixed part, after its owner name. */
struct dnsmsg_rr {
	size_t start; /* the owner name */
	bool root_owner;
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdata;
};

static enum dnsmsg_status dnsmsg_rr_read(const uint8_t *msg, size_t len, size_t *off,
					 struct dnsmsg_rr *rr)
{
	enum dnsmsg_status s;

	rr->start = *off;
	rr->root_owner = *off < len && msg[*off] == 0;
	if ((s = dnsmsg_name_read(msg, len, off, NULL)) != DNSMSG_OK)
		return s;
	if (len - *off < 10)
		return DNSMSG_E_SHORT;
	rr->type = buf_load_be16(msg + *off);
	rr->rclass = buf_load_be16(msg + *off + 2);
	rr->ttl = buf_load_be32(msg + *off + 4);
	rr->rdlen = buf_load_be16(msg + *off + 8);
	*off += 10;
	if (len - *off < rr->rdlen)
		return DNSMSG_E_SHORT;
	rr->rdata = *off;
	*off += rr->rdlen;
	return DNSMSG_OK;
}

/* An OPT record's fields and its option list (which must fill RDATA exactly). */
static enum dnsmsg_status dnsmsg_opt_read(const uint8_t *msg, const struct dnsmsg_rr *rr,
					  struct dnsmsg_edns *e)
{
	size_t o = rr->rdata, end = rr->rdata + rr->rdlen;

	if (e->present || !rr->root_owner)
		return DNSMSG_E_OPT;
	while (o < end) {
		uint16_t olen;

		if (end - o < 4)
			return DNSMSG_E_OPT;
		olen = buf_load_be16(msg + o + 2);
		if (end - o - 4 < olen)
			return DNSMSG_E_OPT;
		o += 4 + (size_t)olen;
	}
	e->present = true;
	e->udp_size = rr->rclass;
	e->ext_rcode = (uint8_t)(rr->ttl >> 24);
	e->version = (uint8_t)(rr->ttl >> 16);
	e->flags = (uint16_t)rr->ttl;
	e->off = rr->start;
	return DNSMSG_OK;
}

enum dnsmsg_status dnsmsg_query_parse(const uint8_t *msg, size_t len, struct dnsmsg_query *out)
{
	enum dnsmsg_status s;
	size_t off = DNSMSG_HDR_LEN;

	memset(out, 0, sizeof(*out));
	if (len < DNSMSG_HDR_LEN)
		return DNSMSG_E_SHORT;
	dnsmsg_header_read(msg, &out->h);
	if (out->h.flags & DNSMSG_F_QR)
		return DNSMSG_E_NOT_QUERY;
	if (out->h.qdcount != 1)
		return DNSMSG_E_QDCOUNT;
	if ((s = dnsmsg_question_read(msg, len, &off, &out->q)) != DNSMSG_OK)
		return s;
	out->has_question = true;
	if (out->h.ancount != 0 || out->h.nscount != 0)
		return DNSMSG_E_COUNTS;
	for (unsigned i = 0; i < out->h.arcount; i++) {
		struct dnsmsg_rr rr;

		if ((s = dnsmsg_rr_read(msg, len, &off, &rr)) != DNSMSG_OK)
			return s;
		if (rr.type == DNSMSG_T_OPT &&
		    (s = dnsmsg_opt_read(msg, &rr, &out->edns)) != DNSMSG_OK)
			return s;
	}
	return off == len ? DNSMSG_OK : DNSMSG_E_TRAILING;
}

/* SOA RDATA: two names and five 32-bit numbers, exactly. */
static enum dnsmsg_status dnsmsg_soa_minimum(const uint8_t *msg, const struct dnsmsg_rr *rr,
					     uint32_t *minimum)
{
	size_t end = rr->rdata + rr->rdlen, o = rr->rdata;

	/* Names inside RDATA may point back into the message, but not run past the RDATA. */
	if (dnsmsg_name_read(msg, end, &o, NULL) != DNSMSG_OK ||
	    dnsmsg_name_read(msg, end, &o, NULL) != DNSMSG_OK || end - o != 20)
		return DNSMSG_E_RDATA;
	*minimum = buf_load_be32(msg + o + 16);
	return DNSMSG_OK;
}

static uint32_t dnsmsg_ttl(uint32_t t)
{
	return t & 0x80000000U ? 0 : t; /* RFC 2181 8: a TTL with the top bit set is zero */
}

enum dnsmsg_status dnsmsg_reply_parse(const uint8_t *msg, size_t len, struct dnsmsg_reply *out)
{
	enum dnsmsg_status s;
	size_t off = DNSMSG_HDR_LEN;
	unsigned counts[3], total, k = 0;

	memset(out, 0, sizeof(*out));
	out->min_ttl = UINT32_MAX;
	if (len < DNSMSG_HDR_LEN)
		return DNSMSG_E_SHORT;
	dnsmsg_header_read(msg, &out->h);
	if (!(out->h.flags & DNSMSG_F_QR))
		return DNSMSG_E_NOT_QUERY;
	if (out->h.qdcount > 1 || (out->h.qdcount == 0 && (out->h.flags & DNSMSG_RCODE_MASK) == 0))
		return DNSMSG_E_QDCOUNT;
	if (out->h.qdcount == 1) {
		if ((s = dnsmsg_question_read(msg, len, &off, &out->q)) != DNSMSG_OK)
			return s;
		out->has_question = true;
	}
	counts[0] = out->h.ancount;
	counts[1] = out->h.nscount;
	counts[2] = out->h.arcount;
	total = counts[0] + counts[1] + counts[2];
	for (unsigned sec = 0; sec < 3; sec++) {
		for (unsigned i = 0; i < counts[sec]; i++, k++) {
			struct dnsmsg_rr rr;
			uint32_t ttl, minimum;

			if ((s = dnsmsg_rr_read(msg, len, &off, &rr)) != DNSMSG_OK)
				return s;
			if (rr.type == DNSMSG_T_OPT) {
				if (sec != DNSMSG_ADDITIONAL)
					return DNSMSG_E_OPT;
				if ((s = dnsmsg_opt_read(msg, &rr, &out->edns)) != DNSMSG_OK)
					return s;
				if (k != total - 1)
					return DNSMSG_E_OPT_LAST;
				continue;
			}
			ttl = dnsmsg_ttl(rr.ttl);
			if (ttl < out->min_ttl)
				out->min_ttl = ttl;
			if (sec == DNSMSG_AUTHORITY && rr.type == DNSMSG_T_SOA && !out->has_soa) {
				if ((s = dnsmsg_soa_minimum(msg, &rr, &minimum)) != DNSMSG_OK)
					return s;
				out->has_soa = true;
				out->soa_ttl = ttl < minimum ? ttl : minimum;
			}
		}
	}
	if (off != len)
		return DNSMSG_E_TRAILING;
	out->end = out->edns.present ? out->edns.off : len;
	out->rcode = (out->h.flags & DNSMSG_RCODE_MASK) | (unsigned)out->edns.ext_rcode << 4;
	return DNSMSG_OK;
}

/* Building */

static void dnsmsg_header_write(uint8_t *p, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
				uint16_t ns, uint16_t ar)
{
	buf_store_be16(p, id);
	buf_store_be16(p + 2, flags);
	buf_store_be16(p + 4, qd);
	buf_store_be16(p + 6, an);
	buf_store_be16(p + 8, ns);
	buf_store_be16(p + 10, ar);
}

static void dnsmsg_opt_write(uint8_t *p, uint16_t udp, uint8_t ext_rcode, uint16_t flags)
{
	p[0] = 0;
	buf_store_be16(p + 1, DNSMSG_T_OPT);
	buf_store_be16(p + 3, udp);
	p[5] = ext_rcode;
	p[6] = 0; /* version */
	buf_store_be16(p + 7, flags);
	buf_store_be16(p + 9, 0);
}

int dnsmsg_query_build(uint8_t *out, size_t cap, uint16_t id, uint16_t flags,
		       const struct dnsmsg_question *q, bool edns, uint16_t udp_size,
		       bool dnssec_ok)
{
	size_t len = DNSMSG_HDR_LEN + q->name.len + 4 + (edns ? DNSMSG_OPT_LEN : 0);
	uint8_t *p = out + DNSMSG_HDR_LEN;

	if (len > cap)
		return -ENOSPC;
	dnsmsg_header_write(out, id, flags & (DNSMSG_F_RD | DNSMSG_F_CD), 1, 0, 0, edns ? 1 : 0);
	memcpy(p, q->name.b, q->name.len);
	p += q->name.len;
	buf_store_be16(p, q->type);
	buf_store_be16(p + 2, q->qclass);
	if (edns)
		dnsmsg_opt_write(p + 4, udp_size, 0, dnssec_ok ? DNSMSG_EDNS_DO : 0);
	return (int)len;
}

size_t dnsmsg_query_limit(const struct dnsmsg_query *q, uint16_t ours)
{
	size_t want;

	if (!q->edns.present)
		return DNSMSG_UDP_MIN;
	want = q->edns.udp_size < ours ? q->edns.udp_size : ours;
	return want < DNSMSG_UDP_MIN ? DNSMSG_UDP_MIN : want;
}

int dnsmsg_answer_begin(struct dnsmsg_answer *a, uint8_t *buf, size_t cap, size_t limit,
			const struct dnsmsg_query *q, uint16_t flags, unsigned rcode,
			uint16_t edns_udp)
{
	size_t qlen = q->has_question ? (size_t)q->q.name.len + 4 : 0;
	uint16_t f;

	memset(a, 0, sizeof(*a));
	a->edns = q->edns.present && edns_udp != 0;
	if (cap < DNSMSG_HDR_LEN + qlen + (a->edns ? DNSMSG_OPT_LEN : 0))
		return -ENOSPC;
	a->p = buf;
	a->cap = cap;
	a->limit = limit < cap ? limit : cap;
	a->edns_udp = edns_udp;
	a->edns_flags = q->edns.flags & DNSMSG_EDNS_DO;
	a->ext_rcode = (uint8_t)(rcode >> 4);
	f = (uint16_t)(DNSMSG_F_QR | DNSMSG_F_RA | (q->h.flags & DNSMSG_OPCODE_MASK) |
		       (q->h.flags & (DNSMSG_F_RD | DNSMSG_F_CD)) | (flags & DNSMSG_F_AA) |
		       (rcode & DNSMSG_RCODE_MASK));
	dnsmsg_header_write(buf, q->h.id, f, q->has_question ? 1 : 0, 0, 0, 0);
	a->len = DNSMSG_HDR_LEN;
	if (q->has_question) {
		memcpy(buf + a->len, q->q.name.b, q->q.name.len);
		a->len += q->q.name.len;
		buf_store_be16(buf + a->len, q->q.type);
		buf_store_be16(buf + a->len + 2, q->q.qclass);
		a->len += 4;
	}
	a->rr_start = a->len;
	return 0;
}

void dnsmsg_answer_add(struct dnsmsg_answer *a, enum dnsmsg_section s, uint16_t type, uint32_t ttl,
		       const uint8_t *rdata, uint16_t rdlen)
{
	size_t need = 12 + (size_t)rdlen, opt = a->edns ? DNSMSG_OPT_LEN : 0;
	uint8_t *p;

	if (a->overflow || a->rr_start == DNSMSG_HDR_LEN) /* no question to point at */
		return;
	if (a->len + need + opt > a->limit) {
		a->overflow = true;
		return;
	}
	p = a->p + a->len;
	buf_store_be16(p, 0xc000 | DNSMSG_HDR_LEN);
	buf_store_be16(p + 2, type);
	buf_store_be16(p + 4, DNSMSG_C_IN);
	buf_store_be32(p + 6, ttl);
	buf_store_be16(p + 10, rdlen);
	memcpy(p + 12, rdata, rdlen);
	a->len += need;
	a->counts[s]++;
}

size_t dnsmsg_answer_finish(struct dnsmsg_answer *a)
{
	uint16_t flags = buf_load_be16(a->p + 2);

	if (a->overflow) {
		a->len = a->rr_start;
		memset(a->counts, 0, sizeof(a->counts));
		flags |= DNSMSG_F_TC;
		buf_store_be16(a->p + 2, flags);
	}
	if (a->edns) {
		dnsmsg_opt_write(a->p + a->len, a->edns_udp, a->ext_rcode, a->edns_flags);
		a->len += DNSMSG_OPT_LEN;
		a->counts[DNSMSG_ADDITIONAL]++;
	}
	buf_store_be16(a->p + 6, a->counts[0]);
	buf_store_be16(a->p + 8, a->counts[1]);
	buf_store_be16(a->p + 10, a->counts[2]);
	return a->len;
}

void dnsmsg_reply_ttls(uint8_t *msg, size_t len, uint32_t age, uint32_t max)
{
	size_t off = DNSMSG_HDR_LEN;
	unsigned qd, n;

	if (len < DNSMSG_HDR_LEN)
		return;
	qd = buf_load_be16(msg + 4);
	n = (unsigned)buf_load_be16(msg + 6) + buf_load_be16(msg + 8) + buf_load_be16(msg + 10);
	if (qd == 1) {
		if (dnsmsg_name_read(msg, len, &off, NULL) != DNSMSG_OK || len - off < 4)
			return;
		off += 4;
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t ttl;

		if (dnsmsg_name_read(msg, len, &off, NULL) != DNSMSG_OK || len - off < 10)
			return;
		ttl = dnsmsg_ttl(buf_load_be32(msg + off + 4));
		if (ttl > max)
			ttl = max;
		buf_store_be32(msg + off + 4, ttl > age ? ttl - age : 0);
		off += 10;
		if (len - off < buf_load_be16(msg + off - 2))
			return;
		off += buf_load_be16(msg + off - 2);
	}
}

int dnsmsg_reply_readdress(const uint8_t *src, const struct dnsmsg_reply *r,
			   const struct dnsmsg_query *q, uint32_t age, size_t limit,
			   uint16_t edns_udp, uint8_t *out, size_t cap)
{
	bool edns = q->edns.present && edns_udp != 0;
	size_t opt = edns ? DNSMSG_OPT_LEN : 0, n = r->end;
	size_t qend = DNSMSG_HDR_LEN + (r->has_question ? (size_t)r->q.name.len + 4 : 0);
	uint16_t flags, an = r->h.ancount, ns = r->h.nscount;
	uint16_t ar = (uint16_t)(r->h.arcount - (r->edns.present ? 1 : 0));
	bool cut = n + opt > limit;

	if (cut) {
		n = qend;
		an = ns = ar = 0;
	}
	if (n + opt > cap)
		return -ENOSPC;
	memcpy(out, src, n);
	flags = (uint16_t)(DNSMSG_F_QR | DNSMSG_F_RA | (r->h.flags & DNSMSG_F_TC) |
			   (q->h.flags & (DNSMSG_F_RD | DNSMSG_F_CD)) |
			   (r->rcode & DNSMSG_RCODE_MASK));
	if ((r->h.flags & DNSMSG_F_AD) &&
	    ((q->h.flags & DNSMSG_F_AD) || (q->edns.flags & DNSMSG_EDNS_DO)))
		flags |= DNSMSG_F_AD;
	if (cut)
		flags |= DNSMSG_F_TC;
	dnsmsg_header_write(out, q->h.id, flags, r->has_question ? 1 : 0, an, ns, ar);
	if (r->has_question && q->has_question && q->q.name.len == r->q.name.len)
		memcpy(out + DNSMSG_HDR_LEN, q->q.name.b, q->q.name.len);
	if (age > 0 && !cut)
		dnsmsg_reply_ttls(out, n, age, UINT32_MAX);
	if (edns) {
		dnsmsg_opt_write(out + n, edns_udp, (uint8_t)(r->rcode >> 4),
				 q->edns.flags & DNSMSG_EDNS_DO);
		n += DNSMSG_OPT_LEN;
		buf_store_be16(out + 10, (uint16_t)(ar + 1));
	}
	return (int)n;
}
