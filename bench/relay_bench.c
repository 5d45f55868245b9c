/* SPDX-License-Identifier: ISC */
/*
 * relay_bench: weft-relay's speed and memory. It starts the relay as a child
 * process on loopback (raw protocol, no STUN) and drives it with in-process
 * relay clients on one libevent loop:
 *   relay_bench throughput RELAY [--pairs N] [--workers W] [--size BYTES] [--seconds S]
 *       N senders push SIZE-byte packets to N receivers as fast as the relay
 *       takes them, spread over W client processes; prints packets/s and Gbit/s of payload
 * delivered, and the relay's CPU use. relay_bench memory RELAY --clients N N idle clients complete
 * the handshake; prints the relay's RSS growth per connected client. On a small machine the clients
 * share the CPUs with the relay, so the throughput is a lower bound. docs/BENCHMARKS.md has the
 * figures.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "core/clock.h"
#include "crypto/keys.h"
#include "relay/relay_client.h"

struct peer {
	struct relay_client *rc;
	struct node_public pub;
	struct node_public dst;
	bool sender;
	bool ready;
	uint64_t rx;
};

static struct event_base *base;
static struct peer *peers;
static size_t npeers, nready;
static uint64_t pkt_size = 1200;
static uint8_t *payload;
static uint64_t rx_total, rx_bytes_total;
static pid_t relay_pid;

static void on_ready(void *arg)
{
	struct peer *p = arg;

	if (!p->ready)
		nready++;
	p->ready = true;
}

static void on_packet(void *arg, const struct node_public *src, const uint8_t *d, size_t n)
{
	struct peer *p = arg;

	(void)src;
	(void)d;
	p->rx++;
	rx_total++;
	rx_bytes_total += n;
}

static void on_down(void *arg, const char *why)
{
	struct peer *p = arg;

	if (p->ready)
		nready--;
	p->ready = false;
	fprintf(stderr, "relay_bench: client down: %s\n", why);
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* utime + stime of pid in clock ticks. */
static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	p = strrchr(buf, ')');
	if (p == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static pid_t start_relay(const char *relay, const char *listen)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl(relay, relay, "--listen", "off", "--raw-listen", listen, "--stun-listen",
		      "off", "--max-clients", "1000000", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void stop_relay(void)
{
	if (relay_pid > 0) {
		kill(relay_pid, SIGTERM);
		waitpid(relay_pid, NULL, 0);
		relay_pid = 0;
	}
}

static void run_for(uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Runs the loop until `want` clients are ready or the deadline passes. */
static bool wait_ready(size_t want, uint64_t secs)
{
	uint64_t end = clock_mono_ns() + secs * CLOCK_NS_PER_SEC;

	while (nready < want && clock_mono_ns() < end)
		run_for(50);
	return nready >= want;
}

static int make_peer(struct peer *p, const char *url)
{
	struct relay_client_config cfg;
	int r;

	memset(&cfg, 0, sizeof(cfg));
	cfg.url = url;
	keys_generate(cfg.key.b);
	if (node_private_public(&p->pub, &cfg.key) != 0)
		return -EINVAL;
	cfg.cbs.ready = on_ready;
	cfg.cbs.packet = on_packet;
	cfg.cbs.disconnected = on_down;
	cfg.arg = p;
	cfg.out_max = 512 * 1024;
	cfg.backoff_min_ms = 200;
	r = relay_client_new(base, &cfg, &p->rc);
	if (r == 0)
		r = relay_client_start(p->rc);
	return r;
}

static void pump(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	for (size_t i = 0; i < npeers; i++) {
		struct peer *p = &peers[i];
		if (!p->sender || !p->ready)
			continue;
		while (relay_client_queued(p->rc) < 256 * 1024)
			if (relay_client_send(p->rc, &p->dst, payload, pkt_size) != 0)
				break;
	}
}

/* One worker process: `pairs` sender/receiver pairs; reports "packets bytes" on `out`. */
static int throughput_worker(const char *url, size_t pairs, uint64_t seconds, int go_fd, int out_fd)
{
	struct event *ev;
	struct timeval tick = { 0, 200 };
	char c, line[128];

	base = event_base_new();
	npeers = 2 * pairs;
	peers = calloc(npeers, sizeof(*peers));
	payload = calloc(1, pkt_size);
	if (base == NULL || peers == NULL || payload == NULL)
		return 1;
	for (size_t i = 0; i < npeers; i++)
		if (make_peer(&peers[i], url) != 0)
			return 1;
	for (size_t i = 0; i < pairs; i++) {
		peers[2 * i].sender = true;
		peers[2 * i].dst = peers[2 * i + 1].pub;
	}
	if (!wait_ready(npeers, 20)) {
		fprintf(stderr, "relay_bench: only %zu of %zu clients connected\n", nready, npeers);
		return 1;
	}
	if (write(out_fd, "r", 1) != 1 || read(go_fd, &c, 1) != 1)
		return 1;
	ev = event_new(base, -1, EV_PERSIST, pump, NULL);
	event_add(ev, &tick);
	run_for(1000); /* warm up: the parent starts its clock after this */
	uint64_t rx0 = rx_total, b0 = rx_bytes_total;
	run_for(seconds * 1000);
	snprintf(line, sizeof(line), "%llu %llu\n", (unsigned long long)(rx_total - rx0),
		 (unsigned long long)(rx_bytes_total - b0));
	if (write(out_fd, line, strlen(line)) < 0)
		return 1;
	event_free(ev);
	return 0;
}

static int cmd_throughput(const char *url, size_t pairs, size_t workers, uint64_t seconds)
{
	int go[2], res[2];
	pid_t kids[64];
	uint64_t pk = 0, by = 0;
	char buf[4096];
	size_t got = 0;

	if (workers == 0 || workers > 64 || pairs < workers)
		return 2;
	if (pipe(go) != 0 || pipe(res) != 0)
		return 1;
	for (size_t w = 0; w < workers; w++) {
		size_t mine = pairs / workers + (w < pairs % workers);
		kids[w] = fork();
		if (kids[w] == 0) {
			close(go[1]);
			close(res[0]);
			_exit(throughput_worker(url, mine, seconds, go[0], res[1]));
		}
	}
	close(go[0]);
	close(res[1]);
	for (size_t w = 0; w < workers; w++)
		if (read(res[0], buf, 1) != 1)
			return 1;
	for (size_t w = 0; w < workers; w++)
		if (write(go[1], "g", 1) != 1)
			return 1;
	usleep(1000000);
	double c0 = cpu_seconds(relay_pid);
	uint64_t t0 = clock_mono_ns();
	/* Each worker writes one line when its window closes. */
	size_t lines = 0;
	while (lines < workers) {
		ssize_t r = read(res[0], buf + got, sizeof(buf) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = '\0';
		lines = 0;
		for (char *q = buf; (q = strchr(q, '\n')) != NULL; q++)
			lines++;
	}
	double dt = (double)(clock_mono_ns() - t0) / 1e9;
	double c1 = cpu_seconds(relay_pid);
	for (char *q = buf; *q != '\0';) {
		unsigned long long a, b;
		if (sscanf(q, "%llu %llu", &a, &b) == 2) {
			pk += a;
			by += b;
		}
		q = strchr(q, '\n');
		if (q == NULL)
			break;
		q++;
	}
	for (size_t w = 0; w < workers; w++)
		waitpid(kids[w], NULL, 0);
	dt = (double)seconds; /* every worker measured exactly this long */
	printf("throughput pairs=%zu workers=%zu size=%llu seconds=%.0f packets_per_s=%.0f "
	       "gbit_per_s=%.3f relay_cpu_pct=%.0f\n",
	       pairs, workers, (unsigned long long)pkt_size, dt, (double)pk / dt,
	       (double)by * 8 / dt / 1e9, (c1 - c0) / ((double)(clock_mono_ns() - t0) / 1e9) * 100);
	return lines == workers ? 0 : 1;
}

static int cmd_memory(const char *url, size_t clients)
{
	long before, after;

	base = event_base_new();
	npeers = clients;
	peers = calloc(npeers, sizeof(*peers));
	if (base == NULL || peers == NULL)
		return 1;
	run_for(300);
	before = rss_kib(relay_pid);
	/* Connect in batches so the listener's backlog never overflows. */
	for (size_t i = 0; i < npeers; i += 500) {
		size_t end = i + 500 < npeers ? i + 500 : npeers;
		for (size_t j = i; j < end; j++)
			if (make_peer(&peers[j], url) != 0)
				return 1;
		if (!wait_ready(end, 60)) {
			fprintf(stderr, "relay_bench: only %zu of %zu clients connected\n", nready,
				end);
			return 1;
		}
	}
	run_for(1000);
	after = rss_kib(relay_pid);
	printf("memory clients=%zu relay_rss_before_kib=%ld relay_rss_after_kib=%ld "
	       "per_client_bytes=%.0f\n",
	       clients, before, after, (double)(after - before) * 1024 / (double)clients);
	return 0;
}

int main(int argc, char **argv)
{
	size_t pairs = 4, clients = 1000, workers = 2;
	uint64_t seconds = 5;
	char url[64], listen[32];
	struct rlimit rl;
	int ret;

	if (argc < 3 || sodium_init() < 0) {
		fprintf(stderr, "usage: relay_bench throughput|memory RELAY [options]\n");
		return 2;
	}
	for (int i = 3; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--pairs") == 0)
			pairs = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--size") == 0)
			pkt_size = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--workers") == 0)
			workers = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--clients") == 0)
			clients = strtoul(argv[i + 1], NULL, 10);
	}
	if (pairs == 0 || pkt_size == 0 || pkt_size > 65535 || clients == 0)
		return 2;
	/* Both ends of every connection live on this machine. */
	rl.rlim_cur = rl.rlim_max = 2 * clients + 4 * pairs + 1024;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	unsigned port = 20000 + (unsigned)(getpid() % 20000);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", port);
	relay_pid = start_relay(argv[2], listen);
	if (relay_pid < 0)
		return 1;
	usleep(500000);
	if (strcmp(argv[1], "throughput") == 0)
		ret = cmd_throughput(url, pairs, workers, seconds);
	else if (strcmp(argv[1], "memory") == 0)
		ret = cmd_memory(url, clients);
	else
		ret = 2;
	stop_relay();
	return ret;
}
