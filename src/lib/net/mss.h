/* SPDX-License-Identifier: ISC */
/*
 * mss: TCP MSS clamping. A SYN whose MSS option asks for more than the tunnel
 * carries (MTU - 40 over IPv4, MTU - 60 over IPv6) is lowered, with the TCP
 * checksum updated incrementally (RFC 1624). Done in both directions so hosts
 * with 1500- or 9000-byte interfaces behind a node never send segments the
 * tunnel would drop: the classic PMTU black hole of forwarded traffic.
 */
#ifndef WEFT_NET_MSS_H
#define WEFT_NET_MSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Clamps the packet in place if it is a TCP SYN (IPv4 without fragmentation,
 * or IPv6 with TCP as the first next header) carrying an MSS option above
 * the limit for `mtu`. Returns true when it changed the packet. Malformed
 * packets are left alone (the filter and the kernel judge those).
 */
bool mss_clamp(uint8_t *pkt, size_t len, unsigned mtu);

#endif
