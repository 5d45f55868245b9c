/* SPDX-License-Identifier: ISC */
/*
 * backend_netmap: reads a network map (docs/PROTOCOL.md section 3: Self,
 * Peers, Users, DNS) into the backend's peer view. The map comes from the
 * server, so every field is type- and bound-checked; a malformed node is
 * refused whole rather than half-applied. Fields this version does not use
 * are ignored, so newer servers keep working.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "weftd/backend_int.h"

int backend_view_from_netmap(struct backend *be, const json_t *nm);
int backend_node_parse(const json_t *o, struct backend_peer *p);

/* RFC 3339 UTC ("2026-11-22T10:00:00Z", fractions allowed) to unix seconds; null -> 0. */
static int bn_time(const json_t *v, uint64_t *out)
{
	const char *s;
	struct tm tm;
	char *end;
	time_t t;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	s = json_string_value(v);
	if (s == NULL)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return -EINVAL;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
		return -EINVAL;
	if (tm.tm_year < 1) /* year 0001: Go's zero time, "never" */
		return 0;
	t = timegm(&tm);
	if (t < 0)
		return -EINVAL;
	*out = (uint64_t)t;
	return 0;
}

static int bn_str(const json_t *o, const char *key, char *dst, size_t cap)
{
	const json_t *v = json_object_get(o, key);
	const char *s;

	dst[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	s = json_string_value(v);
	if (s == NULL || strlen(s) >= cap)
		return -EINVAL;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int bn_u64(const json_t *o, const char *key, uint64_t *dst)
{
	const json_t *v = json_object_get(o, key);

	*dst = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -EINVAL;
	*dst = (uint64_t)json_integer_value(v);
	return 0;
}

static int bn_bool(const json_t *o, const char *key, bool *dst)
{
	const json_t *v = json_object_get(o, key);

	*dst = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return -EINVAL;
	*dst = json_is_true(v);
	return 0;
}

/* A list of prefixes; bare addresses are taken as /32 or /128. `exact` refuses host bits. */
static int bn_prefixes(const json_t *o, const char *key, struct netprefix *dst, size_t cap,
		       size_t *n, bool keep_host)
{
	const json_t *a = json_object_get(o, key), *v;
	size_t i;

	*n = 0;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > cap)
		return -EINVAL;
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		if (s == NULL || netprefix_parse_loose(s, &dst[i]) < 0)
			return -EINVAL;
		if (keep_host) {
			/* Addresses are host addresses: keep the full address. */
			char tmp[NETPREFIX_STRLEN];
			char *slash;
			snprintf(tmp, sizeof(tmp), "%s", s);
			slash = strchr(tmp, '/');
			if (slash != NULL)
				*slash = '\0';
			if (netaddr_parse(tmp, &dst[i].addr) < 0)
				return -EINVAL;
		}
		(*n)++;
	}
	return 0;
}

static int bn_endpoints(const json_t *o, struct backend_peer *p)
{
	const json_t *a = json_object_get(o, "Endpoints"), *v;
	size_t i;

	p->neps = 0;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return -EINVAL;
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		if (s == NULL)
			return -EINVAL;
		if (p->neps == BACKEND_EPS_MAX)
			break; /* more candidates than we try: the first ones are the best */
		if (netendpoint_parse(s, &p->eps[p->neps]) < 0)
			return -EINVAL;
		p->neps++;
	}
	return 0;
}

static int bn_tags(const json_t *o, struct backend_peer *p)
{
	const json_t *a = json_object_get(o, "Tags"), *v;
	size_t i;

	p->ntags = 0;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > BACKEND_TAGS_MAX)
		return -EINVAL;
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		if (s == NULL || strlen(s) >= sizeof(p->tags[0]))
			return -EINVAL;
		memcpy(p->tags[p->ntags++], s, strlen(s) + 1);
	}
	return 0;
}

static int bn_key(const json_t *o, struct backend_peer *p)
{
	const char *s = json_string_value(json_object_get(o, "Key"));
	const json_t *d = json_object_get(o, "DiscoKey");

	if (s == NULL || node_public_parse(&p->key, s) < 0)
		return -EINVAL;
	if (d != NULL && !json_is_null(d) &&
	    (json_string_value(d) == NULL || disco_public_parse(&p->disco, json_string_value(d)) < 0))
		return -EINVAL;
	return 0;
}

int backend_node_parse(const json_t *o, struct backend_peer *p)
{
	uint64_t home;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(o) || bn_u64(o, "ID", &p->id) < 0 || p->id == 0 || bn_key(o, p) < 0 ||
	    bn_str(o, "HostName", p->hostname, sizeof(p->hostname)) < 0 ||
	    bn_str(o, "Name", p->dns_name, sizeof(p->dns_name)) < 0 ||
	    bn_str(o, "OS", p->os, sizeof(p->os)) < 0 || bn_u64(o, "User", &p->user_id) < 0 ||
	    bn_prefixes(o, "Addresses", p->addrs, BACKEND_ADDRS_MAX, &p->naddrs, true) < 0 ||
	    bn_prefixes(o, "AllowedIPs", p->aips, BACKEND_AIPS_MAX, &p->naips, false) < 0 ||
	    bn_endpoints(o, p) < 0 || bn_tags(o, p) < 0 || bn_u64(o, "RelayHome", &home) < 0 ||
	    home > 65535 || bn_bool(o, "Online", &p->online) < 0 ||
	    bn_bool(o, "Expired", &p->expired) < 0 ||
	    bn_time(json_object_get(o, "Created"), &p->created_s) < 0 ||
	    bn_time(json_object_get(o, "LastSeen"), &p->last_seen_s) < 0 ||
	    bn_time(json_object_get(o, "KeyExpiry"), &p->key_expiry_s) < 0)
		return -EINVAL;
	p->relay_home = (int)home;
	/* Without explicit allowed IPs a node may send from its own addresses. */
	if (p->naips == 0) {
		for (size_t i = 0; i < p->naddrs; i++)
			if (netprefix_make(&p->aips[p->naips], &p->addrs[i].addr,
					   netaddr_bits(&p->addrs[i].addr)) == 0)
				p->naips++;
	}
	return 0;
}

static int bn_users(const json_t *nm, struct backend_user **out, size_t *n)
{
	const json_t *u = json_object_get(nm, "Users"), *v;
	const char *k;
	size_t i = 0, cap = json_is_object(u) ? json_object_size(u) : json_array_size(u);
	struct backend_user *users;

	*out = NULL;
	*n = 0;
	if (u == NULL || cap == 0)
		return 0;
	users = calloc(cap, sizeof(*users));
	if (users == NULL)
		return -ENOMEM;
	/* Users come as a list or as an object keyed by ID: take either. */
	if (json_is_object(u)) {
		json_object_foreach((json_t *)u, k, v) {
			(void)k;
			if (bn_u64(v, "ID", &users[i].id) < 0 ||
			    (bn_str(v, "LoginName", users[i].login, sizeof(users[i].login)) < 0) ||
			    bn_str(v, "DisplayName", users[i].display, sizeof(users[i].display)) < 0)
				goto bad;
			i++;
		}
	} else if (json_is_array(u)) {
		size_t idx;
		json_array_foreach(u, idx, v) {
			if (!json_is_object(v) || bn_u64(v, "ID", &users[i].id) < 0 ||
			    bn_str(v, json_object_get(v, "LoginName") ? "LoginName" : "Name",
				   users[i].login, sizeof(users[i].login)) < 0 ||
			    bn_str(v, "DisplayName", users[i].display, sizeof(users[i].display)) < 0)
				goto bad;
			i++;
		}
	} else {
		goto bad;
	}
	for (size_t j = 0; j < i; j++)
		if (users[j].display[0] == '\0')
			snprintf(users[j].display, sizeof(users[j].display), "%s", users[j].login);
	*out = users;
	*n = i;
	return 0;
bad:
	free(users);
	return -EINVAL;
}

int backend_view_from_netmap(struct backend *be, const json_t *nm)
{
	const json_t *peers = json_object_get(nm, "Peers"), *dns = json_object_get(nm, "DNS"), *v;
	struct backend_peer self, *list = NULL;
	struct backend_user *users = NULL;
	size_t n = json_array_size(peers), i, nusers = 0;
	bool magic = false;
	int r = -EINVAL;

	if (!json_is_object(nm) || backend_node_parse(json_object_get(nm, "Self"), &self) < 0)
		return -EINVAL;
	if (peers != NULL && !json_is_array(peers))
		return -EINVAL;
	if (n > 0) {
		list = calloc(n, sizeof(*list));
		if (list == NULL)
			return -ENOMEM;
	}
	json_array_foreach(peers, i, v) {
		if (backend_node_parse(v, &list[i]) < 0)
			goto out;
	}
	if (bn_users(nm, &users, &nusers) < 0)
		goto out;
	if (dns != NULL && !json_is_null(dns) &&
	    (!json_is_object(dns) || bn_bool(dns, "MagicDNS", &magic) < 0 ||
	     bn_str(dns, "BaseDomain", be->magic_dns_suffix, sizeof(be->magic_dns_suffix)) < 0))
		goto out;
	be->magic_dns = magic;
	r = backend_peers_set(be, &self, list, n);
	if (r == 0)
		r = backend_users_set(be, users, nusers);
out:
	free(list);
	free(users);
	return r;
}
