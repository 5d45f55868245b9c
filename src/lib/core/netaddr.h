/* SPDX-License-Identifier: ISC */
/*
 * netaddr: IPv4/IPv6 addresses, prefixes and ip:port endpoints as plain
 * values: parse, format, compare, mask, contain, and convert to and from
 * sockaddr. Also the tailnet ranges (CGNAT 100.64.0.0/10, fd7a:115c:a1e0::/48).
 */
#ifndef WEFT_CORE_NETADDR_H
#define WEFT_CORE_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum netaddr_family {
	NETADDR_NONE = 0,
	NETADDR_V4 = 4,
	NETADDR_V6 = 6,
};

/* An IPv4 address uses bytes a[0..3]; the rest are zero, so memcmp works. */
struct netaddr {
	uint8_t family;
	uint8_t a[16];
};

struct netprefix {
	struct netaddr addr; /* always masked to bits */
	uint8_t bits;
};

struct netendpoint {
	struct netaddr addr;
	uint16_t port;
};

/* Longest text forms, including the terminator. */
#define NETADDR_STRLEN 46
#define NETPREFIX_STRLEN 50
#define NETENDPOINT_STRLEN 54

static inline unsigned netaddr_bits(const struct netaddr *a)
{
	return a->family == NETADDR_V4 ? 32 : 128;
}
static inline size_t netaddr_len(const struct netaddr *a)
{
	return a->family == NETADDR_V4 ? 4 : 16;
}

void netaddr_from_v4(struct netaddr *a, const uint8_t b[static 4]);
void netaddr_from_v6(struct netaddr *a, const uint8_t b[static 16]);
/* "100.64.0.1" or "fd7a::1" (no zone, no brackets). */
int netaddr_parse(const char *s, struct netaddr *out) __attribute__((warn_unused_result));
/* Writes at most NETADDR_STRLEN bytes; returns buf. */
char *netaddr_format(const struct netaddr *a, char *buf, size_t len);
int netaddr_cmp(const struct netaddr *a, const struct netaddr *b);
bool netaddr_eq(const struct netaddr *a, const struct netaddr *b);
bool netaddr_is_unspecified(const struct netaddr *a);
/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes the plain IPv4 address. */
void netaddr_unmap(struct netaddr *a);
/* a + n within its family (wraps); used by address allocation. */
void netaddr_add(struct netaddr *a, uint64_t n);

/* "10.0.0.0/8"; a bare address is a /32 or /128. Host bits must be zero unless `loose`. */
int netprefix_parse(const char *s, struct netprefix *out) __attribute__((warn_unused_result));
int netprefix_parse_loose(const char *s, struct netprefix *out) __attribute__((warn_unused_result));
char *netprefix_format(const struct netprefix *p, char *buf, size_t len);
/* Builds a prefix from any address, masking host bits. -EINVAL if bits too long. */
int netprefix_make(struct netprefix *p, const struct netaddr *a, unsigned bits);
bool netprefix_contains(const struct netprefix *p, const struct netaddr *a);
bool netprefix_overlaps(const struct netprefix *p, const struct netprefix *q);
bool netprefix_eq(const struct netprefix *p, const struct netprefix *q);

/* "1.2.3.4:5" or "[::1]:5". */
int netendpoint_parse(const char *s, struct netendpoint *out) __attribute__((warn_unused_result));
char *netendpoint_format(const struct netendpoint *e, char *buf, size_t len);
bool netendpoint_eq(const struct netendpoint *a, const struct netendpoint *b);
/* Fills ss and returns its length (sizeof sockaddr_in or sockaddr_in6). */
socklen_t netendpoint_to_sockaddr(const struct netendpoint *e, struct sockaddr_storage *ss);
/* -EAFNOSUPPORT for families other than AF_INET/AF_INET6. v4-mapped v6 is unmapped. */
int netendpoint_from_sockaddr(struct netendpoint *e, const struct sockaddr *sa, socklen_t len);

/* Tailnet ranges. */
extern const struct netprefix netaddr_cgnat_prefix; /* 100.64.0.0/10 */
extern const struct netprefix netaddr_ula_prefix;   /* fd7a:115c:a1e0::/48 */
bool netaddr_is_tailnet(const struct netaddr *a);

#endif
