/* SPDX-License-Identifier: ISC */
/*
 * config: weft-server's configuration, read from YAML with Headscale's key
 * names (docs/weft-server.md lists them) into one immutable struct validated
 * as a whole. Keys Headscale has and weft does not implement are accepted
 * with one warning each; any other key stops start-up with its name and line.
 */
#ifndef WEFT_SERVER_CONFIG_H
#define WEFT_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/netaddr.h"

#define SRV_DEFAULT_STATE_DIR "/var/lib/weft-server"
#define SRV_DEFAULT_ADMIN_SOCKET "/run/weft-server/admin.sock"
#define SRV_DEFAULT_LISTEN "127.0.0.1:8080"
#define SRV_DEFAULT_METRICS_LISTEN "127.0.0.1:9090"
#define SRV_CONFIG_ERR_LEN 512
#define SRV_CONFIG_MAX_WARNINGS 32

enum srv_alloc {
	SRV_ALLOC_SEQUENTIAL = 0,
	SRV_ALLOC_RANDOM = 1,
};

enum srv_db_type {
	SRV_DB_SQLITE = 0,
	SRV_DB_POSTGRES = 1,
};

enum srv_policy_mode {
	SRV_POLICY_FILE = 0,
	SRV_POLICY_DATABASE = 1,
};

enum srv_log_format {
	SRV_LOG_TEXT = 0,
	SRV_LOG_JSON = 1,
};

struct srv_strv {
	char **v;
	size_t n;
};

struct srv_dns_split {
	char *domain;
	struct srv_strv servers;
};

struct srv_dns_record {
	char *name;
	char *type; /* "A" or "AAAA" */
	char *value;
};

struct srv_config {
	char *path; /* the file read, or NULL for the embedded defaults */

	char *server_url;
	char *listen_addr;
	char *metrics_listen_addr; /* "" disables the metrics listener */
	char *unix_socket;
	mode_t unix_socket_permission;
	char *tls_cert_path; /* NULL: plain HTTP */
	char *tls_key_path;
	char *server_key_path; /* noise.private_key_path */

	bool have_v4, have_v6;
	struct netprefix prefix_v4;
	struct netprefix prefix_v6;
	enum srv_alloc allocation;

	enum srv_db_type db_type;
	char *sqlite_path;
	bool sqlite_wal;
	char *pg_host;
	uint32_t pg_port;
	char *pg_name;
	char *pg_user;
	char *pg_pass; /* secret: wiped by srv_config_free, never dumped or logged */
	char *pg_ssl;

	bool magic_dns;
	char *base_domain;
	bool override_local_dns;
	struct srv_strv nameservers;
	struct srv_dns_split *split;
	size_t n_split;
	struct srv_strv search_domains;
	struct srv_dns_record *records;
	size_t n_records;

	bool relay_enabled; /* derp.server.enabled */
	uint32_t relay_region_id;
	char *relay_region_code;
	char *relay_region_name;
	char *stun_listen_addr;
	char *stun_second_listen_addr; /* "": none (see srv_relaymap_embedded) */
	struct srv_strv derp_paths;
	struct srv_strv derp_urls;

	uint64_t ephemeral_inactivity_ns;
	uint64_t node_expiry_ns; /* 0: node keys never expire */

	char *log_level;
	enum srv_log_format log_format;

	enum srv_policy_mode policy_mode;
	char *policy_path;

	char *cli_address; /* remote administration */
	char *cli_api_key; /* secret: wiped by srv_config_free */
	uint64_t cli_timeout_ns;
	bool cli_insecure;

	/* Headscale keys that were present but are not implemented. */
	char *warnings[SRV_CONFIG_MAX_WARNINGS];
	size_t n_warnings;
};

/* The embedded defaults (no file). */
int srv_config_defaults(struct srv_config **out) __attribute__((warn_unused_result));
/*
 * Parses YAML text. `name` is used in messages ("config.yaml:12: ..."). On
 * error err holds one line naming the key and line and -EINVAL is returned.
 */
int srv_config_parse(const void *buf, size_t len, const char *name, struct srv_config **out,
		     char err[static SRV_CONFIG_ERR_LEN]) __attribute__((warn_unused_result));
/* Reads and parses a file (a missing file is an error naming it). */
int srv_config_load(const char *path, struct srv_config **out, char err[static SRV_CONFIG_ERR_LEN])
	__attribute__((warn_unused_result));
void srv_config_free(struct srv_config *c);
/* The effective configuration as YAML, secrets elided (`weft-server configtest --dump`). */
char *srv_config_dump(const struct srv_config *c);
/*
 * database.postgres.ssl as libpq's sslmode: false is "disable", true is
 * "require", an sslmode name is itself; NULL when unset (libpq's default).
 */
const char *srv_config_pg_sslmode(const struct srv_config *c);
/* Host and port of an "addr:port" / "[v6]:port" / ":port" listen address. */
int srv_config_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
	__attribute__((warn_unused_result));

#endif
