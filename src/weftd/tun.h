/* SPDX-License-Identifier: ISC */
/*
 * tun: the Linux TUN device: create or attach by name, set MTU and link state,
 * and read/write IP packets, with the virtio-net header offloads (TSO/GSO on
 * read, GRO-style coalescing on write) when the kernel supports them.
 */
#ifndef WEFT_WEFTD_TUN_H
#define WEFT_WEFTD_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tun {
	int fd;
	char name[16];
	unsigned mtu;
	bool vnet_hdr; /* reads and writes carry a struct virtio_net_hdr */
};

/* Opens /dev/net/tun as `name` (IFF_TUN|IFF_NO_PI, non-blocking). `offload` asks for vnet headers + TSO. */
int tun_open(struct tun *t, const char *name, bool offload) __attribute__((warn_unused_result));
void tun_close(struct tun *t);
int tun_set_mtu(struct tun *t, unsigned mtu) __attribute__((warn_unused_result));
int tun_get_mtu(struct tun *t, unsigned *mtu) __attribute__((warn_unused_result));
int tun_set_up(struct tun *t, bool up) __attribute__((warn_unused_result));
/* Whether the interface still exists (it goes away with `ip link del`). */
bool tun_exists(const struct tun *t);

#endif
