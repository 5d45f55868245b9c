/* SPDX-License-Identifier: ISC */
/*
 * dnsmsg: a strict DNS message codec (RFC 1035, 6891) for a responder that
 * faces untrusted clients and upstreams: names decoded with the 255/63 limits
 * and only backward compression pointers (so loops cannot exist), exact
 * counts, no trailing bytes, one OPT at most; answers built with the owner
 * compressed to the question, EDNS0 echoed and TC set when a reply exceeds
 * the client's size; cached upstream replies re-addressed without re-encoding.
 */
#ifndef WEFT_DNS_DNSMSG_H
#define WEFT_DNS_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSMSG_HDR_LEN 12
#define DNSMSG_NAME_MAX 255 /* wire form, including the root label */
#define DNSMSG_LABEL_MAX 63
#define DNSMSG_TEXT_MAX 1024 /* longest text form (every byte escaped as \DDD) + NUL */
#define DNSMSG_UDP_MIN 512   /* what a client without EDNS0 can take */
#define DNSMSG_MSG_MAX 65535 /* TCP */
#define DNSMSG_OPT_LEN 11    /* an OPT RR without options */

enum dnsmsg_type {
	DNSMSG_T_A = 1,
	DNSMSG_T_NS = 2,
	DNSMSG_T_CNAME = 5,
	DNSMSG_T_SOA = 6,
	DNSMSG_T_PTR = 12,
	DNSMSG_T_MX = 15,
	DNSMSG_T_TXT = 16,
	DNSMSG_T_AAAA = 28,
	DNSMSG_T_SRV = 33,
	DNSMSG_T_OPT = 41,
	DNSMSG_T_TKEY = 249,
	DNSMSG_T_TSIG = 250,
	DNSMSG_T_IXFR = 251,
	DNSMSG_T_AXFR = 252,
	DNSMSG_T_MAILB = 253,
	DNSMSG_T_MAILA = 254,
	DNSMSG_T_ANY = 255,
};

enum dnsmsg_class {
	DNSMSG_C_IN = 1,
	DNSMSG_C_CH = 3,
	DNSMSG_C_ANY = 255,
};

/* RCODEs; BADVERS needs the OPT's extended bits (16 = 1 << 4 | 0). */
enum dnsmsg_rcode {
	DNSMSG_R_NOERROR = 0,
	DNSMSG_R_FORMERR = 1,
	DNSMSG_R_SERVFAIL = 2,
	DNSMSG_R_NXDOMAIN = 3,
	DNSMSG_R_NOTIMP = 4,
	DNSMSG_R_REFUSED = 5,
	DNSMSG_R_BADVERS = 16,
};

/* Header flag bits (the 16-bit word after the ID). */
enum {
	DNSMSG_F_QR = 1U << 15,
	DNSMSG_F_AA = 1U << 10,
	DNSMSG_F_TC = 1U << 9,
	DNSMSG_F_RD = 1U << 8,
	DNSMSG_F_RA = 1U << 7,
	DNSMSG_F_AD = 1U << 5,
	DNSMSG_F_CD = 1U << 4,
	DNSMSG_OPCODE_SHIFT = 11,
	DNSMSG_OPCODE_MASK = 0xfU << 11,
	DNSMSG_RCODE_MASK = 0xfU,
	DNSMSG_OPCODE_QUERY = 0,
	DNSMSG_EDNS_DO = 1U << 15, /* in the OPT's flags */
};

/* Why a message was refused. */
enum dnsmsg_status {
	DNSMSG_OK = 0,
	DNSMSG_E_SHORT,	    /* ends inside the header, a name, a question or a record */
	DNSMSG_E_LABEL,	    /* label type 0x40/0x80 or a label over 63 bytes */
	DNSMSG_E_NAMELEN,   /* decoded name over 255 bytes */
	DNSMSG_E_POINTER,   /* pointer not strictly backwards (this is how loops are refused) */
	DNSMSG_E_QDCOUNT,   /* not exactly one question */
	DNSMSG_E_COUNTS,    /* answers or authority records in a query */
	DNSMSG_E_TRAILING,  /* bytes after the last record */
	DNSMSG_E_OPT,	    /* OPT malformed, duplicated, not root-owned or outside additional */
	DNSMSG_E_OPT_LAST,  /* a reply whose OPT is not its last record */
	DNSMSG_E_NOT_QUERY, /* QR set where a query was expected, or clear in a reply */
	DNSMSG_E_RDATA,	    /* RDATA that must parse (SOA) does not */
	DNSMSG_STATUS_COUNT
};

const char *dnsmsg_status_str(enum dnsmsg_status s);

/* A name in uncompressed wire form: labels with length prefixes, ending in the root 0. */
struct dnsmsg_name {
	uint8_t len;	/* bytes in b, 1..255 */
	uint8_t labels; /* not counting the root */
	uint8_t b[DNSMSG_NAME_MAX];
};

struct dnsmsg_header {
	uint16_t id;
	uint16_t flags;
	uint16_t qdcount, ancount, nscount, arcount;
};

struct dnsmsg_edns {
	bool present;
	uint16_t udp_size; /* as sent (the caller applies the floor of 512) */
	uint8_t ext_rcode;
	uint8_t version;
	uint16_t flags; /* DNSMSG_EDNS_DO */
	size_t off;	/* where the OPT RR starts */
};

struct dnsmsg_question {
	struct dnsmsg_name name; /* as the sender spelled it */
	uint16_t type;
	uint16_t qclass;
};

/* A client's query. */
struct dnsmsg_query {
	struct dnsmsg_header h;
	bool has_question;
	struct dnsmsg_question q;
	struct dnsmsg_edns edns;
};

/* An upstream's reply, with what caching and re-addressing need. */
struct dnsmsg_reply {
	struct dnsmsg_header h;
	bool has_question;
	struct dnsmsg_question q;
	struct dnsmsg_edns edns;
	unsigned rcode;	  /* 12 bits: header and OPT together */
	uint32_t min_ttl; /* smallest TTL over all records but OPT; UINT32_MAX when none */
	bool has_soa;	  /* an SOA in the authority section */
	uint32_t soa_ttl; /* min(its TTL, its MINIMUM): the negative-caching TTL (RFC 2308) */
	size_t end;	  /* length without the OPT RR */
};

/*
 * Reads a name at *off in msg[0..len), following backward pointers; *off ends
 * just past the name as it sits in the message. `out` may be NULL (validate
 * and skip).
 */
enum dnsmsg_status dnsmsg_name_read(const uint8_t *msg, size_t len, size_t *off,
				    struct dnsmsg_name *out);
/*
 * "host.example.com" or "host.example.com." (or "." for the root) to wire
 * form. No escapes: labels are 1-63 bytes of printable ASCII other than '.'
 * and '\\'. -EINVAL otherwise, -ENAMETOOLONG over 255 bytes.
 */
int dnsmsg_name_from_text(const char *s, struct dnsmsg_name *out)
	__attribute__((warn_unused_result));
/* Dotted text with a trailing dot; bytes outside [!-~] and '.' '\\' in labels as \DDD. */
char *dnsmsg_name_to_text(const struct dnsmsg_name *n, char *buf, size_t cap);
void dnsmsg_name_lower(struct dnsmsg_name *n);
bool dnsmsg_name_eq_nocase(const struct dnsmsg_name *a, const struct dnsmsg_name *b);
/* Is `n` equal to `zone` or below it (case-insensitive)? */
bool dnsmsg_name_is_under(const struct dnsmsg_name *n, const struct dnsmsg_name *zone);
/* `n` with its first `k` labels removed (k <= labels). */
void dnsmsg_name_parent(const struct dnsmsg_name *n, unsigned k, struct dnsmsg_name *out);
/* The in-addr.arpa / ip6.arpa name of an address (4 or 16 bytes). */
void dnsmsg_name_reverse(const uint8_t *addr, size_t alen, struct dnsmsg_name *out);
/* The address a reverse name stands for: 0 and *alen = 4 or 16, or -EINVAL. */
int dnsmsg_name_reverse_addr(const struct dnsmsg_name *n, uint8_t addr[static 16], size_t *alen)
	__attribute__((warn_unused_result));

/*
 * Parses a query strictly: header, exactly one question, no answer or
 * authority records, additional records well formed with at most one OPT,
 * nothing after them. On error `out->h` is still valid once the header was
 * read (len >= 12), and `out->has_question` says whether the question was.
 */
enum dnsmsg_status dnsmsg_query_parse(const uint8_t *msg, size_t len, struct dnsmsg_query *out);

/*
 * Parses an upstream reply: QR set, zero or one question (zero only with a
 * non-zero RCODE), every record walked (names validated, SOA RDATA in the
 * authority section decoded), OPT only as the last record, no trailing bytes.
 */
enum dnsmsg_status dnsmsg_reply_parse(const uint8_t *msg, size_t len, struct dnsmsg_reply *out);

/*
 * Builds a query: one question, flags (RD, CD), and with `edns` an OPT
 * carrying `udp_size` and the DO bit when `dnssec_ok`. Returns the length, or
 * -ENOSPC.
 */
int dnsmsg_query_build(uint8_t *out, size_t cap, uint16_t id, uint16_t flags,
		       const struct dnsmsg_question *q, bool edns, uint16_t udp_size,
		       bool dnssec_ok) __attribute__((warn_unused_result));

/*
 * A local answer under construction. Records are owned by the question's name
 * (a pointer to offset 12). Writes stop at `cap`; `limit` is what the client
 * can take: a reply that would exceed it is cut to the header and question
 * with TC set.
 */
struct dnsmsg_answer {
	uint8_t *p;
	size_t cap, len, limit;
	size_t rr_start; /* end of the question */
	uint16_t counts[3];
	bool overflow;
	bool edns;
	uint16_t edns_udp;
	uint16_t edns_flags;
	uint8_t ext_rcode;
};

enum dnsmsg_section { DNSMSG_ANSWER = 0, DNSMSG_AUTHORITY = 1, DNSMSG_ADDITIONAL = 2 };

/*
 * Starts a reply to `q` (whose question, if it has one, is echoed as the
 * client spelled it): QR, RA, the client's RD and CD, `flags` (AA) and
 * `rcode` (extended RCODEs go in the OPT). With `edns_udp` non-zero and a
 * client that sent OPT, the reply carries OPT with that size and the client's
 * DO bit. -ENOSPC if even the header and question do not fit in `cap`.
 */
int dnsmsg_answer_begin(struct dnsmsg_answer *a, uint8_t *buf, size_t cap, size_t limit,
			const struct dnsmsg_query *q, uint16_t flags, unsigned rcode,
			uint16_t edns_udp) __attribute__((warn_unused_result));
/* A record owned by the question's name; RDATA as given. */
void dnsmsg_answer_add(struct dnsmsg_answer *a, enum dnsmsg_section s, uint16_t type, uint32_t ttl,
		       const uint8_t *rdata, uint16_t rdlen);
/* Finishes (OPT, TC when cut); returns the reply's length. */
size_t dnsmsg_answer_finish(struct dnsmsg_answer *a);

/*
 * Re-addresses an upstream reply (or a cached copy of it) to a client:
 * `src[0..r->end)` is copied with the client's ID, RD and CD, its spelling of
 * the question, AA cleared, RA set, AD kept only for a client that set AD or
 * DO, every TTL lowered by `age` seconds, the upstream's OPT replaced by ours
 * (only if the client sent one), and TC with the records cut when the result
 * exceeds `limit`. Returns the length, or -ENOSPC when `cap` is too small.
 */
int dnsmsg_reply_readdress(const uint8_t *src, const struct dnsmsg_reply *r,
			   const struct dnsmsg_query *q, uint32_t age, size_t limit,
			   uint16_t edns_udp, uint8_t *out, size_t cap)
	__attribute__((warn_unused_result));

/*
 * Caps every TTL of a reply that dnsmsg_reply_parse accepted (its OPT
 * already cut off at r->end) at `max`, then lowers it by `age` (not below 0).
 */
void dnsmsg_reply_ttls(uint8_t *msg, size_t len, uint32_t age, uint32_t max);

/* The client's reply size limit: 512 without EDNS0, else its size clamped to [512, ours]. */
size_t dnsmsg_query_limit(const struct dnsmsg_query *q, uint16_t ours);

#endif
