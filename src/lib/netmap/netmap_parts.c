/* SPDX-License-Identifier: ISC */
/*
 * netmap_parts: the parts of a network map other than peers, in JSON
 * (docs/PROTOCOL.md 3.6.2-3.6.4): DNS config, relay map and users; strict
 * parsers and the writers the server uses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/numparse.h"
#include "json/jsonx.h"
#include "netmap/netmap.h"

#define NETMAP_MAX_LIST 256
#define NETMAP_MAX_REGIONS 1024

/* DNS */

enum { DF_MAGIC, DF_BASE, DF_NS, DF_SPLIT, DF_SEARCH, DF_RECORDS, DF_COUNT };
static const struct jsonx_field dns_fields[DF_COUNT] = {
	[DF_MAGIC] = { "MagicDNS", JSONX_BOOL, 0, 0 },
	[DF_BASE] = { "BaseDomain", JSONX_STRING, 0, NETMAP_NAME_MAX },
	[DF_NS] = { "Nameservers", JSONX_ARRAY, JSONX_F_NULL, NETMAP_MAX_LIST },
	[DF_SPLIT] = { "SplitDNS", JSONX_OBJECT, JSONX_F_NULL, 0 },
	[DF_SEARCH] = { "SearchDomains", JSONX_ARRAY, JSONX_F_NULL, NETMAP_MAX_LIST },
	[DF_RECORDS] = { "ExtraRecords", JSONX_ARRAY, JSONX_F_NULL, 4096 },
};

enum { RF_NAME, RF_TYPE, RF_VALUE, RF_COUNT };
static const struct jsonx_field record_fields[RF_COUNT] = {
	[RF_NAME] = { "Name", JSONX_STRING, JSONX_F_REQUIRED, NETMAP_NAME_MAX },
	[RF_TYPE] = { "Type", JSONX_STRING, JSONX_F_REQUIRED, 16 },
	[RF_VALUE] = { "Value", JSONX_STRING, JSONX_F_REQUIRED, NETMAP_NAME_MAX },
};

void netmap_dns_clear(struct netmap_dns *d)
{
	free(d->base_domain);
	jsonx_strv_free(d->nameservers);
	for (size_t i = 0; i < d->n_split; i++) {
		free(d->split[i].domain);
		jsonx_strv_free(d->split[i].nameservers);
	}
	free(d->split);
	jsonx_strv_free(d->search_domains);
	for (size_t i = 0; i < d->n_records; i++) {
		free(d->records[i].name);
		free(d->records[i].type);
		free(d->records[i].value);
	}
	free(d->records);
	memset(d, 0, sizeof(*d));
}

static int netmap_dns_split_parse(const json_t *v, struct netmap_dns *d, struct jsonx_err *err)
{
	char where[JSONX_PATH_LEN];
	const char *domain;
	json_t *ns;
	size_t n = v ? json_object_size(v) : 0, i = 0;
	int r;

	if (n > NETMAP_MAX_LIST)
		return jsonx_fail(err, "DNS", "SplitDNS", "more than %d domains", NETMAP_MAX_LIST);
	if ((d->split = mem_calloc(n + 1, sizeof(*d->split))) == NULL)
		return -ENOMEM;
	json_object_foreach((json_t *)v, domain, ns) {
		jsonx_path_field(where, "DNS.SplitDNS", domain);
		if (!json_is_array(ns) || json_array_size(ns) > NETMAP_MAX_LIST)
			return jsonx_fail(err, where, "", "expected an array of nameservers");
		if ((d->split[i].domain = strdup(domain)) == NULL)
			return -ENOMEM;
		d->n_split = i + 1;
		if ((r = jsonx_strv(ns, NETMAP_NAME_MAX, &d->split[i].nameservers,
				    &d->split[i].n_nameservers, where, err)) < 0)
			return r;
		i++;
	}
	return 0;
}

static int netmap_dns_records_parse(const json_t *v, struct netmap_dns *d, struct jsonx_err *err)
{
	char where[JSONX_PATH_LEN];
	const json_t *f[RF_COUNT];
	size_t n = v ? json_array_size(v) : 0;
	int r;

	if ((d->records = mem_calloc(n + 1, sizeof(*d->records))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct netmap_dns_record *rec = &d->records[i];
		jsonx_path_index(where, "DNS.ExtraRecords", i);
		if ((r = jsonx_check(json_array_get(v, i), record_fields, RF_COUNT, f, where,
				     err)) < 0)
			return r;
		rec->name = strdup(jsonx_str(f[RF_NAME]));
		rec->type = strdup(jsonx_str(f[RF_TYPE]));
		rec->value = strdup(jsonx_str(f[RF_VALUE]));
		d->n_records = i + 1;
		if (!rec->name || !rec->type || !rec->value)
			return -ENOMEM;
	}
	return 0;
}

int netmap_dns_parse(const json_t *v, struct netmap_dns *out, struct jsonx_err *err)
{
	const json_t *f[DF_COUNT];
	struct netmap_dns d = { 0 };
	int r;

	if ((r = jsonx_check(v, dns_fields, DF_COUNT, f, "DNS", err)) < 0)
		goto out;
	d.magic_dns = jsonx_bool(f[DF_MAGIC]);
	if ((d.base_domain = strdup(f[DF_BASE] ? jsonx_str(f[DF_BASE]) : "")) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = jsonx_strv(f[DF_NS], NETMAP_NAME_MAX, &d.nameservers, &d.n_nameservers,
			    "DNS.Nameservers", err)) < 0 ||
	    (r = jsonx_strv(f[DF_SEARCH], NETMAP_NAME_MAX, &d.search_domains,
			    &d.n_search_domains, "DNS.SearchDomains", err)) < 0 ||
	    (r = netmap_dns_split_parse(f[DF_SPLIT], &d, err)) < 0 ||
	    (r = netmap_dns_records_parse(f[DF_RECORDS], &d, err)) < 0)
		goto out;
	netmap_dns_clear(out);
	*out = d;
	memset(&d, 0, sizeof(d));
out:
	netmap_dns_clear(&d);
	return r;
}

static void netmap_strv_write_json(struct buf_writer *w, char *const *v, size_t n)
{
	buf_put_u8(w, '[');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_put_u8(w, ',');
		jsonx_write_str(w, v[i]);
	}
	buf_put_u8(w, ']');
}

int netmap_dns_write(struct buf_writer *w, const struct netmap_dns *d)
{
	buf_printf(w, "{\"MagicDNS\":%s,\"BaseDomain\":", d->magic_dns ? "true" : "false");
	jsonx_write_str(w, d->base_domain ? d->base_domain : "");
	buf_put_str(w, ",\"Nameservers\":");
	netmap_strv_write_json(w, d->nameservers, d->n_nameservers);
	buf_put_str(w, ",\"SplitDNS\":{");
	for (size_t i = 0; i < d->n_split; i++) {
		if (i > 0)
			buf_put_u8(w, ',');
		jsonx_write_str(w, d->split[i].domain);
		buf_put_u8(w, ':');
		netmap_strv_write_json(w, d->split[i].nameservers, d->split[i].n_nameservers);
	}
	buf_put_str(w, "},\"SearchDomains\":");
	netmap_strv_write_json(w, d->search_domains, d->n_search_domains);
	buf_put_str(w, ",\"ExtraRecords\":[");
	for (size_t i = 0; i < d->n_records; i++) {
		buf_put_str(w, i > 0 ? ",{\"Name\":" : "{\"Name\":");
		jsonx_write_str(w, d->records[i].name);
		buf_put_str(w, ",\"Type\":");
		jsonx_write_str(w, d->records[i].type);
		buf_put_str(w, ",\"Value\":");
		jsonx_write_str(w, d->records[i].value);
		buf_put_u8(w, '}');
	}
	buf_put_str(w, "]}");
	return w->err ? -ENOSPC : 0;
}

/* Relay map */

enum { GF_ID, GF_CODE, GF_NAME, GF_NODES, GF_COUNT };
static const struct jsonx_field region_fields[GF_COUNT] = {
	[GF_ID] = { "RegionID", JSONX_UINT, JSONX_F_REQUIRED, 0 },
	[GF_CODE] = { "RegionCode", JSONX_STRING, 0, 64 },
	[GF_NAME] = { "RegionName", JSONX_STRING, 0, NETMAP_NAME_MAX },
	[GF_NODES] = { "Nodes", JSONX_ARRAY, JSONX_F_NULL, 64 },
};

enum { XF_NAME, XF_REGION, XF_HOST, XF_V4, XF_V6, XF_STUN, XF_RELAY, XF_HTTP, XF_COUNT };
static const struct jsonx_field relay_node_fields[XF_COUNT] = {
	[XF_NAME] = { "Name", JSONX_STRING, 0, NETMAP_NAME_MAX },
	[XF_REGION] = { "RegionID", JSONX_UINT, 0, 0 },
	[XF_HOST] = { "HostName", JSONX_STRING, JSONX_F_REQUIRED, NETMAP_NAME_MAX },
	[XF_V4] = { "IPv4", JSONX_STRING, 0, 64 },
	[XF_V6] = { "IPv6", JSONX_STRING, 0, 64 },
	[XF_STUN] = { "STUNPort", JSONX_INT, 0, 0 },
	[XF_RELAY] = { "RelayPort", JSONX_INT, 0, 0 },
	[XF_HTTP] = { "HTTP", JSONX_BOOL, 0, 0 },
};

void netmap_relaymap_clear(struct netmap_relaymap *m)
{
	for (size_t i = 0; i < m->n_regions; i++) {
		struct netmap_relay_region *g = &m->regions[i];
		for (size_t j = 0; j < g->n_nodes; j++) {
			free(g->nodes[j].name);
			free(g->nodes[j].hostname);
			free(g->nodes[j].ipv4);
			free(g->nodes[j].ipv6);
		}
		free(g->nodes);
		free(g->code);
		free(g->name);
	}
	free(m->regions);
	memset(m, 0, sizeof(*m));
}

static char *netmap_str_field(const json_t *v)
{
	return strdup(v ? jsonx_str(v) : "");
}

static int netmap_relay_port(const json_t *v, const char *path, const char *name, uint16_t *out,
			     struct jsonx_err *err)
{
	int64_t p = jsonx_int(v);

	if (p < 0 || p > 65535)
		return jsonx_fail(err, path, name, "must be a port in 0-65535");
	*out = (uint16_t)p;
	return 0;
}

static int netmap_relay_node_parse(const json_t *v, const char *path, struct netmap_relay_node *n,
				   struct jsonx_err *err)
{
	const json_t *f[XF_COUNT];
	uint64_t region;
	int r;

	if ((r = jsonx_check(v, relay_node_fields, XF_COUNT, f, path, err)) < 0)
		return r;
	if (jsonx_uint(f[XF_REGION], &region) < 0 || region > UINT32_MAX)
		return jsonx_fail(err, path, "RegionID", "out of range");
	n->region_id = (uint32_t)region;
	n->http = jsonx_bool(f[XF_HTTP]);
	n->name = netmap_str_field(f[XF_NAME]);
	n->hostname = netmap_str_field(f[XF_HOST]);
	n->ipv4 = netmap_str_field(f[XF_V4]);
	n->ipv6 = netmap_str_field(f[XF_V6]);
	if (!n->name || !n->hostname || !n->ipv4 || !n->ipv6)
		return -ENOMEM;
	if ((r = netmap_relay_port(f[XF_STUN], path, "STUNPort", &n->stun_port, err)) < 0 ||
	    (r = netmap_relay_port(f[XF_RELAY], path, "RelayPort", &n->relay_port, err)) < 0)
		return r;
	return 0;
}

static int netmap_region_parse(const char *key, const json_t *v, struct netmap_relay_region *g,
			       struct jsonx_err *err)
{
	char path[JSONX_PATH_LEN], where[JSONX_PATH_LEN];
	const json_t *f[GF_COUNT];
	uint64_t id, keyid;
	size_t n;
	int r;

	jsonx_path_field(path, "RelayMap.Regions", key);
	if ((r = jsonx_check(v, region_fields, GF_COUNT, f, path, err)) < 0)
		return r;
	if (jsonx_uint(f[GF_ID], &id) < 0 || id == 0 || id > UINT32_MAX ||
	    numparse_u64(key, 1, UINT32_MAX, &keyid) < 0 || keyid != id)
		return jsonx_fail(err, path, "RegionID", "must be 1-4294967295 and equal its key");
	g->id = (uint32_t)id;
	g->code = netmap_str_field(f[GF_CODE]);
	g->name = netmap_str_field(f[GF_NAME]);
	n = f[GF_NODES] ? json_array_size(f[GF_NODES]) : 0;
	if (!g->code || !g->name || (g->nodes = mem_calloc(n + 1, sizeof(*g->nodes))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		jsonx_path_index(where, path, i);
		g->n_nodes = i + 1;
		if ((r = netmap_relay_node_parse(json_array_get(f[GF_NODES], i), where,
						 &g->nodes[i], err)) < 0)
			return r;
	}
	return 0;
}

int netmap_relaymap_parse(const json_t *v, struct netmap_relaymap *out, struct jsonx_err *err)
{
	static const struct jsonx_field top[] = { { "Regions", JSONX_OBJECT, JSONX_F_NULL, 0 } };
	struct netmap_relaymap m = { 0 };
	const json_t *regions;
	const char *key;
	json_t *rv;
	size_t n;
	int r;

	if ((r = jsonx_check(v, top, 1, &regions, "RelayMap", err)) < 0)
		goto out;
	n = regions ? json_object_size(regions) : 0;
	if (n > NETMAP_MAX_REGIONS) {
		r = jsonx_fail(err, "RelayMap", "Regions", "more than %d", NETMAP_MAX_REGIONS);
		goto out;
	}
	r = -ENOMEM;
	if ((m.regions = mem_calloc(n + 1, sizeof(*m.regions))) == NULL)
		goto out;
	r = 0;
	json_object_foreach((json_t *)regions, key, rv) {
		if ((r = netmap_region_parse(key, rv, &m.regions[m.n_regions++], err)) < 0)
			goto out;
	}
	netmap_relaymap_clear(out);
	*out = m;
	memset(&m, 0, sizeof(m));
out:
	netmap_relaymap_clear(&m);
	return r;
}

static void netmap_relay_node_write(struct buf_writer *w, const struct netmap_relay_node *n)
{
	buf_put_str(w, "{\"Name\":");
	jsonx_write_str(w, n->name);
	buf_printf(w, ",\"RegionID\":%u,\"HostName\":", n->region_id);
	jsonx_write_str(w, n->hostname);
	buf_put_str(w, ",\"IPv4\":");
	jsonx_write_str(w, n->ipv4);
	buf_put_str(w, ",\"IPv6\":");
	jsonx_write_str(w, n->ipv6);
	buf_printf(w, ",\"STUNPort\":%u,\"RelayPort\":%u", n->stun_port, n->relay_port);
	buf_put_str(w, n->http ? ",\"HTTP\":true}" : "}");
}

int netmap_relaymap_write(struct buf_writer *w, const struct netmap_relaymap *m)
{
	buf_put_str(w, "{\"Regions\":{");
	for (size_t i = 0; i < m->n_regions; i++) {
		const struct netmap_relay_region *g = &m->regions[i];
		buf_printf(w, "%s\"%u\":{\"RegionID\":%u,\"RegionCode\":", i ? "," : "", g->id,
			   g->id);
		jsonx_write_str(w, g->code);
		buf_put_str(w, ",\"RegionName\":");
		jsonx_write_str(w, g->name);
		buf_put_str(w, ",\"Nodes\":[");
		for (size_t j = 0; j < g->n_nodes; j++) {
			if (j > 0)
				buf_put_u8(w, ',');
			netmap_relay_node_write(w, &g->nodes[j]);
		}
		buf_put_str(w, "]}");
	}
	buf_put_str(w, "}}");
	return w->err ? -ENOSPC : 0;
}

/* Users */

int netmap_user_write(struct buf_writer *w, const struct netmap_user *u)
{
	buf_printf(w, "{\"ID\":%llu,\"Name\":", (unsigned long long)u->id);
	jsonx_write_str(w, u->name);
	buf_put_str(w, ",\"DisplayName\":");
	jsonx_write_str(w, u->display_name ? u->display_name : "");
	buf_put_u8(w, '}');
	return w->err ? -ENOSPC : 0;
}
