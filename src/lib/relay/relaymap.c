/* SPDX-License-Identifier: ISC */
/* relaymap: URLs and STUN endpoints from the relay map (see relaymap.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "relay/relay_proto.h"
#include "relay/relaymap.h"

int relay_node_url(const struct netmap_relay_node *n, bool tls, char *out, size_t cap)
{
	unsigned port = n->relay_port != 0 ? n->relay_port : RELAY_DEFAULT_TLS_PORT;
	const char *scheme = tls ? "https" : "http";
	struct netaddr a;
	int len;

	if (n->hostname != NULL && n->hostname[0] != '\0')
		len = snprintf(out, cap, "%s://%s:%u%s", scheme, n->hostname, port,
			       RELAY_HTTP_PATH);
	else if (n->ipv4 != NULL && netaddr_parse(n->ipv4, &a) == 0 && a.family == NETADDR_V4)
		len = snprintf(out, cap, "%s://%s:%u%s", scheme, n->ipv4, port, RELAY_HTTP_PATH);
	else if (n->ipv6 != NULL && netaddr_parse(n->ipv6, &a) == 0 && a.family == NETADDR_V6)
		len = snprintf(out, cap, "%s://[%s]:%u%s", scheme, n->ipv6, port, RELAY_HTTP_PATH);
	else
		return -EINVAL;
	if (len < 0 || (size_t)len >= cap)
		return -ENAMETOOLONG;
	return 0;
}

size_t relay_node_stun_endpoints(const struct netmap_relay_node *n, struct netendpoint out[2])
{
	uint16_t port = n->stun_port != 0 ? n->stun_port : RELAY_DEFAULT_STUN_PORT;
	const char *lit[2] = { n->ipv4, n->ipv6 };
	size_t k = 0;

	for (int i = 0; i < 2; i++) {
		struct netaddr a;
		if (lit[i] == NULL || netaddr_parse(lit[i], &a) != 0 ||
		    a.family != (i == 0 ? NETADDR_V4 : NETADDR_V6))
			continue;
		memset(&out[k], 0, sizeof(out[k]));
		out[k].addr = a;
		out[k].port = port;
		k++;
	}
	return k;
}

const struct netmap_relay_region *relay_region_find(const struct netmap_relaymap *m, uint32_t id)
{
	for (size_t i = 0; i < m->n_regions; i++)
		if (m->regions[i].id == id)
			return &m->regions[i];
	return NULL;
}
