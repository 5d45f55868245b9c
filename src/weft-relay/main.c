/* SPDX-License-Identifier: ISC */
/*
 * weft-relay: the standalone relay and STUN server. It serves the relay
 * protocol over HTTP(S) Upgrade on --listen (and raw on --raw-listen), STUN
 * on --stun-listen, meshes with the other relays of its region (--mesh-with,
 * --mesh-key), and stays in the foreground. The same relay runs inside
 * weft-server (src/relay).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "core/atomicfile.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/netaddr.h"
#include "core/numparse.h"
#include "crypto/keys.h"
#include "netmap/nmindex.h"
#include "relay/relay_server.h"
#include "relay/stun_server.h"
#include "weft_config.h"

#define MAX_MESH 64

struct opts {
	const char *listen;
	const char *raw_listen;
	const char *stun_listen;
	const char *tls_cert, *tls_key;
	const char *key_file;
	const char *mesh_key_file;
	const char *mesh_with[MAX_MESH];
	size_t n_mesh;
	const char *mesh_ca;
	bool mesh_insecure;
	uint32_t rate, burst;
	uint64_t max_clients;
	uint64_t queue_depth;
	const char *verify_keys;
	bool check_config;
	int verbose;
};

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: weft-relay [--listen ADDR:PORT] [--raw-listen ADDR:PORT]\n"
		"                  [--stun-listen ADDR:PORT|off] [--tls-cert FILE --tls-key FILE]\n"
		"                  [--key-file FILE] [--mesh-key FILE] [--mesh-with URL ...]\n"
		"                  [--mesh-ca FILE] [--mesh-insecure] [--rate BYTES] [--burst BYTES]\n"
		"                  [--max-clients N] [--queue-depth N] [--verify-keys FILE]\n"
		"                  [--check-config] [--verbose]\n"
		"       weft-relay --help | --version\n"
		"\n"
		"The weft relay: carries packets between nodes that cannot reach each other\n"
		"directly, addressed by node key, and answers STUN so nodes learn their public\n"
		"addresses. It stays in the foreground.\n"
		"\n"
		"  --listen ADDR:PORT       HTTP(S) listener for relay clients (default 0.0.0.0:3340,\n"
		"                           or 0.0.0.0:443 with TLS); \"off\" disables it\n"
		"  --raw-listen ADDR:PORT   the relay protocol straight on TCP, without HTTP\n"
		"  --stun-listen ADDR:PORT  STUN on UDP (default 0.0.0.0:3478); \"off\" disables it\n"
		"  --tls-cert FILE, --tls-key FILE\n"
		"                           serve HTTPS with this PEM certificate chain and key\n"
		"  --key-file FILE          the relay's private key (32 bytes, hex); created 0600\n"
		"                           if missing (default: a new key each start)\n"
		"  --mesh-key FILE          the region's shared mesh key (64 hex digits)\n"
		"  --mesh-with URL          another relay of this region to mesh with (repeatable):\n"
		"                           http://HOST:PORT, https://HOST:PORT or tcp://HOST:PORT\n"
		"  --mesh-ca FILE           CA certificates for https:// mesh peers\n"
		"  --mesh-insecure          do not verify mesh peers' certificates (tests only)\n"
		"  --rate BYTES             per-client read rate in bytes/s (default 0: unlimited)\n"
		"  --burst BYTES            per-client burst (default: 2 s of --rate, >= 64 KiB)\n"
		"  --max-clients N          refuse clients beyond N (default 100000)\n"
		"  --queue-depth N          packets queued per client and class (default 32)\n"
		"  --verify-keys FILE       only these node keys may connect (one per line, hex\n"
		"                           or nodekey:<hex>; # comments)\n"
		"  --check-config           print the effective configuration and exit\n"
		"  -v, --verbose            log each client (debug level)\n");
}

static int read_hex_key(const char *path, uint8_t key[static KEY_LEN], bool create)
{
	uint8_t *data = NULL;
	size_t len = 0;
	char text[KEY_HEX_LEN + 1];
	int r = atomicfile_read(path, 256, &data, &len);

	if (r == -ENOENT && create) {
		char hex[KEY_HEX_LEN];
		keys_generate(key);
		keys_hex_encode(hex, key);
		hex[KEY_HEX_LEN - 1] = '\0';
		char line[KEY_HEX_LEN + 1];
		snprintf(line, sizeof(line), "%s\n", hex);
		r = atomicfile_write(path, line, strlen(line), 0600);
		mem_wipe(hex, sizeof(hex));
		mem_wipe(line, sizeof(line));
		if (r == 0)
			log_info("created relay key: path=%s", path);
		return r;
	}
	if (r != 0)
		return r;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
		len--;
	r = -EINVAL;
	if (len == KEY_HEX_LEN - 1) {
		memcpy(text, data, len);
		text[len] = '\0';
		r = keys_hex_decode(key, text);
	}
	mem_wipe(text, sizeof(text));
	mem_wipe(data, len);
	free(data);
	return r;
}

/* --verify-keys: the node keys allowed to connect. */
static struct nmindex g_allowed;

static bool verify_allowed(void *arg, const struct node_public *key, const struct netendpoint *src)
{
	(void)arg;
	(void)src;
	return nmindex_get(&g_allowed, key->b, KEY_LEN) != NULL;
}

static int load_allowed(const char *path)
{
	uint8_t *data = NULL;
	size_t len = 0, line = 0;
	int r = atomicfile_read(path, 64 << 20, &data, &len);
	static int present = 1;

	if (r != 0) {
		log_error("cannot read --verify-keys: path=%s error=\"%s\"", path, strerror(-r));
		return r;
	}
	for (size_t off = 0; off < len;) {
		size_t e = off;
		char buf[KEY_PREFIXED_MAX + 2];
		struct node_public k;
		while (e < len && data[e] != '\n')
			e++;
		line++;
		size_t s0 = off, s1 = e;
		while (s0 < s1 && (data[s0] == ' ' || data[s0] == '\t'))
			s0++;
		while (s1 > s0 &&
		       (data[s1 - 1] == ' ' || data[s1 - 1] == '\t' || data[s1 - 1] == '\r'))
			s1--;
		off = e + 1;
		if (s0 == s1 || data[s0] == '#')
			continue;
		if (s1 - s0 >= sizeof(buf)) {
			r = -EINVAL;
		} else {
			memcpy(buf, data + s0, s1 - s0);
			buf[s1 - s0] = '\0';
			r = strncmp(buf, "nodekey:", 8) == 0 ? node_public_parse(&k, buf) :
							       keys_hex_decode(k.b, buf);
		}
		if (r != 0) {
			log_error(
				"invalid --verify-keys line: path=%s line=%zu want=\"64 hex digits or "
				"nodekey:<hex>\"",
				path, line);
			free(data);
			return -EINVAL;
		}
		if (nmindex_get(&g_allowed, k.b, KEY_LEN) == NULL &&
		    nmindex_put(&g_allowed, k.b, KEY_LEN, &present) != 0) {
			free(data);
			return -ENOMEM;
		}
	}
	free(data);
	return 0;
}

static struct event_base *g_base;
static struct relay_server *g_rs;
static struct stun_server *g_stun;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tv = { 0, 200000 };

	(void)what;
	(void)arg;
	log_info("shutting down: signal=%d", (int)sig);
	/* Clients reconnect in a second and keep trying for 30 s: a restart is seamless. */
	relay_server_notify_restarting(g_rs, 1000, 30000);
	event_base_loopexit(g_base, &tv);
}

static void debug_cb(struct evhttp_request *req, void *arg)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char *host = NULL;
	uint16_t port = 0;
	struct netaddr a;
	struct buf_writer w;
	struct evbuffer *body;

	(void)arg;
	static const uint8_t v6lo[16] = { [15] = 1 };

	evhttp_connection_get_peer(evcon, &host, &port);
	if (host == NULL || netaddr_parse(host, &a) != 0)
		memset(&a, 0, sizeof(a));
	netaddr_unmap(&a);
	if (!((a.family == NETADDR_V4 && a.a[0] == 127) ||
	      (a.family == NETADDR_V6 && memcmp(a.a, v6lo, 16) == 0))) {
		evhttp_send_error(req, 403, "counters are for local callers");
		return;
	}
	buf_writer_growable(&w, 1 << 20);
	buf_put_str(&w, "{\"relay\":");
	(void)relay_server_counters_json(g_rs, &w);
	buf_put_str(&w, ",\"stun\":");
	if (g_stun != NULL)
		(void)stun_server_counters_json(g_stun, &w);
	else
		buf_put_str(&w, "null");
	buf_put_str(&w, "}\n");
	body = evbuffer_new();
	if (body == NULL || w.err) {
		evhttp_send_error(req, 500, "out of memory");
	} else {
		evbuffer_add(body, w.p, w.len);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  "application/json");
		evhttp_send_reply(req, 200, "OK", body);
	}
	if (body != NULL)
		evbuffer_free(body);
	buf_writer_free(&w);
}

static void notfound_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, 404, "weft relay: see /relay");
}

static struct bufferevent *tls_bevcb(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(arg);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static SSL_CTX *tls_server_ctx(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		unsigned long e = ERR_get_error();
		log_error("cannot load TLS certificate: cert=%s key=%s error=\"%s\"", cert, key,
			  ERR_reason_error_string(e));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum {
		O_RAW = 256,
		O_STUN,
		O_CERT,
		O_KEY,
		O_KEYFILE,
		O_MESHKEY,
		O_MESHWITH,
		O_MESHCA,
		O_MESHINSECURE,
		O_RATE,
		O_BURST,
		O_MAXC,
		O_QUEUE,
		O_CHECK,
		O_VERIFY
	};
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "raw-listen", required_argument, NULL, O_RAW },
		{ "stun-listen", required_argument, NULL, O_STUN },
		{ "tls-cert", required_argument, NULL, O_CERT },
		{ "tls-key", required_argument, NULL, O_KEY },
		{ "key-file", required_argument, NULL, O_KEYFILE },
		{ "mesh-key", required_argument, NULL, O_MESHKEY },
		{ "mesh-with", required_argument, NULL, O_MESHWITH },
		{ "mesh-ca", required_argument, NULL, O_MESHCA },
		{ "mesh-insecure", no_argument, NULL, O_MESHINSECURE },
		{ "rate", required_argument, NULL, O_RATE },
		{ "burst", required_argument, NULL, O_BURST },
		{ "max-clients", required_argument, NULL, O_MAXC },
		{ "queue-depth", required_argument, NULL, O_QUEUE },
		{ "check-config", no_argument, NULL, O_CHECK },
		{ "verify-keys", required_argument, NULL, O_VERIFY },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	uint64_t v;

	memset(o, 0, sizeof(*o));
	o->stun_listen = "0.0.0.0:3478";
	o->max_clients = 100000;
	o->queue_depth = 32;
	while ((c = getopt_long(argc, argv, "l:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->listen = optarg;
			break;
		case O_RAW:
			o->raw_listen = optarg;
			break;
		case O_STUN:
			o->stun_listen = optarg;
			break;
		case O_CERT:
			o->tls_cert = optarg;
			break;
		case O_KEY:
			o->tls_key = optarg;
			break;
		case O_KEYFILE:
			o->key_file = optarg;
			break;
		case O_MESHKEY:
			o->mesh_key_file = optarg;
			break;
		case O_MESHWITH:
			if (o->n_mesh == MAX_MESH) {
				fprintf(stderr, "weft-relay: at most %d --mesh-with\n", MAX_MESH);
				return 2;
			}
			o->mesh_with[o->n_mesh++] = optarg;
			break;
		case O_MESHCA:
			o->mesh_ca = optarg;
			break;
		case O_MESHINSECURE:
			o->mesh_insecure = true;
			break;
		case O_RATE:
		case O_BURST:
			if (numparse_u64(optarg, 0, UINT32_MAX, &v) != 0) {
				fprintf(stderr, "weft-relay: invalid --%s `%s': bytes, 0-%u\n",
					c == O_RATE ? "rate" : "burst", optarg, UINT32_MAX);
				return 2;
			}
			if (c == O_RATE)
				o->rate = (uint32_t)v;
			else
				o->burst = (uint32_t)v;
			break;
		case O_MAXC:
			if (numparse_u64(optarg, 1, 10000000, &o->max_clients) != 0) {
				fprintf(stderr,
					"weft-relay: invalid --max-clients `%s': 1-10000000\n",
					optarg);
				return 2;
			}
			break;
		case O_QUEUE:
			if (numparse_u64(optarg, 1, 4096, &o->queue_depth) != 0) {
				fprintf(stderr, "weft-relay: invalid --queue-depth `%s': 1-4096\n",
					optarg);
				return 2;
			}
			break;
		case O_CHECK:
			o->check_config = true;
			break;
		case O_VERIFY:
			o->verify_keys = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("weft-relay %s\n", WEFT_VERSION);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "weft-relay: unexpected argument `%s'\n", argv[optind]);
		return 2;
	}
	if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
		fprintf(stderr, "weft-relay: --tls-cert and --tls-key go together\n");
		return 2;
	}
	if (o->listen == NULL)
		o->listen = o->tls_cert != NULL ? "0.0.0.0:443" : "0.0.0.0:3340";
	struct netendpoint ep;
	const char *addrs[3] = { o->listen, o->raw_listen, o->stun_listen };
	const char *names[3] = { "--listen", "--raw-listen", "--stun-listen" };
	for (int i = 0; i < 3; i++) {
		if (addrs[i] == NULL || strcmp(addrs[i], "off") == 0)
			continue;
		if (netendpoint_parse(addrs[i], &ep) != 0) {
			fprintf(stderr,
				"weft-relay: invalid %s `%s': want ADDR:PORT, e.g. 0.0.0.0:3340 or "
				"[::]:3340\n",
				names[i], addrs[i]);
			return 2;
		}
	}
	if (o->n_mesh > 0 && o->mesh_key_file == NULL) {
		fprintf(stderr, "weft-relay: --mesh-with needs --mesh-key\n");
		return 2;
	}
	return 0;
}

static void print_config(const struct opts *o)
{
	printf("listen: %s%s\n", o->listen, o->tls_cert != NULL ? " (https)" : " (http)");
	printf("raw-listen: %s\n", o->raw_listen != NULL ? o->raw_listen : "off");
	printf("stun-listen: %s\n", o->stun_listen);
	printf("tls-cert: %s\ntls-key: %s\n", o->tls_cert ? o->tls_cert : "-",
	       o->tls_key ? o->tls_key : "-");
	printf("key-file: %s\n", o->key_file ? o->key_file : "- (new key each start)");
	printf("mesh-key: %s\n", o->mesh_key_file ? o->mesh_key_file : "-");
	for (size_t i = 0; i < o->n_mesh; i++)
		printf("mesh-with: %s\n", o->mesh_with[i]);
	printf("verify-keys: %s (%zu keys)\n", o->verify_keys ? o->verify_keys : "- (anyone)",
	       g_allowed.n);
	printf("rate: %u\nburst: %u\nmax-clients: %llu\nqueue-depth: %llu\n", o->rate, o->burst,
	       (unsigned long long)o->max_clients, (unsigned long long)o->queue_depth);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct relay_server_config cfg;
	struct evhttp *http = NULL;
	SSL_CTX *tls = NULL;
	struct event *sigs[2] = { NULL, NULL };
	struct relay_public pub;
	char fp[KEY_FINGERPRINT_LEN], hex[KEY_HEX_LEN];
	int r, ret = 1;

	r = parse_opts(argc, argv, &o);
	if (r != 0)
		return r;
	log_init("weft-relay", o.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (sodium_init() < 0)
		fatalx("libsodium failed to start");
	memset(&cfg, 0, sizeof(cfg));
	if (o.key_file != NULL) {
		r = read_hex_key(o.key_file, cfg.key.b, !o.check_config);
		if (r != 0) {
			log_error("cannot read --key-file: path=%s error=\"%s\"", o.key_file,
				  strerror(-r));
			goto out;
		}
	} else {
		keys_generate(cfg.key.b);
	}
	if (o.mesh_key_file != NULL) {
		r = read_hex_key(o.mesh_key_file, cfg.mesh_key, false);
		if (r != 0) {
			log_error("cannot read --mesh-key: want 64 hex digits: path=%s "
				  "error=\"%s\"",
				  o.mesh_key_file, strerror(-r));
			goto out;
		}
		cfg.has_mesh_key = true;
	}
	nmindex_init(&g_allowed);
	if (o.verify_keys != NULL) {
		if (load_allowed(o.verify_keys) != 0)
			goto out;
		cfg.verify = verify_allowed;
	}
	if (o.check_config) {
		print_config(&o);
		ret = 0;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Every client is a socket: raise the descriptor limit as far as we may. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	g_base = event_base_new();
	if (g_base == NULL)
		fatalx("event_base_new failed");
	cfg.mesh_urls = o.mesh_with;
	cfg.n_mesh_urls = o.n_mesh;
	cfg.mesh_ca_file = o.mesh_ca;
	cfg.mesh_insecure = o.mesh_insecure;
	cfg.rate_bytes = o.rate;
	cfg.burst_bytes = o.burst != 0 ? o.burst : o.rate * 2;
	cfg.max_clients = o.max_clients;
	cfg.queue_depth = o.queue_depth;
	r = relay_server_new(g_base, &cfg, &g_rs);
	mem_wipe(&cfg, sizeof(cfg));
	if (r != 0) {
		log_error("cannot start the relay: error=\"%s\"", strerror(-r));
		goto out;
	}
	if (strcmp(o.listen, "off") != 0) {
		struct netendpoint ep;
		char host[NETADDR_STRLEN];
		http = evhttp_new(g_base);
		if (http == NULL)
			fatalx("evhttp_new failed");
		if (o.tls_cert != NULL) {
			tls = tls_server_ctx(o.tls_cert, o.tls_key);
			if (tls == NULL)
				goto out;
			evhttp_set_bevcb(http, tls_bevcb, tls);
		}
		evhttp_set_timeout(http, 30);
		evhttp_set_max_headers_size(http, 8192);
		evhttp_set_max_body_size(http, 0);
		if (relay_server_mount(g_rs, http) != 0 ||
		    evhttp_set_cb(http, "/debug/counters", debug_cb, NULL) != 0)
			fatalx("cannot mount the relay");
		evhttp_set_gencb(http, notfound_cb, NULL);
		if (netendpoint_parse(o.listen, &ep) != 0)
			goto out;
		netaddr_format(&ep.addr, host, sizeof(host));
		if (evhttp_bind_socket(http, host, ep.port) != 0) {
			log_error("cannot listen: listen=%s error=\"%s\"", o.listen,
				  strerror(errno));
			goto out;
		}
	}
	if (o.raw_listen != NULL && strcmp(o.raw_listen, "off") != 0) {
		r = relay_server_listen_raw(g_rs, o.raw_listen);
		if (r != 0) {
			log_error("cannot listen: raw-listen=%s error=\"%s\"", o.raw_listen,
				  strerror(-r));
			goto out;
		}
	}
	if (strcmp(o.stun_listen, "off") != 0) {
		struct stun_server_config sc = { .listen = o.stun_listen, .fd = -1 };
		r = stun_server_new(g_base, &sc, &g_stun);
		if (r != 0) {
			log_error("cannot listen: stun-listen=%s error=\"%s\"", o.stun_listen,
				  strerror(-r));
			goto out;
		}
	}
	sigs[0] = evsignal_new(g_base, SIGTERM, on_signal, NULL);
	sigs[1] = evsignal_new(g_base, SIGINT, on_signal, NULL);
	if (sigs[0] == NULL || sigs[1] == NULL || event_add(sigs[0], NULL) != 0 ||
	    event_add(sigs[1], NULL) != 0)
		fatalx("cannot handle signals");
	relay_server_public(g_rs, &pub);
	keys_hex_encode(hex, pub.b);
	log_info("relay up: listen=%s%s raw=%s stun=%s key=%s fingerprint=%s mesh=%zu",
		 strcmp(o.listen, "off") ? o.listen : "off", tls != NULL ? "(tls)" : "",
		 o.raw_listen ? o.raw_listen : "off", o.stun_listen, hex,
		 keys_fingerprint(pub.b, fp), o.n_mesh);
	event_base_dispatch(g_base);
	ret = 0;
out:
	for (int i = 0; i < 2; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	stun_server_free(g_stun);
	relay_server_free(g_rs); /* before evhttp_free: it owns taken-over connections */
	if (http != NULL)
		evhttp_free(http);
	SSL_CTX_free(tls);
	nmindex_fini(&g_allowed);
	if (g_base != NULL)
		event_base_free(g_base);
	return ret;
}
