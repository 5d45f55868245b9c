/* SPDX-License-Identifier: ISC */
/*
 * relay_tool: a small relay client for tests/net/t_relay.sh. Subcommands:
 *   genkey FILE                 write a node private key (hex) to FILE
 *   pubkey FILE                 print its public key (hex)
 *   echo URL KEYFILE            send every packet back to its sender; prints "ready"
 *                               on each handshake and "gone HEX REASON" on notices
 *   sink URL KEYFILE            count packets; prints "ready", "count N" at exit
 *   ping URL KEYFILE PEER COUNT TIMEOUT [--size N] [--disco] [--min PCT] [--wait-gone S]
 *                               send COUNT numbered packets to PEER (after a first
 *                               echo), expect PCT% back; exit 0 on success
 *   flood URL KEYFILE PEER SECONDS [--size N]
 *                               send to PEER as fast as the relay takes packets
 *   (ping/flood/echo/sink take --ca FILE: trust anchors for https:// URLs)
 *   stun ADDR:PORT              one STUN binding request; prints the mapped address
 *   garbage ADDR:PORT           raw relay port: send a bad frame, expect to be closed
 *   netcheck ID=ADDR:PORT ...   a network report (lib/netcheck) against these STUN
 *                               servers as relay regions, IPv4; prints its JSON
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/netaddr.h"
#include "core/numparse.h"
#include "crypto/keys.h"
#include "core/buf.h"
#include "disco/disco.h"
#include "netcheck/netcheck.h"
#include "relay/relay_client.h"
#include "relay/relay_proto.h"
#include "stun/stun.h"

static struct event_base *base;
static struct relay_client *rc;

struct state {
	const char *mode;
	struct node_public peer;
	uint64_t count, sent, echoed, size;
	uint64_t min_pct;
	bool disco;
	bool started; /* first echo seen */
	double rtt_sum, rtt_max;
	uint64_t *sent_at;
	uint8_t *seen;
	uint64_t wait_gone_s;
	bool waiting_gone;
	int exit_code;
	uint64_t deadline_ns;
	uint64_t flood_sent, flood_busy;
	uint64_t sink_count;
};

static struct state st;

static int load_key(const char *path, struct node_private *k)
{
	char buf[128];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return keys_hex_decode(k->b, buf);
}

static void print_hex(const uint8_t *k)
{
	char hex[KEY_HEX_LEN];
	keys_hex_encode(hex, k);
	printf("%s", hex);
}

static void build_packet(uint8_t *p, uint64_t seq)
{
	memset(p, 0, st.size);
	if (st.disco)
		memcpy(p, disco_magic, DISCO_MAGIC_LEN);
	memcpy(p + 8, &seq, sizeof(seq));
}

static void cb_ready(void *arg)
{
	(void)arg;
	printf("ready\n");
	fflush(stdout);
}

static void cb_gone(void *arg, const struct node_public *key, uint8_t reason)
{
	(void)arg;
	printf("gone ");
	print_hex(key->b);
	printf(" %u\n", reason);
	fflush(stdout);
	if (st.waiting_gone && memcmp(key->b, st.peer.b, KEY_LEN) == 0 &&
	    reason == RELAY_GONE_DISCONNECTED) {
		st.exit_code = 0;
		event_base_loopbreak(base);
	}
}

static void cb_down(void *arg, const char *why)
{
	(void)arg;
	printf("down %s\n", why);
	fflush(stdout);
}

static void cb_packet(void *arg, const struct node_public *src, const uint8_t *p, size_t n)
{
	(void)arg;
	if (strcmp(st.mode, "echo") == 0) {
		if (relay_client_send(rc, src, p, n) != 0)
			printf("echo-drop\n");
		return;
	}
	if (strcmp(st.mode, "sink") == 0) {
		st.sink_count++;
		return;
	}
	if (strcmp(st.mode, "ping") != 0 || n < 16 || memcmp(src->b, st.peer.b, KEY_LEN) != 0)
		return;
	uint64_t seq;
	memcpy(&seq, p + 8, sizeof(seq));
	if (seq == UINT64_MAX) {
		st.started = true; /* the probe came back: the peer is there */
		return;
	}
	if (seq >= st.count || st.seen[seq])
		return;
	st.seen[seq] = 1;
	st.echoed++;
	double rtt = (double)(clock_mono_ns() - st.sent_at[seq]) / 1e6;
	st.rtt_sum += rtt;
	if (rtt > st.rtt_max)
		st.rtt_max = rtt;
}

static void finish_ping(void)
{
	printf("echoed %llu/%llu rtt_avg_ms %.2f rtt_max_ms %.2f\n", (unsigned long long)st.echoed,
	       (unsigned long long)st.count, st.echoed ? st.rtt_sum / (double)st.echoed : 0.0,
	       st.rtt_max);
	fflush(stdout);
	bool ok = st.echoed * 100 >= st.min_pct * st.count;
	if (ok && st.wait_gone_s > 0) {
		printf("waiting-gone\n");
		fflush(stdout);
		st.waiting_gone = true;
		st.exit_code = 1;
		st.deadline_ns = clock_mono_ns() + st.wait_gone_s * CLOCK_NS_PER_SEC;
		return;
	}
	st.exit_code = ok ? 0 : 1;
	event_base_loopbreak(base);
}

/* Every 2 ms: probe until the peer answers, then send the numbered packets. */
static void tick_ping(evutil_socket_t fd, short what, void *arg)
{
	static uint64_t last_probe, done_at;
	uint64_t now = clock_mono_ns();
	uint8_t pkt[RELAY_PACKET_MAX];

	(void)fd;
	(void)what;
	(void)arg;
	if (now > st.deadline_ns) {
		if (st.waiting_gone) {
			printf("no peer-gone notice\n");
			event_base_loopbreak(base);
		} else {
			finish_ping();
			if (!st.waiting_gone) {
				st.exit_code = st.echoed * 100 >= st.min_pct * st.count ? 0 : 1;
				event_base_loopbreak(base);
			}
		}
		return;
	}
	if (st.waiting_gone)
		return;
	if (!relay_client_is_ready(rc))
		return;
	if (!st.started) {
		if (now - last_probe > 100 * CLOCK_NS_PER_MS) {
			build_packet(pkt, UINT64_MAX);
			if (relay_client_send(rc, &st.peer, pkt, st.size) == 0)
				last_probe = now;
		}
		return;
	}
	if (st.sent < st.count) {
		build_packet(pkt, st.sent);
		st.sent_at[st.sent] = now;
		if (relay_client_send(rc, &st.peer, pkt, st.size) == 0)
			st.sent++;
		if (st.sent == st.count)
			done_at = now;
		return;
	}
	/* All sent: wait for the stragglers, up to a second. */
	if (st.echoed == st.count || now - done_at > CLOCK_NS_PER_SEC)
		finish_ping();
}

static void tick_flood(evutil_socket_t fd, short what, void *arg)
{
	uint8_t pkt[RELAY_PACKET_MAX];

	(void)fd;
	(void)what;
	(void)arg;
	if (clock_mono_ns() > st.deadline_ns) {
		printf("flood sent %llu busy %llu\n", (unsigned long long)st.flood_sent,
		       (unsigned long long)st.flood_busy);
		st.exit_code = 0;
		event_base_loopbreak(base);
		return;
	}
	if (!relay_client_is_ready(rc))
		return;
	build_packet(pkt, 1);
	for (int i = 0; i < 256; i++) {
		if (relay_client_send(rc, &st.peer, pkt, st.size) != 0) {
			st.flood_busy++;
			break;
		}
		st.flood_sent++;
	}
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	event_base_loopbreak(base);
}

static int cmd_stun(const char *addr)
{
	struct netendpoint ep;
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t txid[STUN_TXID_LEN], req[STUN_REQUEST_LEN], resp[STUN_MSG_MAX];
	struct stun_msg m;
	char buf[NETENDPOINT_STRLEN];
	int fd;

	if (netendpoint_parse(addr, &ep) != 0)
		return 2;
	sl = netendpoint_to_sockaddr(&ep, &ss);
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return 1;
	randombytes_buf(txid, sizeof(txid));
	size_t n = stun_request_build(req, txid);
	for (int attempt = 0; attempt < 10; attempt++) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (sendto(fd, req, n, 0, (struct sockaddr *)&ss, sl) != (ssize_t)n)
			return 1;
		if (poll(&pfd, 1, 500) == 1) {
			ssize_t r = recv(fd, resp, sizeof(resp), 0);
			if (r > 0 && stun_response_parse(resp, (size_t)r, &m) == STUN_OK &&
			    memcmp(m.txid, txid, STUN_TXID_LEN) == 0) {
				printf("%s\n", netendpoint_format(&m.mapped, buf, sizeof(buf)));
				return 0;
			}
		}
	}
	fprintf(stderr, "relay_tool: no STUN answer from %s\n", addr);
	return 1;
}

/* Raw port: read SERVER_KEY, send a frame of unknown type, expect EOF within 5 s. */
static int cmd_garbage(const char *addr)
{
	struct netendpoint ep;
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t buf[256], bad[] = { 0x7f, 0, 0, 0, 1, 0 };
	int fd;

	if (netendpoint_parse(addr, &ep) != 0)
		return 2;
	sl = netendpoint_to_sockaddr(&ep, &ss);
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) != 0)
		return 1;
	if (write(fd, bad, sizeof(bad)) != (ssize_t)sizeof(bad))
		return 1;
	uint64_t end = clock_mono_ns() + 5 * CLOCK_NS_PER_SEC;
	while (clock_mono_ns() < end) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (poll(&pfd, 1, 200) == 1) {
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r == 0 || (r < 0 && errno == ECONNRESET)) {
				printf("closed\n");
				return 0;
			}
		}
	}
	printf("still open\n");
	return 1;
}

static int cmd_netcheck(int argc, char **argv)
{
	static struct netmap_relay_node nodes[16];
	static struct netmap_relay_region regions[16];
	static char addrs[16][NETADDR_STRLEN];
	struct netmap_relaymap map = { regions, 0 };
	static struct netcheck nc;
	struct netcheck_report rep;
	struct buf_writer w;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return 1;
	for (int i = 2; i < argc && map.n_regions < 16; i++) {
		uint64_t id;
		struct netendpoint ep;
		char *eq = strchr(argv[i], '=');
		if (eq == NULL)
			return 2;
		*eq = '\0';
		if (numparse_u64(argv[i], 1, UINT32_MAX, &id) != 0 ||
		    netendpoint_parse(eq + 1, &ep) != 0)
			return 2;
		size_t k = map.n_regions++;
		netaddr_format(&ep.addr, addrs[k], sizeof(addrs[k]));
		nodes[k] = (struct netmap_relay_node){ .name = (char *)"n",
						       .region_id = (uint32_t)id,
						       .hostname = (char *)"",
						       .ipv4 = addrs[k],
						       .ipv6 = (char *)"",
						       .stun_port = ep.port };
		regions[k] = (struct netmap_relay_region){ .id = (uint32_t)id,
							   .nodes = &nodes[k],
							   .n_nodes = 1 };
	}
	netcheck_init(&nc);
	netcheck_begin(&nc, &map, false, clock_mono_ns());
	while (!netcheck_done(&nc, clock_mono_ns())) {
		struct netcheck_send sends[16];
		uint64_t now = clock_mono_ns();
		size_t n = netcheck_due(&nc, now, sends, 16);
		for (size_t i = 0; i < n; i++) {
			struct sockaddr_storage ss;
			socklen_t sl = netendpoint_to_sockaddr(&sends[i].dst, &ss);
			(void)sendto(fd, sends[i].req, sends[i].len, 0, (struct sockaddr *)&ss, sl);
		}
		uint64_t d = netcheck_next_deadline(&nc, now);
		int ms = d > now ? (int)((d - now) / CLOCK_NS_PER_MS) + 1 : 0;
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (poll(&pfd, 1, ms > 1000 ? 1000 : ms) == 1) {
			uint8_t buf[STUN_MSG_MAX + 1];
			ssize_t r;
			while ((r = recv(fd, buf, sizeof(buf), 0)) > 0)
				if (stun_is_packet(buf, (size_t)r))
					(void)netcheck_on_stun(&nc, buf, (size_t)r,
							       clock_mono_ns());
		}
	}
	netcheck_finish(&nc, clock_mono_ns(), &rep);
	buf_writer_growable(&w, 65536);
	if (netcheck_report_json(&rep, &w) != 0)
		return 1;
	printf("%.*s\n", (int)w.len, (const char *)w.p);
	buf_writer_free(&w);
	close(fd);
	return rep.udp ? 0 : 1;
}

static int opt_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, const char *what)
{
	if (numparse_u64(s, min, max, out) != 0) {
		fprintf(stderr, "relay_tool: invalid %s `%s'\n", what, s);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct relay_client_config cfg;
	struct event *tick = NULL, *term;
	struct timeval tv = { 0, 2000 };

	if (sodium_init() < 0 || argc < 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *cmd = argv[1];
	if (strcmp(cmd, "genkey") == 0 && argc == 3) {
		uint8_t k[KEY_LEN];
		char hex[KEY_HEX_LEN];
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
		keys_generate(k);
		keys_hex_encode(hex, k);
		if (fd < 0 || dprintf(fd, "%s\n", hex) < 0)
			return 1;
		close(fd);
		return 0;
	}
	if (strcmp(cmd, "pubkey") == 0 && argc == 3) {
		struct node_private k;
		struct node_public p;
		if (load_key(argv[2], &k) != 0 || node_private_public(&p, &k) != 0)
			return 1;
		print_hex(p.b);
		printf("\n");
		return 0;
	}
	if (strcmp(cmd, "stun") == 0 && argc == 3)
		return cmd_stun(argv[2]);
	if (strcmp(cmd, "garbage") == 0 && argc == 3)
		return cmd_garbage(argv[2]);
	if (strcmp(cmd, "netcheck") == 0 && argc >= 3)
		return cmd_netcheck(argc, argv);
	if (argc < 4)
		return 2;

	memset(&cfg, 0, sizeof(cfg));
	memset(&st, 0, sizeof(st));
	st.mode = cmd;
	st.size = 100;
	st.min_pct = 100;
	st.exit_code = 1;
	cfg.url = argv[2];
	if (load_key(argv[3], &cfg.key) != 0) {
		fprintf(stderr, "relay_tool: cannot read key %s\n", argv[3]);
		return 1;
	}
	int argi = 4;
	if (strcmp(cmd, "ping") == 0 || strcmp(cmd, "flood") == 0) {
		if (argc < (strcmp(cmd, "ping") == 0 ? 7 : 6) ||
		    keys_hex_decode(st.peer.b, argv[4]) != 0)
			return 2;
		if (strcmp(cmd, "ping") == 0) {
			uint64_t timeout;
			if (opt_u64(argv[5], 1, 1000000, &st.count, "COUNT") != 0 ||
			    opt_u64(argv[6], 1, 3600, &timeout, "TIMEOUT") != 0)
				return 2;
			st.deadline_ns = clock_mono_ns() + timeout * CLOCK_NS_PER_SEC;
			argi = 7;
		} else {
			uint64_t secs;
			if (opt_u64(argv[5], 1, 3600, &secs, "SECONDS") != 0)
				return 2;
			st.deadline_ns = clock_mono_ns() + secs * CLOCK_NS_PER_SEC;
			argi = 6;
			st.size = 1200;
		}
	}
	for (; argi < argc; argi++) {
		if (strcmp(argv[argi], "--size") == 0 && argi + 1 < argc) {
			if (opt_u64(argv[++argi], 16, RELAY_PACKET_MAX, &st.size, "--size") != 0)
				return 2;
		} else if (strcmp(argv[argi], "--min") == 0 && argi + 1 < argc) {
			if (opt_u64(argv[++argi], 0, 100, &st.min_pct, "--min") != 0)
				return 2;
		} else if (strcmp(argv[argi], "--wait-gone") == 0 && argi + 1 < argc) {
			if (opt_u64(argv[++argi], 1, 600, &st.wait_gone_s, "--wait-gone") != 0)
				return 2;
		} else if (strcmp(argv[argi], "--ca") == 0 && argi + 1 < argc) {
			cfg.ca_file = argv[++argi];
		} else if (strcmp(argv[argi], "--disco") == 0) {
			st.disco = true;
		} else {
			fprintf(stderr, "relay_tool: unknown option %s\n", argv[argi]);
			return 2;
		}
	}
	if (st.count > 0) {
		st.sent_at = calloc(st.count, sizeof(*st.sent_at));
		st.seen = calloc(st.count, 1);
		if (st.sent_at == NULL || st.seen == NULL)
			return 1;
	}
	base = event_base_new();
	cfg.cbs.ready = cb_ready;
	cfg.cbs.packet = cb_packet;
	cfg.cbs.peer_gone = cb_gone;
	cfg.cbs.disconnected = cb_down;
	cfg.backoff_max_ms = 1000;
	cfg.out_max = 256 * 1024;
	if (relay_client_new(base, &cfg, &rc) != 0 || relay_client_start(rc) != 0) {
		fprintf(stderr, "relay_tool: bad URL %s\n", cfg.url);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	term = evsignal_new(base, SIGTERM, on_term, NULL);
	event_add(term, NULL);
	if (strcmp(cmd, "ping") == 0)
		tick = event_new(base, -1, EV_PERSIST, tick_ping, NULL);
	else if (strcmp(cmd, "flood") == 0)
		tick = event_new(base, -1, EV_PERSIST, tick_flood, NULL);
	if (tick != NULL)
		event_add(tick, &tv);
	event_base_dispatch(base);
	if (strcmp(cmd, "sink") == 0 || strcmp(cmd, "echo") == 0) {
		printf("count %llu\n", (unsigned long long)st.sink_count);
		st.exit_code = 0;
	}
	relay_client_free(rc);
	if (tick != NULL)
		event_free(tick);
	event_free(term);
	event_base_free(base);
	free(st.sent_at);
	free(st.seen);
	return st.exit_code;
}
