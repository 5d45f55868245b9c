/* SPDX-License-Identifier: ISC */
/* tun: /dev/net/tun and interface ioctls (see tun.h). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weftd/tun.h"

int tun_open(struct tun *t, const char *name, bool offload)
{
	struct ifreq ifr;
	int fd, r;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	t->fd = fd;
	snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
	if (offload) {
		int hdrlen = 10; /* struct virtio_net_hdr, without num_buffers */
		unsigned flags = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
		if (ioctl(fd, TUNSETVNETHDRSZ, &hdrlen) == 0 && ioctl(fd, TUNSETOFFLOAD, flags) == 0)
			t->vnet_hdr = true;
	}
	if (tun_get_mtu(t, &t->mtu) < 0)
		t->mtu = 1500;
	return 0;
}

void tun_close(struct tun *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static int tun_ifreq(const struct tun *t, unsigned long req, struct ifreq *ifr)
{
	int s, r = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", t->name);
	if (ioctl(s, req, ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

int tun_set_mtu(struct tun *t, unsigned mtu)
{
	struct ifreq ifr;
	int r;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = (int)mtu;
	r = tun_ifreq(t, SIOCSIFMTU, &ifr);
	if (r == 0)
		t->mtu = mtu;
	return r;
}

int tun_get_mtu(struct tun *t, unsigned *mtu)
{
	struct ifreq ifr;
	int r;

	memset(&ifr, 0, sizeof(ifr));
	r = tun_ifreq(t, SIOCGIFMTU, &ifr);
	if (r == 0)
		*mtu = (unsigned)ifr.ifr_mtu;
	return r;
}

int tun_set_up(struct tun *t, bool up)
{
	struct ifreq ifr;
	int r;

	memset(&ifr, 0, sizeof(ifr));
	r = tun_ifreq(t, SIOCGIFFLAGS, &ifr);
	if (r < 0)
		return r;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	return tun_ifreq(t, SIOCSIFFLAGS, &ifr);
}

bool tun_exists(const struct tun *t)
{
	return if_nametoindex(t->name) != 0;
}
