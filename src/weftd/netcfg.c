/* SPDX-License-Identifier: ISC */
/* netcfg: rtnetlink requests and dumps through libmnl (see netcfg.h). */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "core/mem.h"
#include "weftd/netcfg.h"

/* Requests are a header, a small family header and two or three attributes. */
#define NETCFG_REQ_SIZE 512

struct netcfg {
	struct mnl_socket *nl;
	unsigned portid;
	unsigned seq;
	char *buf; /* MNL_SOCKET_BUFFER_SIZE */
};

int netcfg_open(struct netcfg **out)
{
	struct netcfg *n;

	*out = NULL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	n->buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	n->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (n->buf == NULL || n->nl == NULL || mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = n->buf == NULL ? -ENOMEM : -errno;
		netcfg_close(n);
		return r;
	}
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = (unsigned)time(NULL);
	*out = n;
	return 0;
}

void netcfg_close(struct netcfg *n)
{
	if (n == NULL)
		return;
	if (n->nl != NULL)
		mnl_socket_close(n->nl);
	free(n->buf);
	free(n);
}

/*
 * Sends one request and runs cb over the replies until the kernel's ACK, the
 * end of a dump, or an error. A dump ends in NLMSG_DONE, so it asks for no ACK
 * (one would be left behind). The flag is explicit: NLM_F_REPLACE and
 * NLM_F_ROOT share a bit, so the header cannot tell.
 */
static int netcfg_talk(struct netcfg *n, struct nlmsghdr *nlh, bool dump, mnl_cb_t cb, void *arg)
{
	int r;

	nlh->nlmsg_seq = ++n->seq;
	if (!dump)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ssize_t len = mnl_socket_recvfrom(n->nl, n->buf, MNL_SOCKET_BUFFER_SIZE);
		if (len < 0)
			return -errno;
		r = mnl_cb_run(n->buf, (size_t)len, n->seq, n->portid, cb, arg);
	} while (r > 0);
	return r < 0 ? -errno : 0;
}

int netcfg_link_set(struct netcfg *n, unsigned ifindex, unsigned mtu, bool up)
{
	char buf[NETCFG_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	if (mtu != 0)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return netcfg_talk(n, nlh, false, NULL, NULL);
}

/* ---- addresses ------------------------------------------------------------------------ */

struct netcfg_list {
	unsigned ifindex;
	bool routes;
	struct netprefix *v;
	size_t n, cap;
	int err;
};

static void netcfg_list_add(struct netcfg_list *l, int family, const void *addr, unsigned bits)
{
	struct netaddr a;

	if (family == AF_INET)
		netaddr_from_v4(&a, addr);
	else
		netaddr_from_v6(&a, addr);
	if (l->err != 0 || mem_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0) {
		l->err = -ENOMEM;
		return;
	}
	/* Keep the address as it is (not masked): an address carries host bits. */
	l->v[l->n].addr = a;
	l->v[l->n].bits = (uint8_t)bits;
	l->n++;
}

static int netcfg_addr_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct netcfg_list *l = arg;
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;
	const void *local = NULL, *address = NULL;

	if (ifa->ifa_index != l->ifindex || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		size_t want = ifa->ifa_family == AF_INET ? 4 : 16;
		if (mnl_attr_get_payload_len(attr) != want)
			continue;
		if (mnl_attr_get_type(attr) == IFA_LOCAL)
			local = mnl_attr_get_payload(attr);
		else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
			address = mnl_attr_get_payload(attr);
	}
	if (local == NULL)
		local = address;
	if (local == NULL)
		return MNL_CB_OK;
	/* Leave the kernel's own IPv6 link-local addresses alone. */
	if (ifa->ifa_family == AF_INET6 && ((const uint8_t *)local)[0] == 0xfe &&
	    (((const uint8_t *)local)[1] & 0xc0) == 0x80)
		return MNL_CB_OK;
	netcfg_list_add(l, ifa->ifa_family, local, ifa->ifa_prefixlen);
	return MNL_CB_OK;
}

int netcfg_list_addrs(struct netcfg *n, unsigned ifindex, struct netprefix **out, size_t *count)
{
	char buf[NETCFG_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct netcfg_list l = { .ifindex = ifindex };
	struct ifaddrmsg *ifa;
	int r;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	r = netcfg_talk(n, nlh, true, netcfg_addr_cb, &l);
	if (r == 0)
		r = l.err;
	if (r < 0) {
		free(l.v);
		return r;
	}
	*out = l.v;
	*count = l.n;
	return 0;
}

static int netcfg_addr_req(struct netcfg *n, unsigned ifindex, const struct netprefix *p, bool add)
{
	char buf[NETCFG_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	size_t alen = netaddr_len(&p->addr);

	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = p->addr.family == NETADDR_V4 ? AF_INET : AF_INET6;
	ifa->ifa_prefixlen = p->bits;
	ifa->ifa_index = ifindex;
	/* No duplicate address detection: the address is ours by the control server's say. */
	ifa->ifa_flags = p->addr.family == NETADDR_V6 ? IFA_F_NODAD : 0;
	mnl_attr_put(nlh, IFA_LOCAL, alen, p->addr.a);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, p->addr.a);
	return netcfg_talk(n, nlh, false, NULL, NULL);
}

static bool netcfg_has(const struct netprefix *v, size_t n, const struct netprefix *p)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].bits == p->bits && netaddr_eq(&v[i].addr, &p->addr))
			return true;
	return false;
}

int netcfg_sync_addrs(struct netcfg *n, unsigned ifindex, const struct netprefix *addrs,
		      size_t naddrs)
{
	struct netprefix *cur = NULL;
	size_t ncur = 0;
	int r;

	r = netcfg_list_addrs(n, ifindex, &cur, &ncur);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ncur && r == 0; i++)
		if (!netcfg_has(addrs, naddrs, &cur[i]))
			r = netcfg_addr_req(n, ifindex, &cur[i], false);
	for (size_t i = 0; i < naddrs && r == 0; i++)
		if (!netcfg_has(cur, ncur, &addrs[i]))
			r = netcfg_addr_req(n, ifindex, &addrs[i], true);
	free(cur);
	return r;
}

/* ---- routes --------------------------------------------------------------------------- */

static int netcfg_route_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct netcfg_list *l = arg;
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;
	const void *dst = NULL;
	uint32_t oif = 0, table = rtm->rtm_table;
	uint8_t zero[16] = { 0 };

	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(attr)) {
		case RTA_OIF:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				oif = mnl_attr_get_u32(attr);
			break;
		case RTA_TABLE:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				table = mnl_attr_get_u32(attr);
			break;
		case RTA_DST:
			if (mnl_attr_get_payload_len(attr) == (rtm->rtm_family == AF_INET ? 4U : 16U))
				dst = mnl_attr_get_payload(attr);
			break;
		default:
			break;
		}
	}
	/* Our routes: static routes in the main table through our interface. */
	if (oif != l->ifindex || table != RT_TABLE_MAIN || rtm->rtm_protocol != RTPROT_STATIC)
		return MNL_CB_OK;
	netcfg_list_add(l, rtm->rtm_family, dst != NULL ? dst : zero, rtm->rtm_dst_len);
	return MNL_CB_OK;
}

int netcfg_list_routes(struct netcfg *n, unsigned ifindex, struct netprefix **out, size_t *count)
{
	char buf[NETCFG_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct netcfg_list l = { .ifindex = ifindex, .routes = true };
	struct rtmsg *rtm;
	int r;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_UNSPEC;
	r = netcfg_talk(n, nlh, true, netcfg_route_cb, &l);
	if (r == 0)
		r = l.err;
	if (r < 0) {
		free(l.v);
		return r;
	}
	*out = l.v;
	*count = l.n;
	return 0;
}

static int netcfg_route_req(struct netcfg *n, unsigned ifindex, const struct netprefix *p,
			    bool add)
{
	char buf[NETCFG_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = p->addr.family == NETADDR_V4 ? AF_INET : AF_INET6;
	rtm->rtm_dst_len = p->bits;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (p->bits > 0)
		mnl_attr_put(nlh, RTA_DST, netaddr_len(&p->addr), p->addr.a);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return netcfg_talk(n, nlh, false, NULL, NULL);
}

int netcfg_sync_routes(struct netcfg *n, unsigned ifindex, const struct netprefix *routes,
		       size_t nroutes)
{
	struct netprefix *cur = NULL;
	size_t ncur = 0;
	int r;

	r = netcfg_list_routes(n, ifindex, &cur, &ncur);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ncur && r == 0; i++)
		if (!netcfg_has(routes, nroutes, &cur[i]))
			r = netcfg_route_req(n, ifindex, &cur[i], false);
	for (size_t i = 0; i < nroutes && r == 0; i++)
		if (!netcfg_has(cur, ncur, &routes[i]))
			r = netcfg_route_req(n, ifindex, &routes[i], true);
	free(cur);
	return r;
}
