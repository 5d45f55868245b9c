/* SPDX-License-Identifier: ISC */
/* netaddr: addresses, prefixes and endpoints as values (see netaddr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/netaddr.h"
#include "core/numparse.h"

const struct netprefix netaddr_cgnat_prefix = {
	.addr = { .family = NETADDR_V4, .a = { 100, 64 } },
	.bits = 10,
};
const struct netprefix netaddr_ula_prefix = {
	.addr = { .family = NETADDR_V6, .a = { 0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0 } },
	.bits = 48,
};

void netaddr_from_v4(struct netaddr *a, const uint8_t b[static 4])
{
	memset(a, 0, sizeof(*a));
	a->family = NETADDR_V4;
	memcpy(a->a, b, 4);
}

void netaddr_from_v6(struct netaddr *a, const uint8_t b[static 16])
{
	memset(a, 0, sizeof(*a));
	a->family = NETADDR_V6;
	memcpy(a->a, b, 16);
}

int netaddr_parse(const char *s, struct netaddr *out)
{
	uint8_t b[16];

	if (s == NULL)
		return -EINVAL;
	/* inet_pton accepts only dotted quads for AF_INET: no octal, no short forms. */
	if (inet_pton(AF_INET, s, b) == 1) {
		netaddr_from_v4(out, b);
		return 0;
	}
	if (inet_pton(AF_INET6, s, b) == 1) {
		netaddr_from_v6(out, b);
		return 0;
	}
	return -EINVAL;
}

char *netaddr_format(const struct netaddr *a, char *buf, size_t len)
{
	int af = a->family == NETADDR_V4 ? AF_INET : AF_INET6;

	if (a->family == NETADDR_NONE || inet_ntop(af, a->a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "invalid");
	return buf;
}

int netaddr_cmp(const struct netaddr *a, const struct netaddr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->a, b->a, 16);
}

bool netaddr_eq(const struct netaddr *a, const struct netaddr *b)
{
	return netaddr_cmp(a, b) == 0;
}

bool netaddr_is_unspecified(const struct netaddr *a)
{
	static const uint8_t zero[16];

	return a->family == NETADDR_NONE || memcmp(a->a, zero, 16) == 0;
}

void netaddr_unmap(struct netaddr *a)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t v4[4];

	if (a->family == NETADDR_V6 && memcmp(a->a, prefix, 12) == 0) {
		memcpy(v4, a->a + 12, 4);
		netaddr_from_v4(a, v4);
	}
}

void netaddr_add(struct netaddr *a, uint64_t n)
{
	int i = (int)netaddr_len(a) - 1;
	unsigned carry = 0;

	for (; i >= 0 && (n != 0 || carry != 0); i--) {
		unsigned v = a->a[i] + (unsigned)(n & 0xff) + carry;
		a->a[i] = (uint8_t)v;
		carry = v >> 8;
		n >>= 8;
	}
}

static void netaddr_mask(struct netaddr *a, unsigned bits)
{
	size_t len = netaddr_len(a);

	for (size_t i = 0; i < len; i++) {
		if (bits >= 8) {
			bits -= 8;
			continue;
		}
		a->a[i] &= (uint8_t)(0xff00u >> bits);
		bits = 0;
	}
}

int netprefix_make(struct netprefix *p, const struct netaddr *a, unsigned bits)
{
	if (a->family == NETADDR_NONE || bits > netaddr_bits(a))
		return -EINVAL;
	p->addr = *a;
	p->bits = (uint8_t)bits;
	netaddr_mask(&p->addr, bits);
	return 0;
}

static int netprefix_parse_common(const char *s, struct netprefix *out, bool loose)
{
	char tmp[NETPREFIX_STRLEN];
	struct netaddr a;
	const char *slash;
	uint32_t bits;
	size_t alen;

	if (s == NULL || strlen(s) >= sizeof(tmp))
		return -EINVAL;
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	if (netaddr_parse(tmp, &a) < 0)
		return -EINVAL;
	if (slash == NULL) {
		bits = netaddr_bits(&a);
	} else if (numparse_u32(slash + 1, 0, netaddr_bits(&a), &bits) < 0) {
		return -ERANGE;
	} else if (slash[1] == '0' && slash[2] != '\0') {
		return -EINVAL; /* "/08": leading zeros are ambiguous */
	}
	if (netprefix_make(out, &a, bits) < 0)
		return -EINVAL;
	if (!loose && !netaddr_eq(&out->addr, &a))
		return -EDOM; /* host bits set */
	return 0;
}

int netprefix_parse(const char *s, struct netprefix *out)
{
	return netprefix_parse_common(s, out, false);
}

int netprefix_parse_loose(const char *s, struct netprefix *out)
{
	return netprefix_parse_common(s, out, true);
}

char *netprefix_format(const struct netprefix *p, char *buf, size_t len)
{
	char a[NETADDR_STRLEN];

	snprintf(buf, len, "%s/%u", netaddr_format(&p->addr, a, sizeof(a)), p->bits);
	return buf;
}

bool netprefix_contains(const struct netprefix *p, const struct netaddr *a)
{
	struct netaddr m;

	if (p->addr.family != a->family)
		return false;
	m = *a;
	netaddr_mask(&m, p->bits);
	return memcmp(m.a, p->addr.a, 16) == 0;
}

bool netprefix_overlaps(const struct netprefix *p, const struct netprefix *q)
{
	if (p->addr.family != q->addr.family)
		return false;
	return p->bits <= q->bits ? netprefix_contains(p, &q->addr)
				  : netprefix_contains(q, &p->addr);
}

bool netprefix_eq(const struct netprefix *p, const struct netprefix *q)
{
	return p->bits == q->bits && netaddr_eq(&p->addr, &q->addr);
}

int netendpoint_parse(const char *s, struct netendpoint *out)
{
	char tmp[NETADDR_STRLEN];
	const char *colon, *host = s;
	size_t hlen;
	uint32_t port;

	if (s == NULL)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -EINVAL;
		host = s + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -EINVAL;
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen) != NULL)
			return -EINVAL; /* bare IPv6 needs brackets */
	}
	if (hlen == 0 || hlen >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, host, hlen);
	tmp[hlen] = '\0';
	if (netaddr_parse(tmp, &out->addr) < 0)
		return -EINVAL;
	if (s[0] == '[' && out->addr.family != NETADDR_V6)
		return -EINVAL;
	if (numparse_u32(colon + 1, 0, 65535, &port) < 0)
		return -EINVAL;
	out->port = (uint16_t)port;
	return 0;
}

char *netendpoint_format(const struct netendpoint *e, char *buf, size_t len)
{
	char a[NETADDR_STRLEN];

	netaddr_format(&e->addr, a, sizeof(a));
	if (e->addr.family == NETADDR_V6)
		snprintf(buf, len, "[%s]:%u", a, e->port);
	else
		snprintf(buf, len, "%s:%u", a, e->port);
	return buf;
}

bool netendpoint_eq(const struct netendpoint *a, const struct netendpoint *b)
{
	return a->port == b->port && netaddr_eq(&a->addr, &b->addr);
}

socklen_t netendpoint_to_sockaddr(const struct netendpoint *e, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (e->addr.family == NETADDR_V4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(e->port);
		memcpy(&sin->sin_addr, e->addr.a, 4);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(e->port);
		memcpy(&sin6->sin6_addr, e->addr.a, 16);
		return sizeof(*sin6);
	}
}

int netendpoint_from_sockaddr(struct netendpoint *e, const struct sockaddr *sa, socklen_t len)
{
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		netaddr_from_v4(&e->addr, (const uint8_t *)&sin->sin_addr);
		e->port = ntohs(sin->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		netaddr_from_v6(&e->addr, (const uint8_t *)&sin6->sin6_addr);
		netaddr_unmap(&e->addr);
		e->port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

bool netaddr_is_tailnet(const struct netaddr *a)
{
	return netprefix_contains(&netaddr_cgnat_prefix, a) ||
	       netprefix_contains(&netaddr_ula_prefix, a);
}
