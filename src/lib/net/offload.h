/* SPDX-License-Identifier: ISC */
/*
 * offload: segmentation offloads between the TUN device and WireGuard. With
 * IFF_VNET_HDR the kernel hands a TUN reader TCP "super-packets" of up to
 * 64 KiB (TSO) and accepts coalesced ones back (GRO), each behind a
 * virtio_net_hdr. offload_split cuts a super-packet into MTU-sized IP packets
 * with correct headers and checksums, written at a fixed stride so that their
 * WireGuard encryptions lie back to back for one UDP GSO send; the
 * offload_tcp_* functions decide which received TCP segments may be merged
 * into one super-packet for the TUN and fix up its headers.
 */
#ifndef WEFT_NET_OFFLOAD_H
#define WEFT_NET_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OFFLOAD_VNET_HDR_LEN 10

enum offload_gso {
	OFFLOAD_GSO_NONE = 0,
	OFFLOAD_GSO_TCPV4 = 1,
	OFFLOAD_GSO_UDP = 3,
	OFFLOAD_GSO_TCPV6 = 4,
	OFFLOAD_GSO_UDP_L4 = 5,
	OFFLOAD_GSO_ECN = 0x80,
};

#define OFFLOAD_F_NEEDS_CSUM 1
#define OFFLOAD_F_DATA_VALID 2

/* struct virtio_net_hdr, host byte order as TUN uses it on little-endian hosts. */
struct offload_vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

void offload_vnet_hdr_decode(const uint8_t p[static OFFLOAD_VNET_HDR_LEN],
			     struct offload_vnet_hdr *h);
void offload_vnet_hdr_encode(uint8_t p[static OFFLOAD_VNET_HDR_LEN],
			     const struct offload_vnet_hdr *h);

/*
 * How a TUN read will split: *nsegs packets, each *seg_len bytes except the
 * last. -EINVAL (and a reason in *why, static) when the header or packet is
 * malformed: the caller drops and counts it.
 */
int offload_split_plan(const struct offload_vnet_hdr *h, const uint8_t *pkt, size_t len,
		       size_t *nsegs, size_t *seg_len, const char **why)
	__attribute__((warn_unused_result));
/*
 * Writes segment i of the plan at out + i * stride, its length in lens[i].
 * Checksums are completed (the TUN leaves them partial); TCP sequence
 * numbers, IPv4 IDs and lengths follow each segment; FIN/PSH only on the
 * last, CWR only on the first. The caller checked the plan and the room.
 */
void offload_split(const struct offload_vnet_hdr *h, const uint8_t *pkt, size_t len,
		   uint8_t *out, size_t stride, size_t *lens);

/* A TCP segment's coalescing key, from offload_tcp_parse. */
struct offload_tcp {
	uint8_t family; /* 4 or 6 */
	uint8_t iphlen;
	uint8_t tcphlen;
	uint16_t payload;
	uint32_t seq;
	uint8_t flags;
};

/*
 * Parses an IP packet as a TCP segment that GRO may merge: plain IPv4 (no
 * options, not a fragment) or IPv6 without extension headers, TCP with
 * payload, flags ACK or ACK|PSH only, and a valid checksum. -EINVAL otherwise.
 */
int offload_tcp_parse(const uint8_t *pkt, size_t len, struct offload_tcp *t)
	__attribute__((warn_unused_result));
/*
 * Whether `next` continues the run that starts at `first`: same flow and
 * headers, sequence continues at `expect_seq`, no longer than the run's
 * segment size, and the merged size stays within 64 KiB. A run ends after
 * a shorter segment or one with PSH (the caller stops then).
 */
bool offload_tcp_follows(const uint8_t *first, const struct offload_tcp *ft, const uint8_t *next,
			 const struct offload_tcp *nt, uint32_t expect_seq, size_t run_bytes);
/*
 * Turns `first` into the header of a merged packet of `total` bytes whose
 * segments carry `seg_size` bytes each (lengths, IPv4 header checksum, TCP
 * checksum left as the pseudo-header sum) and fills the vnet header that
 * asks the kernel to finish it. PSH of the last segment is carried over.
 */
void offload_tcp_merge_finish(uint8_t *first, const struct offload_tcp *ft, size_t total,
			      size_t seg_size, bool psh, struct offload_vnet_hdr *h);

#endif
