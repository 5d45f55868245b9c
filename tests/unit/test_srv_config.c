/* SPDX-License-Identifier: ISC */
/*
 * test_srv_config: weft-server's YAML configuration with Headscale's key
 * names: the embedded defaults, a full Headscale-style file, unknown keys and
 * invalid values refused with the key and line, Headscale keys weft does not
 * implement turned into warnings, the dump read back to the same config, and
 * yamlx's refusals (aliases, duplicate keys, deep nesting, several documents).
 */
#include <unistd.h>

#include "core/netaddr.h"
#include "weft-server/config.h"
#include "yaml/yamlx.h"
#include "testutil.h"

#define NS_PER_SEC 1000000000ULL

/* Parses text that must be accepted. */
static struct srv_config *parse_ok(const char *text)
{
	struct srv_config *c = NULL;
	char err[SRV_CONFIG_ERR_LEN];
	int r = srv_config_parse(text, strlen(text), "test.yaml", &c, err);

	if (r != 0)
		fail_msg("refused: %s\n--- input:\n%s", err, text);
	assert_non_null(c);
	return c;
}

/* Parses text that must be refused; the message goes to err. */
static void parse_bad(const char *text, char err[static SRV_CONFIG_ERR_LEN])
{
	struct srv_config *c = (struct srv_config *)1;

	assert_int_equal(srv_config_parse(text, strlen(text), "test.yaml", &c, err), -EINVAL);
	assert_null(c);
	assert_true(err[0] != '\0');
}

static void assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("`%s' does not contain `%s'", hay, needle);
}

static void assert_prefix(const struct netprefix *p, const char *want)
{
	char buf[NETPREFIX_STRLEN];

	assert_string_equal(netprefix_format(p, buf, sizeof(buf)), want);
}

static void check_defaults(const struct srv_config *c)
{
	assert_string_equal(c->listen_addr, "127.0.0.1:8080");
	assert_string_equal(c->listen_addr, SRV_DEFAULT_LISTEN);
	assert_true(c->have_v4);
	assert_true(c->have_v6);
	assert_prefix(&c->prefix_v4, "100.64.0.0/10");
	assert_prefix(&c->prefix_v6, "fd7a:115c:a1e0::/48");
	assert_int_equal(c->allocation, SRV_ALLOC_SEQUENTIAL);
	assert_int_equal(c->db_type, SRV_DB_SQLITE);
	assert_non_null(c->sqlite_path);
	assert_true(strncmp(c->sqlite_path, "/var/lib/weft-server/", 21) == 0);
	assert_string_equal(c->sqlite_path, SRV_DEFAULT_STATE_DIR "/db.sqlite");
	assert_string_equal(c->unix_socket, SRV_DEFAULT_ADMIN_SOCKET);
	assert_int_equal(c->unix_socket_permission, 0770);
	assert_null(c->tls_cert_path);
	assert_null(c->tls_key_path);
	assert_null(c->cli_api_key);
	assert_int_equal(c->node_expiry_ns, 0);
	assert_int_equal(c->n_warnings, 0);
}

static void test_defaults(void **state)
{
	static const char *const empties[] = { "", "\n", "# only a comment\n", "---\n", "~\n" };
	struct srv_config *c;

	(void)state;
	assert_int_equal(srv_config_defaults(&c), 0);
	check_defaults(c);
	assert_null(c->path);
	srv_config_free(c);
	srv_config_free(NULL);

	/* An empty file is the defaults too. */
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		c = parse_ok(empties[i]);
		check_defaults(c);
		assert_string_equal(c->path, "test.yaml");
		srv_config_free(c);
	}
}

/* A Headscale config (keys as in Headscale's example), with weft's values. */
static const char full_config[] =
	"---\n"
	"server_url: https://ctl.example.net:443\n"
	"listen_addr: 0.0.0.0:8080\n"
	"metrics_listen_addr: 127.0.0.1:9090\n"
	"grpc_listen_addr: 127.0.0.1:50443\n" /* line 5: not implemented */
	"grpc_allow_insecure: false\n"
	"noise:\n"
	"  private_key_path: /srv/weft/noise_private.key\n"
	"prefixes:\n"
	"  v4: 100.64.0.0/10\n"
	"  v6: fd7a:115c:a1e0::/48\n"
	"  allocation: random\n"
	"derp:\n"
	"  server:\n"
	"    enabled: true\n"
	"    region_id: 999\n"
	"    region_code: \"weft\"\n"
	"    region_name: \"weft relay\"\n"
	"    stun_listen_addr: \"0.0.0.0:3478\"\n"
	"    private_key_path: /srv/weft/derp_server_private.key\n" /* line 20 */
	"    automatically_add_embedded_derp_region: true\n"
	"    ipv4: 192.0.2.10\n"
	"    ipv6: 2001:db8::10\n"
	"  urls:\n"
	"    - https://relays.example.net/derp.json\n"
	"  paths: []\n"
	"  auto_update_enabled: true\n"
	"  update_frequency: 24h\n"
	"disable_check_updates: false\n"
	"ephemeral_node_inactivity_timeout: 30m\n" /* line 30 */
	"database:\n"
	"  type: sqlite\n"
	"  debug: false\n"
	"  gorm:\n"
	"    prepare_stmt: true\n"
	"    parameterized_queries: true\n"
	"    skip_err_record_not_found: true\n"
	"    slow_threshold: 1000\n"
	"  sqlite:\n"
	"    path: /srv/weft/db.sqlite\n" /* line 40 */
	"    write_ahead_log: true\n"
	"    wal_autocheckpoint: 1000\n"
	"acme_url: https://acme-v02.api.letsencrypt.org/directory\n"
	"acme_email: \"\"\n"
	"tls_letsencrypt_hostname: \"\"\n"
	"tls_letsencrypt_cache_dir: /srv/weft/cache\n"
	"tls_letsencrypt_challenge_type: HTTP-01\n"
	"tls_letsencrypt_listen: \":http\"\n"
	"tls_cert_path: \"\"\n"
	"tls_key_path: \"\"\n" /* line 50 */
	"log:\n"
	"  format: json\n"
	"  level: debug\n"
	"policy:\n"
	"  mode: file\n"
	"  path: /etc/weft/policy.hujson\n"
	"dns:\n"
	"  magic_dns: true\n"
	"  base_domain: tail.example.com\n"
	"  override_local_dns: true\n" /* line 60 */
	"  nameservers:\n"
	"    global:\n"
	"      - 1.1.1.1\n"
	"      - 2606:4700:4700::1111\n"
	"    split:\n"
	"      corp.example.org:\n"
	"        - 10.0.0.53\n"
	"  search_domains: [corp.example.org]\n"
	"  extra_records:\n"
	"    - name: \"grafana.tail.example.com\"\n" /* line 70 */
	"      type: \"A\"\n"
	"      value: \"100.64.0.3\"\n"
	"    - {name: \"v6.tail.example.com\", type: AAAA, value: \"fd7a:115c:a1e0::3\"}\n"
	"  use_username_in_magic_dns: false\n"
	"unix_socket: /var/run/weft/weft.sock\n"
	"unix_socket_permission: \"0770\"\n"
	"oidc:\n"
	"  only_start_if_oidc_is_available: true\n"
	"  issuer: \"https://sso.example.com\"\n"
	"  client_id: \"weft\"\n" /* line 80 */
	"  scope: [\"openid\", \"profile\", \"email\"]\n"
	"  allowed_groups: [\"/weft\"]\n"
	"logtail:\n"
	"  enabled: false\n"
	"randomize_client_port: false\n"
	"node:\n"
	"  expiry: 180d\n";

static void check_full(const struct srv_config *c)
{
	assert_string_equal(c->server_url, "https://ctl.example.net:443");
	assert_string_equal(c->listen_addr, "0.0.0.0:8080");
	assert_string_equal(c->metrics_listen_addr, "127.0.0.1:9090");
	assert_string_equal(c->server_key_path, "/srv/weft/noise_private.key");
	assert_prefix(&c->prefix_v4, "100.64.0.0/10");
	assert_prefix(&c->prefix_v6, "fd7a:115c:a1e0::/48");
	assert_int_equal(c->allocation, SRV_ALLOC_RANDOM);
	assert_true(c->relay_enabled);
	assert_int_equal(c->relay_region_id, 999);
	assert_string_equal(c->relay_region_code, "weft");
	assert_string_equal(c->relay_region_name, "weft relay");
	assert_string_equal(c->stun_listen_addr, "0.0.0.0:3478");
	assert_int_equal(c->derp_urls.n, 1);
	assert_string_equal(c->derp_urls.v[0], "https://relays.example.net/derp.json");
	assert_null(c->derp_urls.v[1]);
	assert_int_equal(c->derp_paths.n, 0);
	assert_int_equal(c->ephemeral_inactivity_ns, 30 * 60 * NS_PER_SEC);
	assert_int_equal(c->db_type, SRV_DB_SQLITE);
	assert_string_equal(c->sqlite_path, "/srv/weft/db.sqlite");
	assert_true(c->sqlite_wal);
	assert_null(c->tls_cert_path);
	assert_null(c->tls_key_path);
	assert_int_equal(c->log_format, SRV_LOG_JSON);
	assert_string_equal(c->log_level, "debug");
	assert_int_equal(c->policy_mode, SRV_POLICY_FILE);
	assert_string_equal(c->policy_path, "/etc/weft/policy.hujson");
	assert_true(c->magic_dns);
	assert_string_equal(c->base_domain, "tail.example.com");
	assert_true(c->override_local_dns);
	assert_int_equal(c->nameservers.n, 2);
	assert_string_equal(c->nameservers.v[0], "1.1.1.1");
	assert_string_equal(c->nameservers.v[1], "2606:4700:4700::1111");
	assert_int_equal(c->n_split, 1);
	assert_string_equal(c->split[0].domain, "corp.example.org");
	assert_int_equal(c->split[0].servers.n, 1);
	assert_string_equal(c->split[0].servers.v[0], "10.0.0.53");
	assert_int_equal(c->search_domains.n, 1);
	assert_string_equal(c->search_domains.v[0], "corp.example.org");
	assert_int_equal(c->n_records, 2);
	assert_string_equal(c->records[0].name, "grafana.tail.example.com");
	assert_string_equal(c->records[0].type, "A");
	assert_string_equal(c->records[0].value, "100.64.0.3");
	assert_string_equal(c->records[1].name, "v6.tail.example.com");
	assert_string_equal(c->records[1].type, "AAAA");
	assert_string_equal(c->records[1].value, "fd7a:115c:a1e0::3");
	assert_string_equal(c->unix_socket, "/var/run/weft/weft.sock");
	assert_int_equal(c->unix_socket_permission, 0770);
	assert_int_equal(c->node_expiry_ns, 180ULL * 86400 * NS_PER_SEC);
}

static void test_full_headscale_config(void **state)
{
	struct srv_config *c;

	(void)state;
	c = parse_ok(full_config);
	check_full(c);
	assert_string_equal(c->path, "test.yaml");
	srv_config_free(c);
}

/* Headscale keys weft does not implement: one warning each, naming key and line. */
static void test_unimplemented_warn(void **state)
{
	static const struct {
		const char *key;
		unsigned line;
	} want[] = {
		{ "grpc_listen_addr", 5 },
		{ "grpc_allow_insecure", 6 },
		{ "derp.server.private_key_path", 20 },
		{ "derp.server.automatically_add_embedded_derp_region", 21 },
		{ "derp.server.ipv4", 22 },
		{ "derp.server.ipv6", 23 },
		{ "derp.auto_update_enabled", 27 },
		{ "derp.update_frequency", 28 },
		{ "disable_check_updates", 29 },
		{ "database.debug", 33 },
		{ "database.gorm", 34 },
		{ "database.sqlite.wal_autocheckpoint", 42 },
		{ "acme_url", 43 },
		{ "acme_email", 44 },
		{ "tls_letsencrypt_hostname", 45 },
		{ "tls_letsencrypt_cache_dir", 46 },
		{ "tls_letsencrypt_challenge_type", 47 },
		{ "tls_letsencrypt_listen", 48 },
		{ "dns.use_username_in_magic_dns", 74 },
		{ "oidc", 77 },
		{ "logtail", 83 },
		{ "randomize_client_port", 85 },
	};
	struct srv_config *c = parse_ok(full_config);
	char buf[256];

	(void)state;
	/* One warning per key: oidc's and gorm's sub-keys are covered by their parent. */
	assert_int_equal(c->n_warnings, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(buf, sizeof(buf), "test.yaml:%u: `%s'", want[i].line, want[i].key);
		assert_contains(c->warnings[i], buf);
		assert_contains(c->warnings[i], "not implement");
	}
	srv_config_free(c);

	/* Many unimplemented keys are still not an error. */
	c = parse_ok("acl_policy_path: a\nacme_email: b\nacme_url: c\n"
		     "auto_update: d\ndisable_check_updates: e\n"
		     "grpc_allow_insecure: f\ngrpc_listen_addr: g\n"
		     "logtail: h\noidc: i\nrandomize_client_port: j\n"
		     "taildrop: k\ntls_letsencrypt_cache_dir: l\n"
		     "tls_letsencrypt_challenge_type: m\n"
		     "tls_letsencrypt_hostname: n\ntls_letsencrypt_listen: o\n"
		     "trusted_proxies: p\ntuning: q\n");
	assert_int_equal(c->n_warnings, 17);
	srv_config_free(c);
}

struct bad_case {
	const char *yaml;
	const char *want[3]; /* substrings of the message */
};

static void run_bad(const struct bad_case *t, size_t n)
{
	char err[SRV_CONFIG_ERR_LEN];

	for (size_t i = 0; i < n; i++) {
		parse_bad(t[i].yaml, err);
		for (size_t j = 0; j < 3 && t[i].want[j] != NULL; j++)
			if (strstr(err, t[i].want[j]) == NULL)
				fail_msg("case %zu: `%s' does not contain `%s'", i, err,
					 t[i].want[j]);
	}
}

static void test_unknown_keys(void **state)
{
	static const struct bad_case t[] = {
		{ "bogus: 1\n", { "test.yaml:1:", "`bogus'", "unknown key" } },
		{ "listen_addr: 127.0.0.1:8080\n\n# c\nlisten_adr: x\n",
		  { "test.yaml:4:", "`listen_adr'" } },
		{ "dns:\n  magic_dns: true\n  base_domain: a.example\n  magic_dnz: true\n",
		  { "test.yaml:4:", "`dns.magic_dnz'" } },
		{ "dns:\n  nameservers:\n    globl: [1.1.1.1]\n",
		  { "test.yaml:3:", "`dns.nameservers.globl'" } },
		{ "derp:\n  server:\n    enable: true\n", { "test.yaml:3:", "`derp.server.enable'" } },
		{ "database:\n  sqlite:\n    pth: /x\n", { "test.yaml:3:", "`database.sqlite.pth'" } },
		{ "prefixes:\n  v5: 100.64.0.0/10\n", { "test.yaml:2:", "`prefixes.v5'" } },
		{ "node:\n  expiry: 1d\n  ephemeral:\n    timeout: 1m\n",
		  { "test.yaml:4:", "`node.ephemeral.timeout'" } },
		{ "dns:\n  extra_records:\n    - name: a.b\n      type: A\n      value: 100.64.0.1\n"
		  "      ttl: 60\n",
		  { "test.yaml:6:", "dns.extra_records.ttl" } },
		/* A key that is only a Headscale parent is not a leaf. */
		{ "cli:\n  api_key: x\n  apikey: y\n", { "test.yaml:3:", "`cli.apikey'" } },
	};

	(void)state;
	run_bad(t, sizeof(t) / sizeof(t[0]));
}

static void test_invalid_values(void **state)
{
	static const struct bad_case t[] = {
		/* prefixes */
		{ "prefixes:\n  v4: 100.64.0.0/33\n", { "test.yaml:2:", "`prefixes.v4'", "33" } },
		{ "prefixes:\n  v4: 100.64.0.1/10\n", { "test.yaml:2:", "`prefixes.v4'" } },
		{ "prefixes:\n  v6: fd7a:115c:a1e0::/xx\n", { "test.yaml:2:", "`prefixes.v6'" } },
		{ "prefixes:\n  v4: banana\n", { "test.yaml:2:", "`prefixes.v4'", "banana" } },
		/* Valid prefixes outside the tailnet ranges. */
		{ "\nprefixes:\n  v4: 10.0.0.0/8\n", { "test.yaml:3:", "`prefixes.v4'", "100.64.0.0/10" } },
		{ "prefixes:\n  v4: 100.64.0.0/31\n", { "test.yaml:2:", "`prefixes.v4'" } },
		{ "prefixes:\n  v6: fd00::/48\n", { "test.yaml:2:", "`prefixes.v6'" } },
		{ "prefixes:\n  v4: fd7a:115c:a1e0::/48\n", { "test.yaml:2:", "`prefixes.v4'" } },
		{ "prefixes:\n  v4: \"\"\n  v6: \"\"\n", { "`prefixes'", "at least one" } },
		/* allocation */
		{ "prefixes:\n  allocation: linear\n",
		  { "test.yaml:2:", "`prefixes.allocation'", "sequential, random" } },
		{ "prefixes:\n  allocation: Random\n", { "test.yaml:2:", "`prefixes.allocation'" } },
		/* durations */
		{ "ephemeral_node_inactivity_timeout: 30 minutes\n",
		  { "test.yaml:1:", "`ephemeral_node_inactivity_timeout'", "not a duration" } },
		{ "node:\n  expiry: -1d\n", { "test.yaml:2:", "`node.expiry'", "duration" } },
		{ "node:\n  expiry: \"\"\n", { "test.yaml:2:", "`node.expiry'" } },
		{ "cli:\n  timeout: 5x\n", { "test.yaml:2:", "`cli.timeout'" } },
		/* wrong types */
		{ "listen_addr: [127.0.0.1:8080]\n",
		  { "test.yaml:1:", "`listen_addr'", "single value" } },
		{ "server_url:\n  host: x\n", { "test.yaml:2:", "`server_url'", "single value" } },
		{ "dns: 5\n", { "test.yaml:1:", "`dns'", "mapping" } },
		{ "dns:\n  - magic_dns\n", { "test.yaml:2:", "`dns'", "mapping" } },
		{ "dns:\n  nameservers:\n    global: 1.1.1.1\n",
		  { "test.yaml:3:", "`dns.nameservers.global'", "list" } },
		{ "dns:\n  nameservers:\n    global: [[1.1.1.1]]\n",
		  { "test.yaml:3:", "`dns.nameservers.global'" } },
		{ "dns:\n  nameservers:\n    split: [a]\n",
		  { "test.yaml:3:", "`dns.nameservers.split'" } },
		{ "dns:\n  nameservers:\n    split:\n      corp.example: []\n",
		  { "test.yaml:4:", "`dns.nameservers.split.corp.example'" } },
		{ "dns:\n  extra_records: {name: a}\n", { "test.yaml:2:", "`dns.extra_records'" } },
		{ "dns:\n  extra_records:\n    - name: a.b\n      type: MX\n      value: x\n",
		  { "test.yaml:3:", "MX" } },
		{ "dns:\n  extra_records:\n    - name: a.b\n      value: 100.64.0.1\n",
		  { "test.yaml:3:", "`type'" } },
		{ "dns:\n  magic_dns: yes\n", { "test.yaml:2:", "`dns.magic_dns'", "true or false" } },
		{ "derp:\n  server:\n    region_id: -1\n",
		  { "test.yaml:3:", "`derp.server.region_id'", "number" } },
		{ "derp:\n  server:\n    region_id: 4294967296\n",
		  { "test.yaml:3:", "`derp.server.region_id'" } },
		{ "unix_socket_permission: \"0999\"\n",
		  { "test.yaml:1:", "`unix_socket_permission'", "octal" } },
		{ "unix_socket_permission: \"01777\"\n", { "test.yaml:1:", "`unix_socket_permission'" } },
		{ "database:\n  type: mysql\n", { "test.yaml:2:", "`database.type'", "sqlite, postgres" } },
		{ "log:\n  format: xml\n", { "test.yaml:2:", "`log.format'" } },
		{ "policy:\n  mode: ldap\n", { "test.yaml:2:", "`policy.mode'" } },
		/* whole-config checks name the key's line too */
		{ "\n\nserver_url: ftp://x\n", { "test.yaml:3:", "`server_url'", "http" } },
		{ "listen_addr: localhost\n", { "test.yaml:1:", "`listen_addr'", "address:port" } },
		{ "listen_addr: 1.2.3.4:99999\n", { "test.yaml:1:", "`listen_addr'" } },
		{ "\nmetrics_listen_addr: nope:1\n", { "test.yaml:2:", "`metrics_listen_addr'" } },
		{ "tls_cert_path: /a.pem\n", { "test.yaml:1:", "`tls_cert_path'", "together" } },
		{ "database:\n  type: postgres\n",
		  { "test.yaml:2:", "`database.postgres.host'", "unix-socket directory" } },
		{ "database:\n  type: postgres\n  postgres:\n    host: db.example\n",
		  { "test.yaml:2:", "`database.postgres.name'" } },
		{ "database:\n  type: postgres\n  postgres:\n    host: h\n    name: n\n    port: 0\n",
		  { "test.yaml:6:", "`database.postgres.port'", "1-65535" } },
		{ "database:\n  type: postgres\n  postgres:\n    host: h\n    name: n\n"
		  "    port: 65536\n",
		  { "test.yaml:6:", "`database.postgres.port'" } },
		{ "database:\n  type: postgres\n  postgres:\n    host: h\n    name: n\n    ssl: yes\n",
		  { "test.yaml:6:", "`database.postgres.ssl'", "verify-full" } },
		{ "database:\n  type: postgres\n  postgres:\n    host: h\n    name: n\n"
		  "    ssl: \"sslmode=disable host=evil\"\n",
		  { "test.yaml:6:", "`database.postgres.ssl'" } },
		{ "dns:\n  base_domain: Tail.Example\n", { "test.yaml:2:", "`dns.base_domain'" } },
		{ "server_url: https://ctl.tail.example.com\n"
		  "dns:\n  base_domain: tail.example.com\n",
		  { "test.yaml:3:", "`dns.base_domain'", "server_url" } },
		{ "dns:\n  nameservers:\n    global: [dns.google]\n",
		  { "test.yaml:3:", "`dns.nameservers.global'", "dns.google" } },
		{ "dns:\n  override_local_dns: true\n",
		  { "test.yaml:2:", "`dns.override_local_dns'" } },
		{ "dns:\n  extra_records:\n    - {name: a.b, type: A, value: \"fd7a::1\"}\n",
		  { "test.yaml:3:", "`dns.extra_records'", "IPv4" } },
		{ "dns:\n  nameservers:\n    split:\n      corp.example: [x.y]\n",
		  { "test.yaml:4:", "corp.example" } },
		{ "derp:\n  server:\n    enabled: true\n    region_id: 0\n",
		  { "test.yaml:3:", "`derp.server.enabled'" } },
		{ "log:\n  level: loud\n", { "test.yaml:2:", "`log.level'" } },
		/* emptied required strings */
		{ "server_url: \"\"\n", { "test.yaml:1:", "`server_url'" } },
		{ "server_url: ~\n", { "test.yaml:1:", "`server_url'" } },
		{ "listen_addr: \"\"\n", { "test.yaml:1:", "`listen_addr'" } },
		{ "unix_socket: \"\"\n", { "test.yaml:1:", "`unix_socket'" } },
		{ "database:\n  sqlite:\n    path: \"\"\n", { "test.yaml:3:", "`database.sqlite.path'" } },
		/* not a mapping at the top */
		{ "- a\n- b\n", { "test.yaml:1:", "mapping" } },
		{ "just a string\n", { "test.yaml:1:", "mapping" } },
		/* YAML errors carry a line */
		{ "a: b\n  c: d: e\n", { "test.yaml:2:" } },
		{ "dns:\n  base_domain: \"unterminated\n", { "test.yaml:" } },
	};

	(void)state;
	run_bad(t, sizeof(t) / sizeof(t[0]));
}

/* Values that look odd but are fine. */
static void test_accepted_values(void **state)
{
	struct srv_config *c;

	(void)state;
	c = parse_ok("prefixes:\n  v4: 100.100.0.0/16\n  v6: \"\"\n  allocation: sequential\n"
		     "node:\n  expiry: 0\n  ephemeral:\n    inactivity_timeout: 1h30m\n"
		     "metrics_listen_addr: \"\"\nlisten_addr: \"[::1]:443\"\n"
		     "dns:\n  magic_dns: false\n  base_domain: \"\"\n"
		     "tls_cert_path: /c.pem\ntls_key_path: /k.pem\n"
		     "cli:\n  api_key: wkey-api-secret\n  timeout: 10s\n  insecure: true\n"
		     "unix_socket_permission: \"0\"\n");
	assert_true(c->have_v4);
	assert_false(c->have_v6);
	assert_prefix(&c->prefix_v4, "100.100.0.0/16");
	assert_int_equal(c->node_expiry_ns, 0);
	assert_int_equal(c->ephemeral_inactivity_ns, 90 * 60 * NS_PER_SEC);
	assert_null(c->metrics_listen_addr);
	assert_string_equal(c->listen_addr, "[::1]:443");
	assert_false(c->magic_dns);
	assert_null(c->base_domain);
	assert_string_equal(c->tls_cert_path, "/c.pem");
	assert_string_equal(c->cli_api_key, "wkey-api-secret");
	assert_int_equal(c->cli_timeout_ns, 10 * NS_PER_SEC);
	assert_true(c->cli_insecure);
	assert_int_equal(c->unix_socket_permission, 0);
	srv_config_free(c);

	/* PostgreSQL, Headscale's keys; ssl as Headscale's booleans or an sslmode. */
	c = parse_ok("database:\n  type: postgres\n  postgres:\n    host: /var/run/postgresql\n"
		     "    port: 6432\n    name: weft\n    user: weft\n    pass: s3cret\n"
		     "    ssl: false\n    max_open_conns: 10\n");
	assert_int_equal(c->db_type, SRV_DB_POSTGRES);
	assert_string_equal(c->pg_host, "/var/run/postgresql");
	assert_int_equal(c->pg_port, 6432);
	assert_string_equal(c->pg_name, "weft");
	assert_string_equal(c->pg_user, "weft");
	assert_string_equal(c->pg_pass, "s3cret");
	assert_string_equal(srv_config_pg_sslmode(c), "disable");
	assert_int_equal(c->n_warnings, 1); /* max_open_conns: accepted, not implemented */
	{
		char *d = srv_config_dump(c);
		assert_non_null(d);
		assert_non_null(strstr(d, "host: \"/var/run/postgresql\""));
		assert_null(strstr(d, "s3cret"));
		free(d);
	}
	srv_config_free(c);
	{
		static const struct {
			const char *ssl, *mode;
		} ssl[] = {
			{ "true", "require" }, { "True", "require" },	 { "0", "disable" },
			{ "prefer", "prefer" }, { "verify-full", "verify-full" },
		};
		char y[200];
		for (size_t i = 0; i < sizeof(ssl) / sizeof(ssl[0]); i++) {
			snprintf(y, sizeof(y),
				 "database:\n  type: postgres\n  postgres:\n    host: h\n"
				 "    name: n\n    ssl: \"%s\"\n",
				 ssl[i].ssl);
			c = parse_ok(y);
			assert_string_equal(srv_config_pg_sslmode(c), ssl[i].mode);
			assert_int_equal(c->pg_port, 5432);
			assert_null(c->pg_user);
			srv_config_free(c);
		}
	}
	c = parse_ok("database:\n  type: postgres\n  postgres:\n    host: h\n    name: n\n");
	assert_null(srv_config_pg_sslmode(c)); /* unset: libpq's default */
	srv_config_free(c);

	/* Null values for parents and lists are "not set". */
	c = parse_ok("dns:\nderp:\n  urls: ~\nnoise: null\n");
	assert_int_equal(c->derp_urls.n, 0);
	assert_true(c->magic_dns);
	srv_config_free(c);
}

static void test_split_hostport(void **state)
{
	char host[64];
	uint16_t port;

	(void)state;
	assert_int_equal(srv_config_split_hostport("127.0.0.1:8080", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8080);
	assert_int_equal(srv_config_split_hostport("[fd7a::1]:443", host, sizeof(host), &port), 0);
	assert_string_equal(host, "fd7a::1");
	assert_int_equal(port, 443);
	assert_int_equal(srv_config_split_hostport(":9090", host, sizeof(host), &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(port, 9090);
	assert_int_equal(srv_config_split_hostport("fd7a::1:443", host, sizeof(host), &port),
			 -EINVAL);
	assert_int_equal(srv_config_split_hostport("host", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(srv_config_split_hostport("h:0", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(srv_config_split_hostport("h:65536", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(srv_config_split_hostport("[::1]443", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(srv_config_split_hostport("", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(srv_config_split_hostport(NULL, host, sizeof(host), &port), -EINVAL);
	assert_int_equal(srv_config_split_hostport("1.2.3.4:80", host, 4, &port), -EINVAL);
}

/* dump -> parse -> dump is a fixed point, and the parsed config equals the original. */
static void roundtrip(const struct srv_config *c, void (*check)(const struct srv_config *))
{
	char *d1 = srv_config_dump(c), *d2;
	struct srv_config *c2;
	char err[SRV_CONFIG_ERR_LEN];

	assert_non_null(d1);
	if (srv_config_parse(d1, strlen(d1), "dump", &c2, err) != 0)
		fail_msg("dump does not parse: %s\n%s", err, d1);
	assert_int_equal(c2->n_warnings, 0);
	if (check != NULL)
		check(c2);
	d2 = srv_config_dump(c2);
	assert_non_null(d2);
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	srv_config_free(c2);
}

static void test_dump_roundtrip(void **state)
{
	struct srv_config *c;
	char *d;

	(void)state;
	assert_int_equal(srv_config_defaults(&c), 0);
	roundtrip(c, check_defaults);
	srv_config_free(c);

	c = parse_ok(full_config);
	roundtrip(c, check_full);
	srv_config_free(c);

	/* Secrets are not dumped. */
	c = parse_ok("cli:\n  api_key: wkey-api-0123456789ab-topsecret\n");
	d = srv_config_dump(c);
	assert_non_null(d);
	assert_null(strstr(d, "topsecret"));
	free(d);
	srv_config_free(c);

	/* Strings YAML must quote or escape survive the trip. */
	c = parse_ok("database:\n  sqlite:\n    path: '/srv/we\"ird\\dir/db #1: x.sqlite'\n"
		     "policy:\n  path: \"/etc/\\ttab\"\n"
		     "derp:\n  urls: ['https://x/\"q\"', \"a\\\\b\"]\n"
		     "dns:\n  nameservers:\n    split:\n      'odd: key': [10.0.0.1]\n");
	assert_string_equal(c->sqlite_path, "/srv/we\"ird\\dir/db #1: x.sqlite");
	assert_string_equal(c->policy_path, "/etc/\ttab");
	{
		struct srv_config *want = c;
		char *d1 = srv_config_dump(want);
		struct srv_config *c2;
		char err[SRV_CONFIG_ERR_LEN];

		assert_non_null(d1);
		if (srv_config_parse(d1, strlen(d1), "dump", &c2, err) != 0)
			fail_msg("dump does not parse: %s\n%s", err, d1);
		assert_string_equal(c2->sqlite_path, want->sqlite_path);
		assert_string_equal(c2->policy_path, want->policy_path);
		assert_int_equal(c2->derp_urls.n, 2);
		assert_string_equal(c2->derp_urls.v[0], "https://x/\"q\"");
		assert_string_equal(c2->derp_urls.v[1], "a\\b");
		assert_int_equal(c2->n_split, 1);
		assert_string_equal(c2->split[0].domain, "odd: key");
		free(d1);
		srv_config_free(c2);
	}
	roundtrip(c, NULL);
	srv_config_free(c);
}

static void test_load_file(void **state)
{
	char dir[] = "/tmp/weft-test-srvconfig.XXXXXX", path[128], err[SRV_CONFIG_ERR_LEN];
	struct srv_config *c;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.yaml", dir);
	assert_int_equal(srv_config_load(path, &c, err), -ENOENT);
	assert_null(c);
	assert_contains(err, path);
	assert_non_null(f = fopen(path, "w"));
	fputs("listen_addr: 127.0.0.1:9999\nnope: 1\n", f);
	fclose(f);
	assert_int_equal(srv_config_load(path, &c, err), -EINVAL);
	{
		char want[160];
		snprintf(want, sizeof(want), "%s:2: unknown key `nope'", path);
		assert_contains(err, want);
	}
	assert_non_null(f = fopen(path, "w"));
	fputs("listen_addr: 127.0.0.1:9999\n", f);
	fclose(f);
	assert_int_equal(srv_config_load(path, &c, err), 0);
	assert_string_equal(c->listen_addr, "127.0.0.1:9999");
	assert_string_equal(c->path, path);
	srv_config_free(c);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* ---- yamlx ---------------------------------------------------------------------------------- */

static void yaml_bad(const char *text, size_t len, const char *want, unsigned line)
{
	struct yamlx_node *n = (struct yamlx_node *)1;
	struct yamlx_err e;

	assert_int_equal(yamlx_parse(text, len, &n, &e), -EINVAL);
	assert_null(n);
	if (strstr(e.msg, want) == NULL)
		fail_msg("`%s' does not contain `%s'", e.msg, want);
	if (line != 0)
		assert_int_equal(e.line, line);
}

static void test_yamlx_tree(void **state)
{
	static const char doc[] = "a: 1\nb:\n  - x\n  - 'y'\nc: {d: ~}\n";
	struct yamlx_node *root;
	const struct yamlx_node *b, *c, *d;
	struct yamlx_err e;

	(void)state;
	assert_int_equal(yamlx_parse(doc, strlen(doc), &root, &e), 0);
	assert_int_equal(root->kind, YAMLX_MAP);
	assert_int_equal(root->n, 3);
	assert_string_equal(yamlx_get(root, "a")->str, "1");
	assert_int_equal(root->key_lines[1], 2);
	b = yamlx_get(root, "b");
	assert_int_equal(b->kind, YAMLX_SEQ);
	assert_int_equal(b->n, 2);
	assert_int_equal(b->items[1]->line, 4);
	assert_int_equal(b->items[1]->col, 5);
	assert_true(b->items[0]->plain);
	assert_false(b->items[1]->plain);
	c = yamlx_get(root, "c");
	d = yamlx_get(c, "d");
	assert_true(yamlx_is_null(d));
	assert_null(yamlx_get(root, "zz"));
	assert_null(yamlx_get(b, "x"));
	assert_false(yamlx_is_null(b));
	yamlx_free(root);
	yamlx_free(NULL);

	/* A quoted "null" is a string. */
	assert_int_equal(yamlx_parse("a: 'null'\n", 10, &root, &e), 0);
	assert_false(yamlx_is_null(yamlx_get(root, "a")));
	yamlx_free(root);
}

static void test_yamlx_rejects(void **state)
{
	char deep[4 * (YAMLX_MAX_DEPTH + 4)], *block, nul[] = "a: b\0c: d\n";
	size_t n = 0;

	(void)state;
	/* Aliases (billion laughs) */
	yaml_bad("a: &x [1, 2]\nb: *x\n", 19, "aliases", 2);
	yaml_bad("a: &x 1\nb: [*x, *x]\n", 19, "aliases", 2);
	/* Duplicate keys, at any level */
	yaml_bad("a: 1\nb: 2\na: 3\n", 15, "duplicate", 3);
	yaml_bad("dns:\n  magic_dns: true\n  magic_dns: false\n", 41, "duplicate", 3);
	/* Non-scalar keys */
	yaml_bad("? [a, b]\n: c\n", 13, "keys", 1);
	/* Too deep: flow style and block style */
	for (int i = 0; i < YAMLX_MAX_DEPTH + 2; i++)
		deep[n++] = '[';
	for (int i = 0; i < YAMLX_MAX_DEPTH + 2; i++)
		deep[n++] = ']';
	yaml_bad(deep, n, "deep", 1);
	block = calloc(1, 64 * 1024);
	assert_non_null(block);
	n = 0;
	for (int i = 0; i < YAMLX_MAX_DEPTH + 2; i++)
		n += (size_t)sprintf(block + n, "%*sk%d:\n", 2 * i, "", i);
	n += (size_t)sprintf(block + n, "%*sv\n", 2 * (YAMLX_MAX_DEPTH + 2), "");
	yaml_bad(block, n, "deep", 0);
	/* Exactly at the limit is fine. */
	n = 0;
	for (int i = 0; i < YAMLX_MAX_DEPTH; i++)
		n += (size_t)sprintf(block + n, "%*sk%d:\n", 2 * i, "", i);
	n += (size_t)sprintf(block + n, "%*sv\n", 2 * YAMLX_MAX_DEPTH, "");
	{
		struct yamlx_node *root;
		struct yamlx_err e;
		assert_int_equal(yamlx_parse(block, n, &root, &e), 0);
		yamlx_free(root);
	}
	free(block);
	/* Several documents, NUL bytes, oversized input, syntax errors */
	yaml_bad("a: 1\n---\nb: 2\n", 14, "one YAML document", 0);
	yaml_bad(nul, sizeof(nul) - 1, "NUL", 0);
	yaml_bad("a: \"b\\0c\"\n", 10, "NUL", 1);
	yaml_bad("a: [1, 2\n", 9, "", 0);
	{
		size_t big = YAMLX_MAX_INPUT + 1;
		char *p = malloc(big);
		assert_non_null(p);
		memset(p, '#', big);
		yaml_bad(p, big, "too large", 0);
		free(p);
	}
	/* Too many keys in one mapping */
	{
		size_t cap = (YAMLX_MAX_KEYS + 2) * 16;
		char *p = malloc(cap);
		assert_non_null(p);
		n = 0;
		for (int i = 0; i < YAMLX_MAX_KEYS + 1; i++)
			n += (size_t)snprintf(p + n, cap - n, "k%d: 1\n", i);
		yaml_bad(p, n, "keys", YAMLX_MAX_KEYS + 1);
		free(p);
	}
	/* Too many nodes */
	{
		size_t cap = (YAMLX_MAX_NODES + 16) * 2 + 16;
		char *p = malloc(cap);
		assert_non_null(p);
		n = 0;
		p[n++] = '[';
		for (int i = 0; i < YAMLX_MAX_NODES + 1; i++) {
			p[n++] = '1';
			p[n++] = ',';
		}
		p[n++] = ']';
		yaml_bad(p, n, "too large", 0);
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_headscale_config),
		cmocka_unit_test(test_unimplemented_warn),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_invalid_values),
		cmocka_unit_test(test_accepted_values),
		cmocka_unit_test(test_split_hostport),
		cmocka_unit_test(test_dump_roundtrip),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_yamlx_tree),
		cmocka_unit_test(test_yamlx_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
