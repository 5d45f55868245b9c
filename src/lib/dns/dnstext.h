/* SPDX-License-Identifier: ISC */
/*
 * dnstext: DNS messages as people read them, for `weft dns query`: type and
 * RCODE names, a walk over every record of a reply (names decoded through
 * dnsmsg's strict reader), and RDATA in zone-file form for the common types
 * (A, AAAA, NS, CNAME, PTR, MX, TXT, SOA, SRV), RFC 3597's `\# LEN HEX`
 * for the rest. RDATA that does not parse as its type says so.
 */
#ifndef WEFT_DNS_DNSTEXT_H
#define WEFT_DNS_DNSTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dnsmsg.h"

/* "A", "aaaa", "TYPE65" or "65" to a type; -EINVAL otherwise. */
int dnstext_type_parse(const char *s, uint16_t *type) __attribute__((warn_unused_result));
/* The type's mnemonic, or "TYPE65" in buf. */
const char *dnstext_type_name(uint16_t type, char *buf, size_t cap);
const char *dnstext_class_name(uint16_t c, char *buf, size_t cap);
/* "NOERROR", "NXDOMAIN", ... or "RCODE23" in buf (12-bit RCODEs). */
const char *dnstext_rcode_name(unsigned rcode, char *buf, size_t cap);

struct dnstext_rr {
	enum dnsmsg_section section;
	struct dnsmsg_name owner;
	uint16_t type, rclass;
	uint32_t ttl;
	size_t rdata; /* offset in the message */
	uint16_t rdlen;
};

struct dnstext_iter {
	const uint8_t *msg;
	size_t len, off;
	unsigned counts[3];
	unsigned sec, i;
};

/*
 * Starts a walk over msg's records: reads the header into *h and the
 * question, if there is one, into *q (has_q). DNSMSG_OK or why not.
 */
enum dnsmsg_status dnstext_iter_init(struct dnstext_iter *it, const uint8_t *msg, size_t len,
				     struct dnsmsg_header *h, struct dnsmsg_question *q,
				     bool *has_q);
/* The next record: DNSMSG_OK with *rr, or a status; *done at the end (with DNSMSG_OK). */
enum dnsmsg_status dnstext_iter_next(struct dnstext_iter *it, struct dnstext_rr *rr, bool *done);

/*
 * A record's RDATA as text in buf (always terminated). Returns 0, -ENOSPC
 * when it was cut, or -EBADMSG when it does not parse as its type (buf then
 * holds the RFC 3597 form).
 */
int dnstext_rdata(const uint8_t *msg, size_t len, const struct dnstext_rr *rr, char *buf,
		  size_t cap);

#endif
