/* SPDX-License-Identifier: ISC */
/*
 * netmap_node: one node of the network map in JSON (docs/PROTOCOL.md 3.6.1):
 * strict parse through a field table, the writer the server caches per node,
 * copy, free and field-by-field diff.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "json/jsonx.h"
#include "netmap/netmap.h"

enum {
	NF_ID,
	NF_NAME,
	NF_HOSTNAME,
	NF_USER,
	NF_KEY,
	NF_KEY_EXPIRY,
	NF_MACHINE,
	NF_DISCO,
	NF_ADDRESSES,
	NF_ALLOWED_IPS,
	NF_ENDPOINTS,
	NF_RELAY_HOME,
	NF_ONLINE,
	NF_LAST_SEEN,
	NF_TAGS,
	NF_OS,
	NF_CREATED,
	NF_EXPIRED,
	NF_COUNT,
};

static const struct jsonx_field node_fields[NF_COUNT] = {
	[NF_ID] = { "ID", JSONX_UINT, JSONX_F_REQUIRED, 0 },
	[NF_NAME] = { "Name", JSONX_STRING, 0, NETMAP_NAME_MAX },
	[NF_HOSTNAME] = { "HostName", JSONX_STRING, 0, NETMAP_NAME_MAX },
	[NF_USER] = { "User", JSONX_UINT, 0, 0 },
	[NF_KEY] = { "Key", JSONX_STRING, JSONX_F_REQUIRED, KEY_PREFIXED_MAX },
	[NF_KEY_EXPIRY] = { "KeyExpiry", JSONX_STRING, JSONX_F_NULL, 40 },
	[NF_MACHINE] = { "Machine", JSONX_STRING, 0, KEY_PREFIXED_MAX },
	[NF_DISCO] = { "DiscoKey", JSONX_STRING, 0, KEY_PREFIXED_MAX },
	[NF_ADDRESSES] = { "Addresses", JSONX_ARRAY, JSONX_F_REQUIRED, NETMAP_MAX_ADDRS },
	[NF_ALLOWED_IPS] = { "AllowedIPs", JSONX_ARRAY, 0, NETMAP_MAX_ALLOWED_IPS },
	[NF_ENDPOINTS] = { "Endpoints", JSONX_ARRAY, JSONX_F_NULL, NETMAP_MAX_ENDPOINTS },
	[NF_RELAY_HOME] = { "RelayHome", JSONX_UINT, 0, 0 },
	[NF_ONLINE] = { "Online", JSONX_BOOL, 0, 0 },
	[NF_LAST_SEEN] = { "LastSeen", JSONX_STRING, JSONX_F_NULL, 40 },
	[NF_TAGS] = { "Tags", JSONX_ARRAY, JSONX_F_NULL, NETMAP_MAX_TAGS },
	[NF_OS] = { "OS", JSONX_STRING, 0, 64 },
	[NF_CREATED] = { "Created", JSONX_STRING, JSONX_F_NULL, 40 },
	[NF_EXPIRED] = { "Expired", JSONX_BOOL, 0, 0 },
};

void netmap_node_free(struct netmap_node *n)
{
	if (n == NULL)
		return;
	free(n->name);
	free(n->hostname);
	free(n->addresses);
	free(n->allowed_ips);
	free(n->endpoints);
	jsonx_strv_free(n->tags);
	free(n->os);
	free(n);
}

static char *netmap_strdup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static int netmap_time_field(const json_t *v, const char *path, const char *name, int64_t *out,
			     struct jsonx_err *err)
{
	*out = 0;
	if (v == NULL)
		return 0;
	if (jsonx_time_parse(jsonx_str(v), out) < 0)
		return jsonx_fail(err, path, name, "not an RFC 3339 time");
	return 0;
}

static int netmap_prefixes(const json_t *v, const char *path, const char *name,
			   struct netprefix **out, size_t *n, struct jsonx_err *err)
{
	char where[JSONX_PATH_LEN];
	size_t i, count = v ? json_array_size(v) : 0;

	jsonx_path_field(where, path, name);
	*n = 0;
	if ((*out = mem_calloc(count + 1, sizeof(**out))) == NULL)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		const char *s = jsonx_str(json_array_get(v, i));
		if (s == NULL || netprefix_parse(s, &(*out)[i]) < 0)
			return jsonx_fail(err, where, "", "item %zu: expected a prefix such as "
							  "\"100.64.0.1/32\"", i);
	}
	*n = count;
	return 0;
}

static int netmap_endpoints(const json_t *v, const char *path, struct netendpoint **out, size_t *n,
			    struct jsonx_err *err)
{
	size_t i, count = v ? json_array_size(v) : 0;

	*n = 0;
	if ((*out = mem_calloc(count + 1, sizeof(**out))) == NULL)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		const char *s = jsonx_str(json_array_get(v, i));
		if (s == NULL || netendpoint_parse(s, &(*out)[i]) < 0)
			return jsonx_fail(err, path, "Endpoints",
					  "item %zu: expected \"ip:port\" or \"[ip6]:port\"", i);
	}
	*n = count;
	return 0;
}

static int netmap_node_keys(const json_t *const *f, const char *path, struct netmap_node *n,
			    struct jsonx_err *err)
{
	if (node_public_parse(&n->key, jsonx_str(f[NF_KEY])) < 0)
		return jsonx_fail(err, path, "Key", "expected \"nodekey:<64 hex digits>\"");
	if (f[NF_MACHINE] && machine_public_parse(&n->machine, jsonx_str(f[NF_MACHINE])) < 0)
		return jsonx_fail(err, path, "Machine", "expected \"mkey:<64 hex digits>\"");
	if (f[NF_DISCO] && disco_public_parse(&n->disco, jsonx_str(f[NF_DISCO])) < 0)
		return jsonx_fail(err, path, "DiscoKey", "expected \"discokey:<64 hex digits>\"");
	return 0;
}

static int netmap_node_numbers(const json_t *const *f, const char *path, struct netmap_node *n,
			       struct jsonx_err *err)
{
	uint64_t v;
	int r;

	if (jsonx_uint(f[NF_ID], &n->id) < 0 || n->id == 0)
		return jsonx_fail(err, path, "ID", "must be a positive integer");
	if (jsonx_uint(f[NF_USER], &n->user) < 0)
		return jsonx_fail(err, path, "User", "must be a non-negative integer");
	if (jsonx_uint(f[NF_RELAY_HOME], &v) < 0 || v > UINT32_MAX)
		return jsonx_fail(err, path, "RelayHome", "must be a region ID below 2^32");
	n->relay_home = (uint32_t)v;
	n->online = jsonx_bool(f[NF_ONLINE]);
	n->expired = jsonx_bool(f[NF_EXPIRED]);
	if ((r = netmap_time_field(f[NF_KEY_EXPIRY], path, "KeyExpiry", &n->key_expiry, err)) < 0 ||
	    (r = netmap_time_field(f[NF_LAST_SEEN], path, "LastSeen", &n->last_seen, err)) < 0 ||
	    (r = netmap_time_field(f[NF_CREATED], path, "Created", &n->created, err)) < 0)
		return r;
	return 0;
}

static int netmap_node_lists(const json_t *const *f, const char *path, struct netmap_node *n,
			     struct jsonx_err *err)
{
	char where[JSONX_PATH_LEN];
	int r;

	jsonx_path_field(where, path, "Tags");
	if ((r = netmap_prefixes(f[NF_ADDRESSES], path, "Addresses", &n->addresses,
				 &n->n_addresses, err)) < 0 ||
	    (r = netmap_prefixes(f[NF_ALLOWED_IPS], path, "AllowedIPs", &n->allowed_ips,
				 &n->n_allowed_ips, err)) < 0 ||
	    (r = netmap_endpoints(f[NF_ENDPOINTS], path, &n->endpoints, &n->n_endpoints, err)) < 0 ||
	    (r = jsonx_strv(f[NF_TAGS], NETMAP_NAME_MAX, &n->tags, &n->n_tags, where, err)) < 0)
		return r;
	return 0;
}

int netmap_node_parse(const json_t *v, const char *path, struct netmap_node **out,
		      struct jsonx_err *err)
{
	const json_t *f[NF_COUNT];
	struct netmap_node *n = NULL;
	int r;

	*out = NULL;
	if ((r = jsonx_check(v, node_fields, NF_COUNT, f, path, err)) < 0)
		goto out;
	r = -ENOMEM;
	if ((n = mem_calloc(1, sizeof(*n))) == NULL ||
	    (n->name = netmap_strdup_or_empty(jsonx_str(f[NF_NAME]))) == NULL ||
	    (n->hostname = netmap_strdup_or_empty(jsonx_str(f[NF_HOSTNAME]))) == NULL ||
	    (n->os = netmap_strdup_or_empty(jsonx_str(f[NF_OS]))) == NULL)
		goto out;
	if ((r = netmap_node_keys(f, path, n, err)) < 0 ||
	    (r = netmap_node_numbers(f, path, n, err)) < 0 ||
	    (r = netmap_node_lists(f, path, n, err)) < 0)
		goto out;
	*out = n;
	n = NULL;
out:
	netmap_node_free(n);
	return r;
}

static void *netmap_memdup(const void *p, size_t n, size_t size)
{
	void *q = mem_calloc(n + 1, size);

	if (q != NULL && n > 0)
		memcpy(q, p, n * size);
	return q;
}

struct netmap_node *netmap_node_dup(const struct netmap_node *src)
{
	struct netmap_node *n = mem_calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	*n = *src;
	n->name = strdup(src->name);
	n->hostname = strdup(src->hostname);
	n->os = strdup(src->os);
	n->addresses = netmap_memdup(src->addresses, src->n_addresses, sizeof(*n->addresses));
	n->allowed_ips = netmap_memdup(src->allowed_ips, src->n_allowed_ips,
				       sizeof(*n->allowed_ips));
	n->endpoints = netmap_memdup(src->endpoints, src->n_endpoints, sizeof(*n->endpoints));
	n->tags = jsonx_strv_dup(src->tags, src->n_tags);
	if (!n->name || !n->hostname || !n->os || !n->addresses || !n->allowed_ips ||
	    !n->endpoints || !n->tags) {
		netmap_node_free(n);
		return NULL;
	}
	return n;
}

static bool netmap_prefixes_eq(const struct netprefix *a, size_t na, const struct netprefix *b,
			       size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!netprefix_eq(&a[i], &b[i]))
			return false;
	return true;
}

static bool netmap_endpoints_eq(const struct netendpoint *a, size_t na,
				const struct netendpoint *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!netendpoint_eq(&a[i], &b[i]))
			return false;
	return true;
}

static bool netmap_strv_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool netmap_other_eq(const struct netmap_node *a, const struct netmap_node *b)
{
	return a->id == b->id && a->user == b->user && strcmp(a->hostname, b->hostname) == 0 &&
	       strcmp(a->os, b->os) == 0 && keys_eq(a->machine.b, b->machine.b) &&
	       a->created == b->created && a->expired == b->expired;
}

uint32_t netmap_node_diff(const struct netmap_node *a, const struct netmap_node *b)
{
	uint32_t f = 0;

	f |= keys_eq(a->key.b, b->key.b) ? 0 : NETMAP_F_KEY;
	f |= keys_eq(a->disco.b, b->disco.b) ? 0 : NETMAP_F_DISCO;
	f |= netmap_prefixes_eq(a->addresses, a->n_addresses, b->addresses, b->n_addresses)
		     ? 0
		     : NETMAP_F_ADDRESSES;
	f |= netmap_prefixes_eq(a->allowed_ips, a->n_allowed_ips, b->allowed_ips,
				b->n_allowed_ips)
		     ? 0
		     : NETMAP_F_ALLOWED_IPS;
	f |= netmap_endpoints_eq(a->endpoints, a->n_endpoints, b->endpoints, b->n_endpoints)
		     ? 0
		     : NETMAP_F_ENDPOINTS;
	f |= a->relay_home == b->relay_home ? 0 : NETMAP_F_RELAY_HOME;
	f |= a->online == b->online ? 0 : NETMAP_F_ONLINE;
	f |= a->last_seen == b->last_seen ? 0 : NETMAP_F_LAST_SEEN;
	f |= a->key_expiry == b->key_expiry ? 0 : NETMAP_F_KEY_EXPIRY;
	f |= strcmp(a->name, b->name) == 0 ? 0 : NETMAP_F_NAME;
	f |= netmap_strv_eq(a->tags, a->n_tags, b->tags, b->n_tags) ? 0 : NETMAP_F_TAGS;
	f |= netmap_other_eq(a, b) ? 0 : NETMAP_F_OTHER;
	return f;
}

int netmap_time_write(struct buf_writer *w, int64_t t)
{
	char buf[JSONX_TIME_LEN];

	if (t == 0)
		return buf_put_str(w, "null");
	return jsonx_write_str(w, jsonx_time_format(t, buf));
}

static int netmap_prefixes_write(struct buf_writer *w, const struct netprefix *p, size_t n)
{
	char buf[NETPREFIX_STRLEN];

	buf_put_u8(w, '[');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_put_u8(w, ',');
		jsonx_write_str(w, netprefix_format(&p[i], buf, sizeof(buf)));
	}
	return buf_put_u8(w, ']');
}

int netmap_endpoints_write(struct buf_writer *w, const struct netendpoint *e, size_t n)
{
	char buf[NETENDPOINT_STRLEN];

	buf_put_u8(w, '[');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_put_u8(w, ',');
		jsonx_write_str(w, netendpoint_format(&e[i], buf, sizeof(buf)));
	}
	return buf_put_u8(w, ']');
}

static int netmap_strv_write(struct buf_writer *w, char *const *v, size_t n)
{
	buf_put_u8(w, '[');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_put_u8(w, ',');
		jsonx_write_str(w, v[i]);
	}
	return buf_put_u8(w, ']');
}

static void netmap_node_write_keys(struct buf_writer *w, const struct netmap_node *n)
{
	char k[KEY_PREFIXED_MAX];

	buf_put_str(w, ",\"Key\":");
	jsonx_write_str(w, node_public_format(&n->key, k, sizeof(k)));
	buf_put_str(w, ",\"KeyExpiry\":");
	netmap_time_write(w, n->key_expiry);
	buf_put_str(w, ",\"Machine\":");
	jsonx_write_str(w, machine_public_format(&n->machine, k, sizeof(k)));
	buf_put_str(w, ",\"DiscoKey\":");
	jsonx_write_str(w, disco_public_format(&n->disco, k, sizeof(k)));
}

int netmap_node_write(struct buf_writer *w, const struct netmap_node *n)
{
	buf_printf(w, "{\"ID\":%llu,\"Name\":", (unsigned long long)n->id);
	jsonx_write_str(w, n->name);
	buf_put_str(w, ",\"HostName\":");
	jsonx_write_str(w, n->hostname);
	buf_printf(w, ",\"User\":%llu", (unsigned long long)n->user);
	netmap_node_write_keys(w, n);
	buf_put_str(w, ",\"Addresses\":");
	netmap_prefixes_write(w, n->addresses, n->n_addresses);
	buf_put_str(w, ",\"AllowedIPs\":");
	netmap_prefixes_write(w, n->allowed_ips, n->n_allowed_ips);
	buf_put_str(w, ",\"Endpoints\":");
	netmap_endpoints_write(w, n->endpoints, n->n_endpoints);
	buf_printf(w, ",\"RelayHome\":%u,\"Online\":%s,\"LastSeen\":", n->relay_home,
		   n->online ? "true" : "false");
	netmap_time_write(w, n->last_seen);
	buf_put_str(w, ",\"Tags\":");
	netmap_strv_write(w, n->tags, n->n_tags);
	buf_put_str(w, ",\"OS\":");
	jsonx_write_str(w, n->os);
	buf_put_str(w, ",\"Created\":");
	netmap_time_write(w, n->created);
	buf_printf(w, ",\"Expired\":%s}", n->expired ? "true" : "false");
	return w->err ? -ENOSPC : 0;
}
