/* SPDX-License-Identifier: ISC */
/* filter_naive: a direct reading of FilterRule semantics (see filter_naive.h). */
#include <string.h>

#include "core/netaddr.h"
#include "filter_naive.h"

static bool spec_has(const char *s, const struct netaddr *a)
{
	char lo[NETADDR_STRLEN];
	struct netaddr x, y;
	struct netprefix p;
	const char *dash;

	if (strcmp(s, "*") == 0)
		return true;
	if ((dash = strchr(s, '-')) != NULL) {
		memcpy(lo, s, (size_t)(dash - s));
		lo[dash - s] = '\0';
		if (netaddr_parse(lo, &x) < 0 || netaddr_parse(dash + 1, &y) < 0)
			return false;
		return x.family == a->family && netaddr_cmp(&x, a) <= 0 && netaddr_cmp(a, &y) <= 0;
	}
	return netprefix_parse_loose(s, &p) == 0 && netprefix_contains(&p, a);
}

static bool proto_listed(const json_t *rule, unsigned proto)
{
	const json_t *pr = json_object_get(rule, "IPProto"), *e;
	size_t i;

	if (json_array_size(pr) == 0)
		return proto == 6 || proto == 17 || proto == 1 || proto == 58;
	json_array_foreach((json_t *)pr, i, e)
		if (json_integer_value(e) == (json_int_t)proto)
			return true;
	return false;
}

static bool port_ok(unsigned proto, bool icmp, unsigned first, unsigned last, unsigned port)
{
	if (proto == 6 || proto == 17 || proto == 132)
		return first <= port && port <= last;
	if (icmp)
		return true;
	return first == 0 && last == 65535;
}

bool filter_naive_match(const json_t *rules, const struct filter_tuple *t)
{
	const json_t *r, *s, *d;
	size_t i, j, k;
	bool icmp = (t->proto == 1 && t->src.family == NETADDR_V4) ||
		    (t->proto == 58 && t->src.family == NETADDR_V6);

	if (t->src.family != t->dst.family)
		return false;
	json_array_foreach((json_t *)rules, i, r) {
		bool src = false;

		if (json_object_get(r, "DstPorts") == NULL || !proto_listed(r, t->proto))
			continue;
		json_array_foreach(json_object_get(r, "SrcIPs"), j, s)
			src |= spec_has(json_string_value(s), &t->src);
		if (!src)
			continue;
		json_array_foreach(json_object_get(r, "DstPorts"), k, d) {
			const json_t *ports = json_object_get(d, "Ports");

			if (spec_has(json_string_value(json_object_get(d, "IP")), &t->dst) &&
			    port_ok(t->proto, icmp,
				    (unsigned)json_integer_value(json_object_get(ports, "First")),
				    (unsigned)json_integer_value(json_object_get(ports, "Last")),
				    t->dport))
				return true;
		}
	}
	return false;
}
