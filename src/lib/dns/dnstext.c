/* SPDX-License-Identifier: ISC */
/* dnstext: names of types and RCODEs, a record walk, RDATA as text (see dnstext.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/netaddr.h"
#include "core/numparse.h"
#include "dns/dnstext.h"

struct dnstext_name {
	uint16_t v;
	const char *s;
};

static const struct dnstext_name dnstext_types[] = {
	{ 1, "A" },	   { 2, "NS" },	      { 5, "CNAME" },	{ 6, "SOA" },	  { 12, "PTR" },
	{ 13, "HINFO" },   { 15, "MX" },      { 16, "TXT" },	{ 28, "AAAA" },	  { 33, "SRV" },
	{ 35, "NAPTR" },   { 39, "DNAME" },   { 41, "OPT" },	{ 43, "DS" },	  { 46, "RRSIG" },
	{ 47, "NSEC" },	   { 48, "DNSKEY" },  { 50, "NSEC3" },	{ 52, "TLSA" },	  { 64, "SVCB" },
	{ 65, "HTTPS" },   { 99, "SPF" },     { 249, "TKEY" },	{ 250, "TSIG" },  { 251, "IXFR" },
	{ 252, "AXFR" },   { 253, "MAILB" },  { 254, "MAILA" }, { 255, "ANY" },	  { 257, "CAA" },
};

static const char *const dnstext_rcodes[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",	 "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI",
};

int dnstext_type_parse(const char *s, uint16_t *type)
{
	uint32_t v;

	for (size_t i = 0; i < sizeof(dnstext_types) / sizeof(dnstext_types[0]); i++) {
		if (strcasecmp(s, dnstext_types[i].s) == 0) {
			*type = dnstext_types[i].v;
			return 0;
		}
	}
	if (strncasecmp(s, "TYPE", 4) == 0)
		s += 4;
	if (numparse_u32(s, 1, 65535, &v) < 0)
		return -EINVAL;
	*type = (uint16_t)v;
	return 0;
}

const char *dnstext_type_name(uint16_t type, char *buf, size_t cap)
{
	for (size_t i = 0; i < sizeof(dnstext_types) / sizeof(dnstext_types[0]); i++)
		if (dnstext_types[i].v == type)
			return dnstext_types[i].s;
	snprintf(buf, cap, "TYPE%u", type);
	return buf;
}

const char *dnstext_class_name(uint16_t c, char *buf, size_t cap)
{
	switch (c) {
	case DNSMSG_C_IN:
		return "IN";
	case DNSMSG_C_CH:
		return "CH";
	case DNSMSG_C_ANY:
		return "ANY";
	default:
		snprintf(buf, cap, "CLASS%u", c);
		return buf;
	}
}

const char *dnstext_rcode_name(unsigned rcode, char *buf, size_t cap)
{
	if (rcode < sizeof(dnstext_rcodes) / sizeof(dnstext_rcodes[0]))
		return dnstext_rcodes[rcode];
	if (rcode == DNSMSG_R_BADVERS)
		return "BADVERS";
	snprintf(buf, cap, "RCODE%u", rcode);
	return buf;
}

enum dnsmsg_status dnstext_iter_init(struct dnstext_iter *it, const uint8_t *msg, size_t len,
				     struct dnsmsg_header *h, struct dnsmsg_question *q, bool *has_q)
{
	enum dnsmsg_status s;

	memset(it, 0, sizeof(*it));
	memset(h, 0, sizeof(*h));
	*has_q = false;
	if (len < DNSMSG_HDR_LEN)
		return DNSMSG_E_SHORT;
	h->id = buf_load_be16(msg);
	h->flags = buf_load_be16(msg + 2);
	h->qdcount = buf_load_be16(msg + 4);
	h->ancount = buf_load_be16(msg + 6);
	h->nscount = buf_load_be16(msg + 8);
	h->arcount = buf_load_be16(msg + 10);
	if (h->qdcount > 1)
		return DNSMSG_E_QDCOUNT;
	it->msg = msg;
	it->len = len;
	it->off = DNSMSG_HDR_LEN;
	if (h->qdcount == 1) {
		if ((s = dnsmsg_name_read(msg, len, &it->off, &q->name)) != DNSMSG_OK)
			return s;
		if (len - it->off < 4)
			return DNSMSG_E_SHORT;
		q->type = buf_load_be16(msg + it->off);
		q->qclass = buf_load_be16(msg + it->off + 2);
		it->off += 4;
		*has_q = true;
	}
	it->counts[0] = h->ancount;
	it->counts[1] = h->nscount;
	it->counts[2] = h->arcount;
	return DNSMSG_OK;
}

enum dnsmsg_status dnstext_iter_next(struct dnstext_iter *it, struct dnstext_rr *rr, bool *done)
{
	enum dnsmsg_status s;

	*done = false;
	while (it->sec < 3 && it->i >= it->counts[it->sec]) {
		it->sec++;
		it->i = 0;
	}
	if (it->sec == 3) {
		*done = true;
		return it->off == it->len ? DNSMSG_OK : DNSMSG_E_TRAILING;
	}
	rr->section = (enum dnsmsg_section)it->sec;
	if ((s = dnsmsg_name_read(it->msg, it->len, &it->off, &rr->owner)) != DNSMSG_OK)
		return s;
	if (it->len - it->off < 10)
		return DNSMSG_E_SHORT;
	rr->type = buf_load_be16(it->msg + it->off);
	rr->rclass = buf_load_be16(it->msg + it->off + 2);
	rr->ttl = buf_load_be32(it->msg + it->off + 4);
	rr->rdlen = buf_load_be16(it->msg + it->off + 8);
	it->off += 10;
	if (it->len - it->off < rr->rdlen)
		return DNSMSG_E_SHORT;
	rr->rdata = it->off;
	it->off += rr->rdlen;
	it->i++;
	return DNSMSG_OK;
}

/* An output cursor that records truncation. */
struct dnstext_out {
	char *p;
	size_t cap, len;
	bool cut;
};

static void dnstext_put(struct dnstext_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void dnstext_put(struct dnstext_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->cut)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->cut = true;
		o->len = o->cap - 1;
		return;
	}
	o->len += (size_t)n;
}

/* A name inside RDATA: may point back into the message, must not run past end. */
static bool dnstext_put_name(struct dnstext_out *o, const uint8_t *msg, size_t end, size_t *off)
{
	struct dnsmsg_name n;
	char text[DNSMSG_TEXT_MAX];

	if (dnsmsg_name_read(msg, end, off, &n) != DNSMSG_OK)
		return false;
	dnstext_put(o, "%s", dnsmsg_name_to_text(&n, text, sizeof(text)));
	return true;
}

/* TXT: character-strings, quoted, with " \ and non-printing bytes escaped. */
static bool dnstext_put_txt(struct dnstext_out *o, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t l = p[i++];
		if (l > n - i)
			return false;
		dnstext_put(o, "%s\"", o->len > 0 ? " " : "");
		for (size_t k = 0; k < l; k++, i++) {
			uint8_t c = p[i];
			if (c == '"' || c == '\\')
				dnstext_put(o, "\\%c", c);
			else if (c < 0x20 || c > 0x7e)
				dnstext_put(o, "\\%03u", c);
			else
				dnstext_put(o, "%c", c);
		}
		dnstext_put(o, "\"");
	}
	return true;
}

static void dnstext_put_unknown(struct dnstext_out *o, const uint8_t *p, size_t n)
{
	dnstext_put(o, "\\# %zu%s", n, n > 0 ? " " : "");
	for (size_t i = 0; i < n; i++)
		dnstext_put(o, "%02x", p[i]);
}

static bool dnstext_typed(struct dnstext_out *o, const uint8_t *msg, const struct dnstext_rr *rr)
{
	size_t off = rr->rdata, end = rr->rdata + rr->rdlen;
	const uint8_t *p = msg + off;
	char a[NETADDR_STRLEN];
	struct netaddr na;

	switch (rr->type) {
	case DNSMSG_T_A:
	case DNSMSG_T_AAAA:
		if (rr->rdlen != (rr->type == DNSMSG_T_A ? 4 : 16))
			return false;
		if (rr->type == DNSMSG_T_A)
			netaddr_from_v4(&na, p);
		else
			netaddr_from_v6(&na, p);
		dnstext_put(o, "%s", netaddr_format(&na, a, sizeof(a)));
		return true;
	case DNSMSG_T_NS:
	case DNSMSG_T_CNAME:
	case DNSMSG_T_PTR:
		return dnstext_put_name(o, msg, end, &off) && off == end;
	case DNSMSG_T_MX:
		if (rr->rdlen < 3)
			return false;
		dnstext_put(o, "%u ", buf_load_be16(p));
		off += 2;
		return dnstext_put_name(o, msg, end, &off) && off == end;
	case DNSMSG_T_SRV:
		if (rr->rdlen < 7)
			return false;
		dnstext_put(o, "%u %u %u ", buf_load_be16(p), buf_load_be16(p + 2),
			    buf_load_be16(p + 4));
		off += 6;
		return dnstext_put_name(o, msg, end, &off) && off == end;
	case DNSMSG_T_SOA:
		if (!dnstext_put_name(o, msg, end, &off))
			return false;
		dnstext_put(o, " ");
		if (!dnstext_put_name(o, msg, end, &off) || end - off != 20)
			return false;
		p = msg + off;
		dnstext_put(o, " %u %u %u %u %u", buf_load_be32(p), buf_load_be32(p + 4),
			    buf_load_be32(p + 8), buf_load_be32(p + 12), buf_load_be32(p + 16));
		return true;
	case DNSMSG_T_TXT:
		return rr->rdlen > 0 && dnstext_put_txt(o, p, rr->rdlen);
	default:
		dnstext_put_unknown(o, p, rr->rdlen);
		return true;
	}
}

int dnstext_rdata(const uint8_t *msg, size_t len, const struct dnstext_rr *rr, char *buf,
		  size_t cap)
{
	struct dnstext_out o = { .p = buf, .cap = cap };

	if (cap == 0)
		return -ENOSPC;
	buf[0] = '\0';
	if (rr->rdata > len || len - rr->rdata < rr->rdlen) {
		return -EBADMSG;
	}
	if (!dnstext_typed(&o, msg, rr)) {
		o = (struct dnstext_out){ .p = buf, .cap = cap };
		buf[0] = '\0';
		dnstext_put_unknown(&o, msg + rr->rdata, rr->rdlen);
		return -EBADMSG;
	}
	return o.cut ? -ENOSPC : 0;
}
