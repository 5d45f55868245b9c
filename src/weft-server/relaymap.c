/* SPDX-License-Identifier: ISC */
/* relaymap: the relay map of weft-server's network maps (see relaymap.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/atomicfile.h"
#include "core/buf.h"
#include "core/netaddr.h"
#include "core/numparse.h"
#include "json/jsonx.h"
#include "netmap/netmap.h"
#include "weft-server/config.h"
#include "weft-server/relaymap.h"
#include "yaml/yamlx.h"

/* DERPMap key (any case) -> weft's name; NULL: Tailscale's, not used by weft, dropped. */
static const struct {
	const char *from, *to;
} rm_keys[] = {
	{ "regions", "Regions" },
	{ "regionid", "RegionID" },
	{ "regioncode", "RegionCode" },
	{ "regionname", "RegionName" },
	{ "nodes", "Nodes" },
	{ "name", "Name" },
	{ "hostname", "HostName" },
	{ "ipv4", "IPv4" },
	{ "ipv6", "IPv6" },
	{ "stunport", "STUNPort" },
	{ "derpport", "RelayPort" },
	{ "relayport", "RelayPort" },
	{ "http", "HTTP" },
	{ "latitude", NULL },
	{ "longitude", NULL },
	{ "avoid", NULL },
	{ "nomeasurenohome", NULL },
	{ "certname", NULL },
	{ "stunonly", NULL },
	{ "canport80", NULL },
	{ "stuntestip", NULL },
	{ "insecurefortests", NULL },
	{ "omitdefaultregions", NULL },
	{ "homeparams", NULL },
};

static bool rm_all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* 1: renamed into *to; 0: dropped; -1: unknown. Region IDs (digits) keep their name. */
static int rm_key(const char *k, const char **to)
{
	if (rm_all_digits(k)) {
		*to = k;
		return 1;
	}
	for (size_t i = 0; i < sizeof(rm_keys) / sizeof(rm_keys[0]); i++) {
		if (strcasecmp(k, rm_keys[i].from) == 0) {
			*to = rm_keys[i].to;
			return *to != NULL;
		}
	}
	return -1;
}

static json_t *rm_scalar(const struct yamlx_node *n)
{
	int64_t v;

	if (!n->plain)
		return json_string(n->str);
	if (yamlx_is_null(n))
		return json_null();
	if (strcmp(n->str, "true") == 0 || strcmp(n->str, "false") == 0)
		return json_boolean(n->str[0] == 't');
	if (numparse_i64(n->str, INT64_MIN, INT64_MAX, &v) == 0)
		return json_integer((json_int_t)v);
	return json_string(n->str);
}

/* A YAML tree as JSON with the keys renamed; NULL with err on an unknown key or ENOMEM. */
static json_t *rm_from_yaml(const struct yamlx_node *n, const char *name, char *err, size_t errlen)
{
	json_t *o;

	switch (n->kind) {
	case YAMLX_SCALAR:
		return rm_scalar(n);
	case YAMLX_SEQ:
		if ((o = json_array()) == NULL)
			return NULL;
		for (size_t i = 0; i < n->n; i++) {
			json_t *c = rm_from_yaml(n->items[i], name, err, errlen);
			if (c == NULL || json_array_append_new(o, c) < 0)
				goto fail;
		}
		return o;
	case YAMLX_MAP:
		if ((o = json_object()) == NULL)
			return NULL;
		for (size_t i = 0; i < n->n; i++) {
			const char *to;
			json_t *c;
			int k = rm_key(n->keys[i], &to);
			if (k < 0) {
				snprintf(err, errlen, "%s: line %u: unknown relay map key `%s'", name,
					 n->key_lines[i], n->keys[i]);
				goto fail;
			}
			if (k == 0)
				continue;
			c = rm_from_yaml(n->items[i], name, err, errlen);
			if (c == NULL || json_object_set_new(o, to, c) < 0)
				goto fail;
		}
		return o;
	}
	return NULL;
fail:
	json_decref(o);
	return NULL;
}

/* The same renaming for a JSON document, in place. */
static int rm_rename_json(json_t *v, const char *name, char *err, size_t errlen)
{
	if (json_is_array(v)) {
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c) {
			if (rm_rename_json(c, name, err, errlen) < 0)
				return -EINVAL;
		}
		return 0;
	}
	if (!json_is_object(v))
		return 0;
	json_t *out = json_object();
	const char *k;
	json_t *c;
	int r = 0;

	if (out == NULL)
		return -ENOMEM;
	json_object_foreach(v, k, c) {
		const char *to;
		int kr = rm_key(k, &to);
		if (kr < 0) {
			snprintf(err, errlen, "%s: unknown relay map key `%s'", name, k);
			r = -EINVAL;
			break;
		}
		if (kr == 0)
			continue;
		if ((r = rm_rename_json(c, name, err, errlen)) < 0)
			break;
		if (json_object_set(out, to, c) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	/* Swap the renamed keys in (out holds its own references). */
	if (r == 0 && (json_object_clear(v) < 0 || json_object_update(v, out) < 0))
		r = -ENOMEM;
	json_decref(out);
	return r;
}

static json_t *rm_load(const char *name, const void *buf, size_t len, char *err, size_t errlen)
{
	const char *p = buf;
	size_t i = 0;
	json_t *v = NULL;

	while (i < len && isspace((unsigned char)p[i]))
		i++;
	if (i < len && p[i] == '{') {
		struct jsonx_err je;
		if (jsonx_load((const uint8_t *)buf, len, &v, &je) < 0) {
			snprintf(err, errlen, "%s: %s", name, je.msg);
			return NULL;
		}
		if (rm_rename_json(v, name, err, errlen) < 0) {
			json_decref(v);
			return NULL;
		}
		return v;
	}
	struct yamlx_node *y = NULL;
	struct yamlx_err ye;
	if (yamlx_parse(buf, len, &y, &ye) < 0) {
		snprintf(err, errlen, "%s: line %u: %s", name, ye.line, ye.msg);
		return NULL;
	}
	if (y->kind != YAMLX_MAP)
		snprintf(err, errlen, "%s: a relay map is a mapping with `regions'", name);
	else if ((v = rm_from_yaml(y, name, err, errlen)) == NULL && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	yamlx_free(y);
	return v;
}

int srv_relaymap_add_doc(struct netmap_relaymap *m, const char *name, const void *buf, size_t len,
			 char *err, size_t errlen)
{
	struct netmap_relaymap add = { 0 };
	struct netmap_relay_region *grown;
	struct jsonx_err je;
	json_t *v;
	int r;

	err[0] = '\0';
	if ((v = rm_load(name, buf, len, err, errlen)) == NULL)
		return -EINVAL;
	r = netmap_relaymap_parse(v, &add, &je);
	json_decref(v);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", name, je.msg);
		goto out;
	}
	for (size_t i = 0; i < add.n_regions; i++) {
		for (size_t j = 0; j < m->n_regions; j++) {
			if (m->regions[j].id == add.regions[i].id) {
				snprintf(err, errlen, "%s: region %u is defined twice", name,
					 add.regions[i].id);
				r = -EINVAL;
				goto out;
			}
		}
	}
	if (m->n_regions + add.n_regions > SRV_RELAYMAP_MAX_REGIONS) {
		snprintf(err, errlen, "%s: more than %d relay regions", name, SRV_RELAYMAP_MAX_REGIONS);
		r = -EINVAL;
		goto out;
	}
	grown = realloc(m->regions, (m->n_regions + add.n_regions + 1) * sizeof(*grown));
	if (grown == NULL) {
		r = -ENOMEM;
		goto out;
	}
	m->regions = grown;
	/* The regions move: `add` keeps an empty array. */
	memcpy(m->regions + m->n_regions, add.regions, add.n_regions * sizeof(*grown));
	m->n_regions += add.n_regions;
	add.n_regions = 0;
out:
	netmap_relaymap_clear(&add);
	return r;
}

/* "scheme://host[:port][/...]" into its parts; host without brackets. */
static int rm_split_url(const char *url, bool *http, char *host, size_t hostlen, uint16_t *port)
{
	const char *p, *end;
	size_t n;

	if (strncmp(url, "http://", 7) == 0) {
		*http = true;
		p = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		*http = false;
		p = url + 8;
	} else {
		return -EINVAL;
	}
	*port = *http ? 80 : 443;
	if (*p == '[') {
		end = strchr(p, ']');
		if (end == NULL)
			return -EINVAL;
		n = (size_t)(end - p - 1);
		p++;
		end++;
	} else {
		end = p + strcspn(p, ":/");
		n = (size_t)(end - p);
	}
	if (n == 0 || n >= hostlen)
		return -EINVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	if (*end == ':') {
		char num[8];
		size_t k = strcspn(end + 1, "/");
		uint64_t v;
		if (k == 0 || k >= sizeof(num))
			return -EINVAL;
		memcpy(num, end + 1, k);
		num[k] = '\0';
		if (numparse_u64(num, 1, 65535, &v) < 0)
			return -EINVAL;
		*port = (uint16_t)v;
	}
	return 0;
}

/*
 * One node of the embedded region: the relay at server_url's host and port,
 * STUN at stun_port on `stun_ip` (an address literal, or "" for none: nodes
 * send STUN only to literals and do not resolve names for it yet).
 */
static void rm_embedded_node(struct buf_writer *w, const struct srv_config *cfg, char suffix,
			     const char *host, uint16_t port, bool http, const char *stun_ip,
			     uint16_t stun_port)
{
	struct netaddr a;

	buf_printf(w, "{\"Name\":\"%u%c\",\"RegionID\":%u,\"HostName\":", cfg->relay_region_id,
		   suffix, cfg->relay_region_id);
	jsonx_write_str(w, host);
	if (netaddr_parse(stun_ip, &a) == 0) {
		buf_put_str(w, a.family == NETADDR_V4 ? ",\"IPv4\":" : ",\"IPv6\":");
		jsonx_write_str(w, stun_ip);
	}
	buf_printf(w, ",\"STUNPort\":%u,\"RelayPort\":%u%s}", stun_port, port,
		   http ? ",\"HTTP\":true" : "");
}

/*
 * The second STUN address's host for the map: its own when it is a specific
 * address, else (0.0.0.0, ::) the relay's host.
 */
static const char *rm_second_stun_ip(const char *listen_host, const char *relay_host)
{
	struct netaddr a;

	if (netaddr_parse(listen_host, &a) == 0 && !netaddr_is_unspecified(&a))
		return listen_host;
	return relay_host;
}

int srv_relaymap_embedded(const struct srv_config *cfg, struct netmap_relaymap *out, char *err,
			  size_t errlen)
{
	char host[256], stunhost[NETADDR_STRLEN], host2[NETADDR_STRLEN];
	uint16_t port, stun_port = 3478, stun_port2 = 0;
	const char *second = cfg->stun_second_listen_addr;
	struct buf_writer w;
	bool http;
	int r;

	if (rm_split_url(cfg->server_url, &http, host, sizeof(host), &port) < 0) {
		snprintf(err, errlen,
			 "server_url `%s': want http(s)://HOST[:PORT] for the embedded relay",
			 cfg->server_url);
		return -EINVAL;
	}
	if (cfg->stun_listen_addr != NULL && cfg->stun_listen_addr[0] != '\0' &&
	    srv_config_split_hostport(cfg->stun_listen_addr, stunhost, sizeof(stunhost),
				      &stun_port) < 0) {
		snprintf(err, errlen, "derp.server.stun_listen_addr `%s': want ADDR:PORT",
			 cfg->stun_listen_addr);
		return -EINVAL;
	}
	if (second != NULL && second[0] != '\0' &&
	    (srv_config_split_hostport(second, host2, sizeof(host2), &stun_port2) < 0 ||
	     stun_port2 == 0)) {
		snprintf(err, errlen, "derp.server.stun_second_listen_addr `%s': want ADDR:PORT",
			 second);
		return -EINVAL;
	}
	buf_writer_growable(&w, SRV_RELAYMAP_FILE_MAX);
	buf_printf(&w,
		   "{\"Regions\":{\"%u\":{\"RegionID\":%u,\"RegionCode\":", cfg->relay_region_id,
		   cfg->relay_region_id);
	jsonx_write_str(&w, cfg->relay_region_code);
	buf_put_str(&w, ",\"RegionName\":");
	jsonx_write_str(&w, cfg->relay_region_name ? cfg->relay_region_name : "");
	buf_put_str(&w, ",\"Nodes\":[");
	rm_embedded_node(&w, cfg, 'a', host, port, http, host, stun_port);
	/* A second STUN endpoint is a second node of the same relay: a node compares the
	 * mappings the two saw (hard NAT) and would fail over to the same relay. */
	if (stun_port2 != 0) {
		buf_put_u8(&w, ',');
		rm_embedded_node(&w, cfg, 'b', host, port, http, rm_second_stun_ip(host2, host),
				 stun_port2);
	}
	buf_put_str(&w, "]}}}");
	if (w.err) {
		buf_writer_free(&w);
		return -ENOMEM;
	}
	r = srv_relaymap_add_doc(out, "derp.server", w.p, w.len, err, errlen);
	buf_writer_free(&w);
	return r;
}

int srv_relaymap_build(const struct srv_config *cfg, char **out, char *err, size_t errlen)
{
	struct netmap_relaymap m = { 0 };
	struct buf_writer w;
	int r = 0;

	*out = NULL;
	err[0] = '\0';
	buf_writer_growable(&w, SRV_RELAYMAP_FILE_MAX);
	if (cfg->relay_enabled && (r = srv_relaymap_embedded(cfg, &m, err, errlen)) < 0)
		goto out;
	for (size_t i = 0; i < cfg->derp_paths.n; i++) {
		const char *path = cfg->derp_paths.v[i];
		uint8_t *buf = NULL;
		size_t len = 0;
		r = atomicfile_read(path, SRV_RELAYMAP_FILE_MAX, &buf, &len);
		if (r < 0) {
			snprintf(err, errlen, "derp.paths: cannot read %s: %s", path, strerror(-r));
			goto out;
		}
		r = srv_relaymap_add_doc(&m, path, buf, len, err, errlen);
		free(buf);
		if (r < 0)
			goto out;
	}
	if ((r = netmap_relaymap_write(&w, &m)) < 0)
		goto out;
	buf_put_u8(&w, '\0');
	if (w.err) {
		r = -ENOMEM;
		goto out;
	}
	*out = (char *)buf_writer_steal(&w, &(size_t){ 0 });
out:
	buf_writer_free(&w);
	netmap_relaymap_clear(&m);
	return r;
}
