/* SPDX-License-Identifier: ISC */
/*
 * csum: the Internet checksum (RFC 1071) for IPv4 headers and TCP/UDP over
 * IPv4 and IPv6, fast enough for the data path (64-bit accumulation of
 * native-order words, byte-swapped once at the end).
 */
#ifndef WEFT_NET_CSUM_H
#define WEFT_NET_CSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Adds len bytes to a running sum. Every chunk but the last must have an
 * even length (the sum is over 16-bit words).
 */
uint64_t csum_add(uint64_t acc, const uint8_t *p, size_t len);
/* The sum of the TCP/UDP pseudo-header: addresses (4 or 16 bytes each), protocol, length. */
uint64_t csum_pseudo(const uint8_t *src, const uint8_t *dst, size_t alen, uint8_t proto,
		     uint32_t len);
/* Folds a sum to 16 bits, in network order as a host integer (for buf_store_be16). */
uint16_t csum_fold(uint64_t acc);
/* The complemented checksum to store: ~fold(acc). */
static inline uint16_t csum_finish(uint64_t acc)
{
	return (uint16_t)~csum_fold(acc);
}

#endif
