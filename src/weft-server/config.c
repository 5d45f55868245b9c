/* SPDX-License-Identifier: ISC */
/* config: Headscale-named YAML keys into struct srv_config, validated whole (see config.h). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomicfile.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/numparse.h"
#include "weft-server/config.h"
#include "yaml/yamlx.h"

#define CFG_FILE_MAX (1u << 20)
#define CFG_PATH_MAX 128

enum cfg_kind {
	K_STR,	   /* "" or null: unset */
	K_BOOL,
	K_DURATION,
	K_U32,
	K_PERM,	   /* octal file mode, e.g. "0770" */
	K_STRV,	   /* a list of strings */
	K_SPLIT,   /* map domain -> list of nameservers */
	K_RECORDS, /* list of {name, type, value} */
	K_PREFIX,  /* a prefix, "" disables */
	K_ENUM,
};

struct cfg_key {
	const char *path;
	enum cfg_kind kind;
	size_t off;
	size_t flag_off;	 /* K_PREFIX: the have_ flag */
	const char *const *names; /* K_ENUM: accepted values, index = value */
};

static const char *const alloc_names[] = { "sequential", "random", NULL };
static const char *const dbtype_names[] = { "sqlite", "postgres", NULL };
static const char *const policy_names[] = { "file", "database", NULL };
static const char *const logfmt_names[] = { "text", "json", NULL };

#define O(f) offsetof(struct srv_config, f)
static const struct cfg_key cfg_keys[] = {
	{ "server_url", K_STR, O(server_url), 0, NULL },
	{ "listen_addr", K_STR, O(listen_addr), 0, NULL },
	{ "metrics_listen_addr", K_STR, O(metrics_listen_addr), 0, NULL },
	{ "unix_socket", K_STR, O(unix_socket), 0, NULL },
	{ "unix_socket_permission", K_PERM, O(unix_socket_permission), 0, NULL },
	{ "tls_cert_path", K_STR, O(tls_cert_path), 0, NULL },
	{ "tls_key_path", K_STR, O(tls_key_path), 0, NULL },
	{ "noise.private_key_path", K_STR, O(server_key_path), 0, NULL },
	{ "prefixes.v4", K_PREFIX, O(prefix_v4), O(have_v4), NULL },
	{ "prefixes.v6", K_PREFIX, O(prefix_v6), O(have_v6), NULL },
	{ "prefixes.allocation", K_ENUM, O(allocation), 0, alloc_names },
	{ "database.type", K_ENUM, O(db_type), 0, dbtype_names },
	{ "database.sqlite.path", K_STR, O(sqlite_path), 0, NULL },
	{ "database.sqlite.write_ahead_log", K_BOOL, O(sqlite_wal), 0, NULL },
	{ "database.postgres.host", K_STR, O(pg_host), 0, NULL },
	{ "database.postgres.port", K_U32, O(pg_port), 0, NULL },
	{ "database.postgres.name", K_STR, O(pg_name), 0, NULL },
	{ "database.postgres.user", K_STR, O(pg_user), 0, NULL },
	{ "database.postgres.pass", K_STR, O(pg_pass), 0, NULL },
	{ "database.postgres.ssl", K_STR, O(pg_ssl), 0, NULL },
	{ "dns.magic_dns", K_BOOL, O(magic_dns), 0, NULL },
	{ "dns.base_domain", K_STR, O(base_domain), 0, NULL },
	{ "dns.override_local_dns", K_BOOL, O(override_local_dns), 0, NULL },
	{ "dns.nameservers.global", K_STRV, O(nameservers), 0, NULL },
	{ "dns.nameservers.split", K_SPLIT, O(split), 0, NULL },
	{ "dns.search_domains", K_STRV, O(search_domains), 0, NULL },
	{ "dns.extra_records", K_RECORDS, O(records), 0, NULL },
	{ "derp.server.enabled", K_BOOL, O(relay_enabled), 0, NULL },
	{ "derp.server.region_id", K_U32, O(relay_region_id), 0, NULL },
	{ "derp.server.region_code", K_STR, O(relay_region_code), 0, NULL },
	{ "derp.server.region_name", K_STR, O(relay_region_name), 0, NULL },
	{ "derp.server.stun_listen_addr", K_STR, O(stun_listen_addr), 0, NULL },
	{ "derp.server.stun_second_listen_addr", K_STR, O(stun_second_listen_addr), 0, NULL },
	{ "derp.paths", K_STRV, O(derp_paths), 0, NULL },
	{ "derp.urls", K_STRV, O(derp_urls), 0, NULL },
	{ "ephemeral_node_inactivity_timeout", K_DURATION, O(ephemeral_inactivity_ns), 0, NULL },
	{ "node.ephemeral.inactivity_timeout", K_DURATION, O(ephemeral_inactivity_ns), 0, NULL },
	{ "node.expiry", K_DURATION, O(node_expiry_ns), 0, NULL },
	{ "log.level", K_STR, O(log_level), 0, NULL },
	{ "log.format", K_ENUM, O(log_format), 0, logfmt_names },
	{ "policy.mode", K_ENUM, O(policy_mode), 0, policy_names },
	{ "policy.path", K_STR, O(policy_path), 0, NULL },
	{ "cli.address", K_STR, O(cli_address), 0, NULL },
	{ "cli.api_key", K_STR, O(cli_api_key), 0, NULL },
	{ "cli.timeout", K_DURATION, O(cli_timeout_ns), 0, NULL },
	{ "cli.insecure", K_BOOL, O(cli_insecure), 0, NULL },
};
#undef O
#define CFG_N_KEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/*
 * Headscale keys weft accepts and ignores (with a warning): a key here also
 * covers everything below it.
 */
static const char *const cfg_unimplemented[] = {
	"acl_policy_path",
	"acme_email",
	"acme_url",
	"auto_update",
	"database.debug",
	"database.gorm",
	"database.postgres.conn_max_idle_time_secs",
	"database.postgres.max_idle_conns",
	"database.postgres.max_open_conns",
	"database.sqlite.wal_autocheckpoint",
	"derp.auto_update_enabled",
	"derp.server.automatically_add_embedded_derp_region",
	"derp.server.ipv4",
	"derp.server.ipv6",
	"derp.server.private_key_path",
	"derp.server.verify_clients",
	"derp.update_frequency",
	"disable_check_updates",
	"dns.extra_records_path",
	"dns.use_username_in_magic_dns",
	"grpc_allow_insecure",
	"grpc_listen_addr",
	"logtail",
	"node.routes",
	"oidc",
	"randomize_client_port",
	"taildrop",
	"tls_letsencrypt_cache_dir",
	"tls_letsencrypt_challenge_type",
	"tls_letsencrypt_hostname",
	"tls_letsencrypt_listen",
	"trusted_proxies",
	"tuning",
};

struct cfg_ctx {
	struct srv_config *c;
	const char *name;
	char *err;
	unsigned lines[CFG_N_KEYS]; /* where each key was set, 0 when not in the file */
};

/* The line that set `path` (0 when it came from the defaults), for whole-config errors. */
static unsigned cfg_line(const struct cfg_ctx *x, const char *path)
{
	for (size_t i = 0; i < CFG_N_KEYS; i++)
		if (strcmp(cfg_keys[i].path, path) == 0)
			return x->lines[i];
	return 0;
}

/* The later of two keys' lines: where a pair that must agree was last touched. */
static unsigned cfg_line2(const struct cfg_ctx *x, const char *a, const char *b)
{
	unsigned la = cfg_line(x, a), lb = cfg_line(x, b);

	return la > lb ? la : lb;
}

static int cfg_fail(struct cfg_ctx *x, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cfg_fail(struct cfg_ctx *x, unsigned line, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (line > 0)
		n = (size_t)snprintf(x->err, SRV_CONFIG_ERR_LEN, "%s:%u: ", x->name, line);
	else
		n = (size_t)snprintf(x->err, SRV_CONFIG_ERR_LEN, "%s: ", x->name);
	if (n < SRV_CONFIG_ERR_LEN) {
		va_start(ap, fmt);
		vsnprintf(x->err + n, SRV_CONFIG_ERR_LEN - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static void cfg_strv_clear(struct srv_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static int cfg_strv_add(struct srv_strv *v, const char *s)
{
	char **nv = mem_reallocarray(v->v, v->n + 2, sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	v->v = nv;
	if ((nv[v->n] = strdup(s)) == NULL)
		return -ENOMEM;
	nv[++v->n] = NULL;
	return 0;
}

static int cfg_set_str(char **dst, const char *s)
{
	char *d = NULL;

	if (s != NULL && s[0] != '\0' && (d = strdup(s)) == NULL)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

static const char *cfg_scalar(struct cfg_ctx *x, const struct yamlx_node *n, const char *path,
			      int *r)
{
	*r = 0;
	if (yamlx_is_null(n))
		return "";
	if (n->kind != YAMLX_SCALAR) {
		*r = cfg_fail(x, n->line, "`%s' must be a single value", path);
		return NULL;
	}
	return n->str;
}

static int cfg_strv(struct cfg_ctx *x, const struct yamlx_node *n, const char *path,
		    struct srv_strv *out)
{
	cfg_strv_clear(out);
	if (yamlx_is_null(n))
		return 0;
	if (n->kind != YAMLX_SEQ)
		return cfg_fail(x, n->line, "`%s' must be a list", path);
	for (size_t i = 0; i < n->n; i++) {
		const struct yamlx_node *it = n->items[i];
		if (it->kind != YAMLX_SCALAR || it->str[0] == '\0')
			return cfg_fail(x, it->line, "`%s' items must be non-empty strings", path);
		if (cfg_strv_add(out, it->str) < 0)
			return cfg_fail(x, 0, "out of memory");
	}
	return 0;
}

static int cfg_split(struct cfg_ctx *x, const struct yamlx_node *n, const char *path)
{
	struct srv_config *c = x->c;
	int r;

	if (yamlx_is_null(n))
		return 0;
	if (n->kind != YAMLX_MAP)
		return cfg_fail(x, n->line, "`%s' must map domains to lists of nameservers",
				path);
	c->split = mem_calloc(n->n ? n->n : 1, sizeof(*c->split));
	if (c->split == NULL)
		return cfg_fail(x, 0, "out of memory");
	for (size_t i = 0; i < n->n; i++) {
		struct srv_dns_split *s = &c->split[c->n_split++];
		char sub[CFG_PATH_MAX];

		snprintf(sub, sizeof(sub), "%s.%s", path, n->keys[i]);
		if ((s->domain = strdup(n->keys[i])) == NULL)
			return cfg_fail(x, 0, "out of memory");
		if ((r = cfg_strv(x, n->items[i], sub, &s->servers)) < 0)
			return r;
		if (s->servers.n == 0)
			return cfg_fail(x, n->key_lines[i], "`%s' needs at least one nameserver",
					sub);
		for (size_t j = 0; j < s->servers.n; j++) {
			struct netaddr a;
			if (netaddr_parse(s->servers.v[j], &a) < 0)
				return cfg_fail(x, n->items[i]->items[j]->line,
						"`%s': `%s' is not an IP address", sub,
						s->servers.v[j]);
		}
	}
	return 0;
}

static int cfg_records(struct cfg_ctx *x, const struct yamlx_node *n, const char *path)
{
	struct srv_config *c = x->c;

	if (yamlx_is_null(n))
		return 0;
	if (n->kind != YAMLX_SEQ)
		return cfg_fail(x, n->line, "`%s' must be a list of {name, type, value}", path);
	c->records = mem_calloc(n->n ? n->n : 1, sizeof(*c->records));
	if (c->records == NULL)
		return cfg_fail(x, 0, "out of memory");
	for (size_t i = 0; i < n->n; i++) {
		const struct yamlx_node *it = n->items[i];
		struct srv_dns_record *rec = &c->records[c->n_records++];
		const char *f[3] = { "name", "type", "value" };
		char **dst[3] = { &rec->name, &rec->type, &rec->value };
		struct netaddr a;
		bool v4;

		if (it->kind != YAMLX_MAP)
			return cfg_fail(x, it->line, "`%s' items must be {name, type, value}",
					path);
		for (size_t k = 0; k < it->n; k++)
			if (strcmp(it->keys[k], "name") != 0 && strcmp(it->keys[k], "type") != 0 &&
			    strcmp(it->keys[k], "value") != 0)
				return cfg_fail(x, it->key_lines[k], "unknown key `%s.%s'", path,
						it->keys[k]);
		for (size_t k = 0; k < 3; k++) {
			const struct yamlx_node *v = yamlx_get(it, f[k]);
			if (v == NULL || v->kind != YAMLX_SCALAR || v->str[0] == '\0')
				return cfg_fail(x, it->line, "`%s' item needs a `%s'", path, f[k]);
			if ((*dst[k] = strdup(v->str)) == NULL)
				return cfg_fail(x, 0, "out of memory");
		}
		if (strcmp(rec->type, "A") != 0 && strcmp(rec->type, "AAAA") != 0)
			return cfg_fail(x, it->line, "`%s': type `%s' is not supported (A or AAAA)",
					path, rec->type);
		v4 = strcmp(rec->type, "A") == 0;
		if (netaddr_parse(rec->value, &a) < 0 || a.family != (v4 ? NETADDR_V4 : NETADDR_V6))
			return cfg_fail(x, it->line, "`%s': `%s' is not an %s address", path,
					rec->value, v4 ? "IPv4" : "IPv6");
	}
	return 0;
}

static int cfg_leaf(struct cfg_ctx *x, const struct cfg_key *k, const struct yamlx_node *n,
		    const char *path)
{
	char *base = (char *)x->c;
	const char *s;
	uint64_t u;
	int r;

	switch (k->kind) {
	case K_STRV:
		return cfg_strv(x, n, path, (struct srv_strv *)(base + k->off));
	case K_SPLIT:
		return cfg_split(x, n, path);
	case K_RECORDS:
		return cfg_records(x, n, path);
	case K_STR:
	case K_BOOL:
	case K_DURATION:
	case K_U32:
	case K_PERM:
	case K_PREFIX:
	case K_ENUM:
		break;
	}
	if ((s = cfg_scalar(x, n, path, &r)) == NULL)
		return r;
	switch (k->kind) {
	case K_STR:
		if (cfg_set_str((char **)(base + k->off), s) < 0)
			return cfg_fail(x, 0, "out of memory");
		return 0;
	case K_BOOL:
		if (numparse_bool(s, (bool *)(base + k->off)) < 0)
			return cfg_fail(x, n->line, "`%s': `%s' is not true or false", path, s);
		return 0;
	case K_DURATION:
		if (numparse_duration_ns(s, (uint64_t *)(base + k->off)) < 0)
			return cfg_fail(x, n->line,
					"`%s': `%s' is not a duration (like 30m, 1h30m, 90d, or 0)",
					path, s);
		return 0;
	case K_U32:
		if (numparse_u64(s, 0, UINT32_MAX, &u) < 0)
			return cfg_fail(x, n->line, "`%s': `%s' is not a number", path, s);
		*(uint32_t *)(base + k->off) = (uint32_t)u;
		return 0;
	case K_PERM: {
		char *end;
		unsigned long m;
		errno = 0;
		m = strtoul(s, &end, 8);
		if (s[0] < '0' || s[0] > '7' || *end != '\0' || errno != 0 || m > 0777)
			return cfg_fail(x, n->line, "`%s': `%s' is not an octal mode like 0770",
					path, s);
		*(mode_t *)(base + k->off) = (mode_t)m;
		return 0;
	}
	case K_PREFIX:
		*(bool *)(base + k->flag_off) = s[0] != '\0';
		if (s[0] != '\0' && netprefix_parse(s, (struct netprefix *)(base + k->off)) < 0)
			return cfg_fail(x, n->line, "`%s': `%s' is not a prefix like 100.64.0.0/10",
					path, s);
		return 0;
	case K_ENUM:
		for (int i = 0; k->names[i] != NULL; i++) {
			if (strcmp(s, k->names[i]) == 0) {
				*(int *)(base + k->off) = i;
				return 0;
			}
		}
		return cfg_fail(x, n->line, "`%s': `%s' is not one of %s%s%s", path, s,
				k->names[0], k->names[1] ? ", " : "", k->names[1] ? k->names[1] : "");
	case K_STRV:
	case K_SPLIT:
	case K_RECORDS:
		break;
	}
	return 0;
}

static bool cfg_is_unimplemented(const char *path)
{
	for (size_t i = 0; i < sizeof(cfg_unimplemented) / sizeof(cfg_unimplemented[0]); i++) {
		size_t n = strlen(cfg_unimplemented[i]);
		if (strncmp(path, cfg_unimplemented[i], n) == 0 &&
		    (path[n] == '\0' || path[n] == '.'))
			return true;
	}
	return false;
}

/* Whether some implemented key lies below `path`. */
static bool cfg_is_parent(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < CFG_N_KEYS; i++)
		if (strncmp(cfg_keys[i].path, path, n) == 0 && cfg_keys[i].path[n] == '.')
			return true;
	return false;
}

static int cfg_warn(struct cfg_ctx *x, const char *path, unsigned line)
{
	struct srv_config *c = x->c;
	char msg[CFG_PATH_MAX + 96];

	if (c->n_warnings == SRV_CONFIG_MAX_WARNINGS)
		return 0;
	snprintf(msg, sizeof(msg), "%s:%u: `%s' is a Headscale setting weft does not implement; ignored",
		 x->name, line, path);
	if ((c->warnings[c->n_warnings] = strdup(msg)) == NULL)
		return cfg_fail(x, 0, "out of memory");
	c->n_warnings++;
	return 0;
}

static int cfg_walk(struct cfg_ctx *x, const struct yamlx_node *map, const char *prefix)
{
	int r;

	for (size_t i = 0; i < map->n; i++) {
		const struct yamlx_node *v = map->items[i];
		const struct cfg_key *k = NULL;
		char path[CFG_PATH_MAX];
		int len = snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "",
				   map->keys[i]);

		if (len < 0 || (size_t)len >= sizeof(path))
			return cfg_fail(x, map->key_lines[i], "key `%s' is too long", map->keys[i]);
		for (size_t j = 0; j < CFG_N_KEYS; j++)
			if (strcmp(cfg_keys[j].path, path) == 0)
				k = &cfg_keys[j];
		if (k != NULL) {
			x->lines[k - cfg_keys] = map->key_lines[i];
			if ((r = cfg_leaf(x, k, v, path)) < 0)
				return r;
		} else if (cfg_is_unimplemented(path)) {
			if ((r = cfg_warn(x, path, map->key_lines[i])) < 0)
				return r;
		} else if (cfg_is_parent(path)) {
			if (yamlx_is_null(v))
				continue;
			if (v->kind != YAMLX_MAP)
				return cfg_fail(x, v->line, "`%s' must be a mapping of settings",
						path);
			if ((r = cfg_walk(x, v, path)) < 0)
				return r;
		} else {
			return cfg_fail(x, map->key_lines[i],
					"unknown key `%s' (see docs/weft-server.md for the keys)",
					path);
		}
	}
	return 0;
}

static bool cfg_valid_domain(const char *s)
{
	size_t label = 0, n = strlen(s);

	if (n == 0 || n > 200 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i <= n; i++) {
		char ch = s[i];
		if (ch == '.' || ch == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return false;
		if (ch == '-' && label == 0)
			return false;
		label++;
	}
	return true;
}

int srv_config_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon;
	uint32_t p;
	size_t hl;

	if (s == NULL || s[0] == '\0')
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -EINVAL;
		hl = (size_t)(close - s - 1);
		s++;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	if (hl >= hostlen || numparse_u32(colon + 1, 1, 65535, &p) < 0)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}

static const char *const pg_sslmodes[] = { "disable", "allow", "prefer", "require", "verify-ca",
					    "verify-full" };

const char *srv_config_pg_sslmode(const struct srv_config *c)
{
	bool on;

	if (c->pg_ssl == NULL)
		return NULL;
	/* Headscale's true/false; true asks for TLS outright (libpq's `prefer' would fall back). */
	if (numparse_bool(c->pg_ssl, &on) == 0)
		return on ? "require" : "disable";
	for (size_t i = 0; i < sizeof(pg_sslmodes) / sizeof(pg_sslmodes[0]); i++)
		if (strcmp(c->pg_ssl, pg_sslmodes[i]) == 0)
			return pg_sslmodes[i];
	return NULL;
}

/* database.type: postgres needs where and which database; the rest has defaults. */
static int cfg_check_postgres(struct cfg_ctx *x)
{
	const struct srv_config *c = x->c;

	if (c->pg_host == NULL)
		return cfg_fail(x, cfg_line2(x, "database.type", "database.postgres.host"),
				"`database.type: postgres' needs `database.postgres.host' (a host "
				"name, an address, or a unix-socket directory such as "
				"/var/run/postgresql)");
	if (c->pg_name == NULL)
		return cfg_fail(x, cfg_line2(x, "database.type", "database.postgres.name"),
				"`database.type: postgres' needs `database.postgres.name'");
	if (c->pg_port == 0 || c->pg_port > 65535)
		return cfg_fail(x, cfg_line(x, "database.postgres.port"),
				"`database.postgres.port': %u is not a port (1-65535)", c->pg_port);
	if (c->pg_ssl != NULL && srv_config_pg_sslmode(c) == NULL)
		return cfg_fail(x, cfg_line(x, "database.postgres.ssl"),
				"`database.postgres.ssl': `%s' is not true, false, or an sslmode "
				"(disable, allow, prefer, require, verify-ca, verify-full)",
				c->pg_ssl);
	return 0;
}

static int cfg_check_listen(struct cfg_ctx *x, const char *key, const char *v)
{
	char host[NETADDR_STRLEN];
	struct netaddr a;
	uint16_t port;

	if (srv_config_split_hostport(v, host, sizeof(host), &port) < 0 ||
	    (host[0] != '\0' && netaddr_parse(host, &a) < 0))
		return cfg_fail(x, cfg_line(x, key),
				"`%s': `%s' is not an address:port like 127.0.0.1:8080", key,
				v ? v : "");
	return 0;
}

static int cfg_validate(struct cfg_ctx *x)
{
	struct srv_config *c = x->c;
	int r;

	if (c->server_url == NULL || (strncmp(c->server_url, "http://", 7) != 0 &&
				      strncmp(c->server_url, "https://", 8) != 0))
		return cfg_fail(x, cfg_line(x, "server_url"),
				"`server_url': `%s' must start with http:// or https://",
				c->server_url ? c->server_url : "");
	if ((r = cfg_check_listen(x, "listen_addr", c->listen_addr)) < 0)
		return r;
	if (c->metrics_listen_addr != NULL &&
	    (r = cfg_check_listen(x, "metrics_listen_addr", c->metrics_listen_addr)) < 0)
		return r;
	if ((c->tls_cert_path == NULL) != (c->tls_key_path == NULL))
		return cfg_fail(x, cfg_line2(x, "tls_cert_path", "tls_key_path"),
				"`tls_cert_path' and `tls_key_path' must be set together");
	if (c->unix_socket == NULL)
		return cfg_fail(x, cfg_line(x, "unix_socket"), "`unix_socket' must not be empty");
	if (!c->have_v4 && !c->have_v6)
		return cfg_fail(x, cfg_line2(x, "prefixes.v4", "prefixes.v6"),
				"`prefixes': at least one of v4 and v6 must be set");
	if (c->have_v4 && (c->prefix_v4.addr.family != NETADDR_V4 ||
			   c->prefix_v4.bits < netaddr_cgnat_prefix.bits ||
			   !netprefix_contains(&netaddr_cgnat_prefix, &c->prefix_v4.addr) ||
			   c->prefix_v4.bits > 30))
		return cfg_fail(x, cfg_line(x, "prefixes.v4"),
				"`prefixes.v4' must lie within 100.64.0.0/10 and hold at least 4 addresses");
	if (c->have_v6 && (c->prefix_v6.addr.family != NETADDR_V6 ||
			   c->prefix_v6.bits < netaddr_ula_prefix.bits ||
			   !netprefix_contains(&netaddr_ula_prefix, &c->prefix_v6.addr) ||
			   c->prefix_v6.bits > 120))
		return cfg_fail(x, cfg_line(x, "prefixes.v6"),
				"`prefixes.v6' must lie within fd7a:115c:a1e0::/48");
	if (c->db_type == SRV_DB_SQLITE && c->sqlite_path == NULL)
		return cfg_fail(x, cfg_line(x, "database.sqlite.path"),
				"`database.sqlite.path' must not be empty");
	if (c->db_type == SRV_DB_POSTGRES && (r = cfg_check_postgres(x)) < 0)
		return r;
	if (c->magic_dns && c->base_domain == NULL)
		return cfg_fail(x, cfg_line2(x, "dns.magic_dns", "dns.base_domain"),
				"`dns.magic_dns' needs `dns.base_domain'");
	if (c->base_domain != NULL && !cfg_valid_domain(c->base_domain))
		return cfg_fail(x, cfg_line(x, "dns.base_domain"),
				"`dns.base_domain': `%s' is not a lower-case DNS name like tail.example.com",
				c->base_domain);
	if (c->base_domain != NULL) {
		const char *host = strstr(c->server_url, "://") + 3;
		size_t bl = strlen(c->base_domain), hl = strcspn(host, ":/");
		if (hl >= bl && strncmp(host + hl - bl, c->base_domain, bl) == 0 &&
		    (hl == bl || host[hl - bl - 1] == '.'))
			return cfg_fail(x, cfg_line2(x, "dns.base_domain", "server_url"),
					"`dns.base_domain' (%s) must not contain the server_url's host: "
					"MagicDNS would answer for the server itself",
					c->base_domain);
	}
	if (c->override_local_dns && c->nameservers.n == 0)
		return cfg_fail(x, cfg_line2(x, "dns.override_local_dns", "dns.nameservers.global"),
				"`dns.override_local_dns' needs `dns.nameservers.global'");
	for (size_t i = 0; i < c->nameservers.n; i++) {
		struct netaddr a;
		if (netaddr_parse(c->nameservers.v[i], &a) < 0)
			return cfg_fail(x, cfg_line(x, "dns.nameservers.global"),
					"`dns.nameservers.global': `%s' is not an IP address",
					c->nameservers.v[i]);
	}
	if (c->relay_enabled && (c->relay_region_id == 0 || c->relay_region_code == NULL))
		return cfg_fail(x, cfg_line(x, "derp.server.enabled"),
				"`derp.server.enabled' needs `derp.server.region_id' (> 0) and `region_code'");
	if (c->log_level != NULL) {
		static const char *const lv[] = { "error", "warn", "info", "debug", "trace" };
		bool ok = false;
		for (size_t i = 0; i < 5; i++)
			ok |= strcmp(c->log_level, lv[i]) == 0;
		if (!ok)
			return cfg_fail(x, cfg_line(x, "log.level"),
					"`log.level': `%s' is not one of error, warn, info, debug, trace",
					c->log_level);
	}
	return 0;
}

static void cfg_free_strings(struct srv_config *c)
{
	char **strs[] = {
		&c->path, &c->server_url, &c->listen_addr, &c->metrics_listen_addr,
		&c->unix_socket, &c->tls_cert_path, &c->tls_key_path, &c->server_key_path,
		&c->sqlite_path, &c->pg_host, &c->pg_name, &c->pg_user, &c->pg_pass, &c->pg_ssl,
		&c->base_domain, &c->relay_region_code, &c->relay_region_name,
		&c->stun_listen_addr, &c->stun_second_listen_addr, &c->log_level, &c->policy_path,
		&c->cli_address,
	};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
}

void srv_config_free(struct srv_config *c)
{
	/* Checked before any &c->field is formed: that is undefined on NULL. */
	if (c == NULL)
		return;
	if (c->pg_pass != NULL)
		mem_wipe(c->pg_pass, strlen(c->pg_pass));
	cfg_free_strings(c);
	if (c->cli_api_key != NULL) {
		mem_wipe(c->cli_api_key, strlen(c->cli_api_key));
		free(c->cli_api_key);
	}
	cfg_strv_clear(&c->nameservers);
	cfg_strv_clear(&c->search_domains);
	cfg_strv_clear(&c->derp_paths);
	cfg_strv_clear(&c->derp_urls);
	for (size_t i = 0; i < c->n_split; i++) {
		free(c->split[i].domain);
		cfg_strv_clear(&c->split[i].servers);
	}
	free(c->split);
	for (size_t i = 0; i < c->n_records; i++) {
		free(c->records[i].name);
		free(c->records[i].type);
		free(c->records[i].value);
	}
	free(c->records);
	for (size_t i = 0; i < c->n_warnings; i++)
		free(c->warnings[i]);
	free(c);
}

int srv_config_defaults(struct srv_config **out)
{
	struct srv_config *c = calloc(1, sizeof(*c));
	int bad = 0;

	*out = NULL;
	if (c == NULL)
		return -ENOMEM;
	bad |= cfg_set_str(&c->server_url, "http://127.0.0.1:8080");
	bad |= cfg_set_str(&c->listen_addr, SRV_DEFAULT_LISTEN);
	bad |= cfg_set_str(&c->metrics_listen_addr, SRV_DEFAULT_METRICS_LISTEN);
	bad |= cfg_set_str(&c->unix_socket, SRV_DEFAULT_ADMIN_SOCKET);
	c->unix_socket_permission = 0770;
	bad |= cfg_set_str(&c->server_key_path, SRV_DEFAULT_STATE_DIR "/server.key");
	c->have_v4 = c->have_v6 = true;
	c->prefix_v4 = netaddr_cgnat_prefix;
	c->prefix_v6 = netaddr_ula_prefix;
	c->db_type = SRV_DB_SQLITE;
	bad |= cfg_set_str(&c->sqlite_path, SRV_DEFAULT_STATE_DIR "/db.sqlite");
	c->sqlite_wal = true;
	c->pg_port = 5432;
	c->magic_dns = true;
	bad |= cfg_set_str(&c->base_domain, "weft.internal");
	/* On by default, as in Headscale's example configuration: nodes behind NAT need it. */
	c->relay_enabled = true;
	c->relay_region_id = 999;
	bad |= cfg_set_str(&c->relay_region_code, "weft");
	bad |= cfg_set_str(&c->relay_region_name, "weft embedded relay");
	bad |= cfg_set_str(&c->stun_listen_addr, "0.0.0.0:3478");
	bad |= cfg_set_str(&c->stun_second_listen_addr, "");
	c->ephemeral_inactivity_ns = 30ULL * 60 * 1000000000ULL;
	bad |= cfg_set_str(&c->log_level, "info");
	c->cli_timeout_ns = 5ULL * 1000000000ULL;
	if (bad) {
		srv_config_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

int srv_config_parse(const void *buf, size_t len, const char *name, struct srv_config **out,
		     char err[static SRV_CONFIG_ERR_LEN])
{
	struct cfg_ctx x = { .name = name, .err = err };
	struct yamlx_node *root = NULL;
	struct yamlx_err ye;
	int r;

	*out = NULL;
	err[0] = '\0';
	if ((r = srv_config_defaults(&x.c)) < 0)
		return cfg_fail(&x, 0, "out of memory");
	if (yamlx_parse(buf, len, &root, &ye) < 0) {
		r = cfg_fail(&x, ye.line, "%s", ye.msg);
		goto out;
	}
	if (root->kind != YAMLX_MAP) {
		r = cfg_fail(&x, root->line, "the configuration must be a mapping of settings");
		goto out;
	}
	if ((r = cfg_walk(&x, root, "")) < 0)
		goto out;
	if ((r = cfg_set_str(&x.c->path, name)) < 0 || (r = cfg_validate(&x)) < 0)
		goto out;
	*out = x.c;
	x.c = NULL;
out:
	yamlx_free(root);
	if (x.c != NULL)
		srv_config_free(x.c);
	return r < 0 ? -EINVAL : 0;
}

int srv_config_load(const char *path, struct srv_config **out, char err[static SRV_CONFIG_ERR_LEN])
{
	uint8_t *buf = NULL;
	size_t len;
	int r;

	*out = NULL;
	if ((r = atomicfile_read(path, CFG_FILE_MAX, &buf, &len)) < 0) {
		snprintf(err, SRV_CONFIG_ERR_LEN, "cannot read config %s: %s%s", path, strerror(-r),
			 r == -ENOENT ? " (run without --config for the embedded defaults)" : "");
		return r;
	}
	r = srv_config_parse(buf, len, path, out, err);
	free(buf);
	return r;
}

/* The UTF-8 sequence at s: its code point and length, or -1 when it is not valid UTF-8. */
static int32_t dump_utf8(const unsigned char *s, size_t *len)
{
	int32_t cp;
	size_t n;

	if (s[0] < 0x80) {
		*len = 1;
		return s[0];
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return -1;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return -1;
	*len = n;
	return cp;
}

/*
 * A YAML double-quoted string that reads back as s: quotes and backslashes
 * escaped, and every character YAML would fold, strip or refuse in a file
 * (controls, line separators, the BOM, non-characters) written as an escape.
 */
static void dump_quoted(struct buf_writer *w, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t n;

	buf_put_u8(w, '"');
	while (*s != '\0') {
		int32_t cp = dump_utf8(s, &n);

		if (cp < 0) {
			buf_printf(w, "\\x%02x", *s++); /* not UTF-8: cannot come from a parse */
			continue;
		}
		if (cp == '"' || cp == '\\')
			buf_printf(w, "\\%c", (char)cp);
		else if (cp >= 0x20 && cp <= 0x7e)
			buf_put_u8(w, (uint8_t)cp);
		else if (cp < 0xa0)
			buf_printf(w, "\\x%02x", (unsigned)cp);
		else if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || cp == 0xfffe ||
			 cp == 0xffff)
			buf_printf(w, "\\u%04x", (unsigned)cp);
		else
			for (size_t i = 0; i < n; i++)
				buf_put_u8(w, s[i]);
		s += n;
	}
	buf_put_u8(w, '"');
}

static void dump_str(struct buf_writer *w, const char *indent, const char *key, const char *v)
{
	buf_printf(w, "%s%s: ", indent, key);
	dump_quoted(w, v);
	buf_put_u8(w, '\n');
}

static void dump_duration(struct buf_writer *w, const char *indent, const char *key, uint64_t ns)
{
	/* Whole seconds read best; anything finer is kept exactly. */
	if (ns % 1000000000ULL == 0)
		buf_printf(w, "%s%s: %llus\n", indent, key, (unsigned long long)(ns / 1000000000ULL));
	else
		buf_printf(w, "%s%s: %lluns\n", indent, key, (unsigned long long)ns);
}

static void dump_strv(struct buf_writer *w, const char *indent, const char *key,
		      const struct srv_strv *v)
{
	buf_printf(w, "%s", indent);
	dump_quoted(w, key);
	buf_put_str(w, ": [");
	for (size_t i = 0; i < v->n; i++) {
		if (i > 0)
			buf_put_str(w, ", ");
		dump_quoted(w, v->v[i]);
	}
	buf_put_str(w, "]\n");
}

char *srv_config_dump(const struct srv_config *c)
{
	struct buf_writer w;
	char p4[NETPREFIX_STRLEN] = "", p6[NETPREFIX_STRLEN] = "";
	uint8_t *out;
	size_t len;

	buf_writer_growable(&w, 1 << 20);
	dump_str(&w, "", "server_url", c->server_url);
	dump_str(&w, "", "listen_addr", c->listen_addr);
	dump_str(&w, "", "metrics_listen_addr", c->metrics_listen_addr);
	dump_str(&w, "", "unix_socket", c->unix_socket);
	buf_printf(&w, "unix_socket_permission: \"0%o\"\n", (unsigned)c->unix_socket_permission);
	dump_str(&w, "", "tls_cert_path", c->tls_cert_path);
	dump_str(&w, "", "tls_key_path", c->tls_key_path);
	buf_put_str(&w, "noise:\n");
	dump_str(&w, "  ", "private_key_path", c->server_key_path);
	if (c->have_v4)
		netprefix_format(&c->prefix_v4, p4, sizeof(p4));
	if (c->have_v6)
		netprefix_format(&c->prefix_v6, p6, sizeof(p6));
	buf_printf(&w, "prefixes:\n  v4: \"%s\"\n  v6: \"%s\"\n  allocation: %s\n", p4, p6,
		   alloc_names[c->allocation]);
	buf_printf(&w, "database:\n  type: %s\n  sqlite:\n", dbtype_names[c->db_type]);
	dump_str(&w, "    ", "path", c->sqlite_path);
	buf_printf(&w, "    write_ahead_log: %s\n", c->sqlite_wal ? "true" : "false");
	buf_put_str(&w, "  postgres:\n");
	dump_str(&w, "    ", "host", c->pg_host);
	buf_printf(&w, "    port: %u\n", c->pg_port);
	dump_str(&w, "    ", "name", c->pg_name);
	dump_str(&w, "    ", "user", c->pg_user);
	buf_printf(&w, "    pass: \"%s\"\n", c->pg_pass ? "<set>" : "");
	dump_str(&w, "    ", "ssl", c->pg_ssl);
	buf_printf(&w, "dns:\n  magic_dns: %s\n", c->magic_dns ? "true" : "false");
	dump_str(&w, "  ", "base_domain", c->base_domain);
	buf_printf(&w, "  override_local_dns: %s\n", c->override_local_dns ? "true" : "false");
	buf_put_str(&w, "  nameservers:\n");
	dump_strv(&w, "    ", "global", &c->nameservers);
	buf_put_str(&w, "    split:\n");
	for (size_t i = 0; i < c->n_split; i++)
		dump_strv(&w, "      ", c->split[i].domain, &c->split[i].servers);
	dump_strv(&w, "  ", "search_domains", &c->search_domains);
	buf_put_str(&w, "  extra_records:\n");
	for (size_t i = 0; i < c->n_records; i++) {
		buf_put_str(&w, "    - {name: ");
		dump_quoted(&w, c->records[i].name);
		buf_printf(&w, ", type: %s, value: ", c->records[i].type);
		dump_quoted(&w, c->records[i].value);
		buf_put_str(&w, "}\n");
	}
	buf_printf(&w, "derp:\n  server:\n    enabled: %s\n    region_id: %u\n",
		   c->relay_enabled ? "true" : "false", c->relay_region_id);
	dump_str(&w, "    ", "region_code", c->relay_region_code);
	dump_str(&w, "    ", "region_name", c->relay_region_name);
	dump_str(&w, "    ", "stun_listen_addr", c->stun_listen_addr);
	dump_str(&w, "    ", "stun_second_listen_addr", c->stun_second_listen_addr);
	dump_strv(&w, "  ", "paths", &c->derp_paths);
	dump_strv(&w, "  ", "urls", &c->derp_urls);
	buf_put_str(&w, "node:\n");
	dump_duration(&w, "  ", "expiry", c->node_expiry_ns);
	buf_put_str(&w, "  ephemeral:\n");
	dump_duration(&w, "    ", "inactivity_timeout", c->ephemeral_inactivity_ns);
	buf_printf(&w, "log:\n  level: %s\n  format: %s\n", c->log_level ? c->log_level : "info",
		   logfmt_names[c->log_format]);
	buf_printf(&w, "policy:\n  mode: %s\n", policy_names[c->policy_mode]);
	dump_str(&w, "  ", "path", c->policy_path);
	buf_put_str(&w, "cli:\n");
	dump_str(&w, "  ", "address", c->cli_address);
	buf_printf(&w, "  api_key: \"%s\"\n", c->cli_api_key ? "<set>" : "");
	dump_duration(&w, "  ", "timeout", c->cli_timeout_ns);
	buf_printf(&w, "  insecure: %s\n", c->cli_insecure ? "true" : "false");
	if (buf_put_u8(&w, 0) < 0) {
		buf_writer_free(&w);
		return NULL;
	}
	out = buf_writer_steal(&w, &len);
	return (char *)out;
}
