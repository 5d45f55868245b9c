/* SPDX-License-Identifier: ISC */
/*
 * weftd: the weft node daemon. In plain-WireGuard mode (--wg IFNAME) it
 * creates a TUN interface and serves wg(8)'s configuration protocol on
 * /var/run/wireguard/IFNAME.sock, exactly like wireguard-go; it stays in
 * the foreground and exits when the interface is deleted or on SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <sodium.h>

#include "core/log.h"
#include "core/numparse.h"
#include "weft_config.h"
#include "weftd/engine.h"
#include "weftd/uapi_server.h"

struct weftd_opts {
	const char *wg_ifname;
	unsigned mtu;
	uint16_t port;
	bool offload;
	int verbose;
};

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: weftd --wg IFNAME [--mtu N] [--port N] [--no-offload] [--verbose N]\n"
		"       weftd --help | --version\n"
		"\n"
		"The weft node daemon.\n"
		"\n"
		"  --wg IFNAME     plain-WireGuard mode: create TUN interface IFNAME and serve the\n"
		"                  wg(8) configuration protocol on /var/run/wireguard/IFNAME.sock,\n"
		"                  so that `wg setconf|set|show|showconf IFNAME` work as with\n"
		"                  wireguard-go. Stays in the foreground.\n"
		"  --mtu N         MTU of the interface (default 1420 in --wg mode)\n"
		"  --port N        initial UDP listen port (default: random until `wg set\n"
		"                  IFNAME listen-port N`)\n"
		"  --no-offload    do not use TUN segmentation offloads or UDP GSO/GRO\n"
		"  --verbose N     log level: 0 warnings, 1 info (default), 2 debug\n"
		"  --version       print the version and exit\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop the daemon and remove the interface; SIGUSR1 logs\n"
		"the drop counters. See weftd(8) in docs/weftd.md.\n");
}

static int parse_opts(int argc, char **argv, struct weftd_opts *o)
{
	static const struct option longopts[] = {
		{ "wg", required_argument, NULL, 'w' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "port", required_argument, NULL, 'p' },
		{ "no-offload", no_argument, NULL, 'O' },
		{ "verbose", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->mtu = 1420;
	o->offload = true;
	o->verbose = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hv:", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			o->wg_ifname = optarg;
			break;
		case 'm':
			if (numparse_u32(optarg, 576, 65535, &v) < 0) {
				fprintf(stderr, "weftd: invalid --mtu `%s': must be 576-65535\n", optarg);
				return 2;
			}
			o->mtu = v;
			break;
		case 'p':
			if (numparse_u32(optarg, 0, 65535, &v) < 0) {
				fprintf(stderr, "weftd: invalid --port `%s': must be 0-65535\n", optarg);
				return 2;
			}
			o->port = (uint16_t)v;
			break;
		case 'O':
			o->offload = false;
			break;
		case 'v':
			if (numparse_u32(optarg, 0, 2, &v) < 0) {
				fprintf(stderr, "weftd: invalid --verbose `%s': must be 0, 1 or 2\n",
					optarg);
				return 2;
			}
			o->verbose = (int)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("weftd %s\n", WEFT_VERSION);
			return 0;
		default:
			fprintf(stderr, "weftd: unknown or incomplete option `%s' (see weftd --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "weftd: unexpected argument `%s' (see weftd --help)\n", argv[optind]);
		return 2;
	}
	if (o->wg_ifname == NULL) {
		fprintf(stderr, "weftd: managed mode is not available yet; use --wg IFNAME "
				"(see weftd --help)\n");
		return 2;
	}
	if (strlen(o->wg_ifname) == 0 || strlen(o->wg_ifname) > 15 ||
	    strchr(o->wg_ifname, '/') != NULL) {
		fprintf(stderr, "weftd: invalid interface name `%s': 1-15 characters, no '/'\n",
			o->wg_ifname);
		return 2;
	}
	return -1;
}

struct weftd {
	struct event_base *base;
	struct engine *engine;
	struct uapi_server *uapi;
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct weftd *d = arg;

	(void)what;
	if (sig == SIGUSR1) {
		engine_log_counters(d->engine);
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(d->base);
}

static int run_wg(const struct weftd_opts *o)
{
	struct engine_config cfg = {
		.ifname = o->wg_ifname, .mtu = o->mtu, .offload = o->offload, .port = o->port,
	};
	struct weftd d = { 0 };
	struct event *sigs[3] = { NULL };
	const int signums[3] = { SIGTERM, SIGINT, SIGUSR1 };
	int r, rc = 1;

	d.base = event_base_new();
	if (d.base == NULL)
		fatalx("event_base_new failed");
	r = engine_new(&cfg, d.base, &d.engine);
	if (r < 0)
		goto out;
	r = uapi_server_new(d.base, d.engine, engine_ifname(d.engine), &d.uapi);
	if (r < 0) {
		log_warnx("cannot serve the wg(8) socket for %s: %s", engine_ifname(d.engine),
			  strerror(-r));
		goto out;
	}
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(d.base, signums[i], on_signal, &d);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) < 0)
			fatalx("cannot install signal handlers");
	}
	r = engine_start(d.engine);
	if (r < 0) {
		log_warnx("cannot start threads: %s", strerror(-r));
		goto out;
	}
	log_info("interface %s up, UDP port %u, MTU %u", engine_ifname(d.engine),
		 engine_port(d.engine), o->mtu);
	event_base_dispatch(d.base);
	rc = 0;
	if (engine_is_dead(d.engine))
		log_info("interface %s went away: exiting", engine_ifname(d.engine));
out:
	for (int i = 0; i < 3; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	uapi_server_free(d.uapi);
	engine_free(d.engine);
	event_base_free(d.base);
	return rc;
}

int main(int argc, char **argv)
{
	struct weftd_opts o;
	int r;

	log_init(argv[0], LOG_LEVEL_INFO);
	r = parse_opts(argc, argv, &o);
	if (r >= 0)
		return r;
	log_set_level(o.verbose == 0 ? LOG_LEVEL_WARN
				     : o.verbose == 1 ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG);
	if (sodium_init() < 0)
		fatalx("libsodium failed to initialise");
	if (evthread_use_pthreads() < 0)
		fatalx("libevent threading failed to initialise");
	signal(SIGPIPE, SIG_IGN);
	return run_wg(&o);
}
