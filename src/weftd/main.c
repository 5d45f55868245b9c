/* SPDX-License-Identifier: ISC */
/*
 * weftd: the weft node daemon. By default it runs in managed mode: it joins
 * the tailnet of a weft-server (configured with `weft up`), keeps its state
 * in /var/lib/weft and answers the weft CLI on /run/weft/weftd.sock. With
 * --wg IFNAME it is a plain WireGuard interface driven by wg(8), like
 * wireguard-go. Either way it stays in the foreground.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <sodium.h>

#include "core/atomicfile.h"
#include "core/log.h"
#include "core/numparse.h"
#include "weft/localapi.h"
#include "weft_config.h"
#include "weftd/backend.h"
#include "weftd/engine.h"
#include "weftd/localapi.h"
#include "weftd/uapi_server.h"

struct weftd_opts {
	const char *wg_ifname;
	const char *statedir;
	const char *state_file;
	const char *socket;
	const char *tun;
	unsigned mtu;
	bool mtu_set;
	uint16_t port;
	bool port_set;
	bool offload;
	int verbose;
};

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: weftd [--statedir DIR | --state FILE] [--socket PATH] [--tun NAME]\n"
		"             [--port N] [--mtu N] [--no-offload] [--verbose N]\n"
		"       weftd --wg IFNAME [--mtu N] [--port N] [--no-offload] [--verbose N]\n"
		"       weftd --help | --version\n"
		"\n"
		"The weft node daemon. It stays in the foreground; run it under your service\n"
		"manager. Configure it with the weft command (weft up --login-server=URL ...).\n"
		"\n"
		"  --statedir DIR  keep state (keys, profiles, prefs) in DIR/state.json\n"
		"                  (default %s)\n"
		"  --state FILE    keep state in FILE instead\n"
		"  --socket PATH   the local API socket weft talks to (default %s)\n"
		"  --tun NAME      the tunnel interface (default %s); its wg(8) socket is\n"
		"                  /var/run/wireguard/NAME.sock, so `wg show NAME` works\n"
		"  --port N        UDP port for WireGuard (default %u; 0 picks a free one)\n"
		"  --mtu N         tunnel MTU (default %u in managed mode, 1420 with --wg): 1280\n"
		"                  fits any path whose MTU is at least 1360\n"
		"  --no-offload    do not use TUN segmentation offloads or UDP GSO/GRO\n"
		"  --verbose N     log level: 0 warnings, 1 info (default), 2 debug\n"
		"  --wg IFNAME     plain-WireGuard mode: create IFNAME and serve wg(8) on\n"
		"                  /var/run/wireguard/IFNAME.sock, as wireguard-go does\n"
		"  --version       print the version and exit\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop the daemon and remove the interface; SIGUSR1 logs\n"
		"the drop counters. See weftd(8) in docs/weftd.md.\n",
		LOCALAPI_DEFAULT_STATEDIR, LOCALAPI_DEFAULT_SOCKET, LOCALAPI_DEFAULT_TUN,
		LOCALAPI_DEFAULT_PORT, LOCALAPI_DEFAULT_MTU);
}

/* Why the wg(8) socket could not be served, with the fix. */
static void weftd_uapi_error(const char *ifname, int r)
{
	if (r == -EADDRINUSE)
		log_error("another weftd (or wireguard-go) already serves /var/run/wireguard/%s.sock: "
			  "give this one another --tun name",
			  ifname);
	else
		log_error("cannot serve the wg(8) socket /var/run/wireguard/%s.sock: %s", ifname,
			  strerror(-r));
}

static int bad_value(const char *flag, const char *v, const char *what)
{
	fprintf(stderr, "weftd: invalid %s `%s': %s (see weftd --help)\n", flag, v, what);
	return 2;
}

static bool ifname_ok(const char *s)
{
	return strlen(s) > 0 && strlen(s) <= 15 && strchr(s, '/') == NULL &&
	       strchr(s, ' ') == NULL;
}

static int parse_opts(int argc, char **argv, struct weftd_opts *o)
{
	static const struct option longopts[] = {
		{ "wg", required_argument, NULL, 'w' },
		{ "statedir", required_argument, NULL, 'd' },
		{ "state", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "tun", required_argument, NULL, 't' },
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
	o->statedir = LOCALAPI_DEFAULT_STATEDIR;
	o->socket = LOCALAPI_DEFAULT_SOCKET;
	o->tun = LOCALAPI_DEFAULT_TUN;
	o->offload = true;
	o->verbose = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hv:", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			o->wg_ifname = optarg;
			break;
		case 'd':
			o->statedir = optarg;
			break;
		case 's':
			o->state_file = optarg;
			break;
		case 'S':
			o->socket = optarg;
			break;
		case 't':
			o->tun = optarg;
			break;
		case 'm':
			if (numparse_u32(optarg, 576, 65535, &v) < 0)
				return bad_value("--mtu", optarg, "must be 576-65535");
			o->mtu = v;
			o->mtu_set = true;
			break;
		case 'p':
			if (numparse_u32(optarg, 0, 65535, &v) < 0)
				return bad_value("--port", optarg, "must be 0-65535");
			o->port = (uint16_t)v;
			o->port_set = true;
			break;
		case 'O':
			o->offload = false;
			break;
		case 'v':
			if (numparse_u32(optarg, 0, 2, &v) < 0)
				return bad_value("--verbose", optarg, "must be 0, 1 or 2");
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
	if (o->wg_ifname != NULL && !ifname_ok(o->wg_ifname))
		return bad_value("--wg", o->wg_ifname, "1-15 characters, no '/' or spaces");
	if (!ifname_ok(o->tun))
		return bad_value("--tun", o->tun, "1-15 characters, no '/' or spaces");
	return -1;
}

struct weftd {
	struct event_base *base;
	struct engine *engine;	 /* --wg mode */
	struct backend *backend; /* managed mode */
	struct uapi_server *uapi;
	struct localapi *localapi;
	struct event *sigs[3];
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct weftd *d = arg;

	(void)what;
	if (sig == SIGUSR1) {
		engine_log_counters(d->engine != NULL ? d->engine : backend_engine(d->backend));
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(d->base);
}

static void weftd_signals(struct weftd *d)
{
	const int signums[3] = { SIGTERM, SIGINT, SIGUSR1 };

	for (int i = 0; i < 3; i++) {
		d->sigs[i] = evsignal_new(d->base, signums[i], on_signal, d);
		if (d->sigs[i] == NULL || event_add(d->sigs[i], NULL) < 0)
			fatalx("cannot install signal handlers");
	}
}

static void weftd_cleanup(struct weftd *d)
{
	for (int i = 0; i < 3; i++)
		if (d->sigs[i] != NULL)
			event_free(d->sigs[i]);
	localapi_free(d->localapi);
	uapi_server_free(d->uapi);
	backend_free(d->backend);
	engine_free(d->engine);
	event_base_free(d->base);
}

static int run_wg(struct weftd *d, const struct weftd_opts *o)
{
	struct engine_config cfg = {
		.ifname = o->wg_ifname, .mtu = o->mtu_set ? o->mtu : 1420, .offload = o->offload,
		.port = o->port,
	};
	int r;

	r = engine_new(&cfg, d->base, &d->engine);
	if (r < 0)
		return 1;
	r = uapi_server_new(d->base, d->engine, engine_ifname(d->engine), false, &d->uapi);
	if (r < 0) {
		weftd_uapi_error(engine_ifname(d->engine), r);
		return 1;
	}
	weftd_signals(d);
	r = engine_start(d->engine);
	if (r < 0) {
		log_warnx("cannot start threads: %s", strerror(-r));
		return 1;
	}
	log_info("interface %s up, UDP port %u, MTU %u", engine_ifname(d->engine),
		 engine_port(d->engine), cfg.mtu);
	event_base_dispatch(d->base);
	if (engine_is_dead(d->engine))
		log_info("interface %s went away: exiting", engine_ifname(d->engine));
	return 0;
}

static int run_managed(struct weftd *d, const struct weftd_opts *o)
{
	char path[PATH_MAX], err[512] = "";
	struct backend_config cfg = {
		.tun = o->tun,
		.port = o->port_set ? o->port : LOCALAPI_DEFAULT_PORT,
		.mtu = o->mtu_set ? o->mtu : LOCALAPI_DEFAULT_MTU,
		.offload = o->offload,
	};
	int r;

	if (o->state_file != NULL) {
		snprintf(path, sizeof(path), "%s", o->state_file);
	} else {
		r = atomicfile_mkdirs(o->statedir, 0700);
		if (r < 0) {
			log_warnx("cannot create state directory %s: %s", o->statedir, strerror(-r));
			return 1;
		}
		snprintf(path, sizeof(path), "%s/state.json", o->statedir);
	}
	cfg.state_path = path;
	r = backend_new(d->base, &cfg, &d->backend, err, sizeof(err));
	if (r < 0) {
		log_warnx("%s", err[0] != '\0' ? err : strerror(-r));
		return 1;
	}
	r = localapi_new(d->base, o->socket, d->backend, &d->localapi);
	if (r < 0) {
		log_warnx("cannot serve the local API on %s: %s%s", o->socket, strerror(-r),
			  r == -EADDRINUSE ? " (another weftd is running there; use --socket)" : "");
		return 1;
	}
	r = uapi_server_new(d->base, backend_engine(d->backend), o->tun, true, &d->uapi);
	if (r < 0) {
		weftd_uapi_error(o->tun, r);
		return 1;
	}
	weftd_signals(d);
	r = backend_run(d->backend);
	if (r < 0) {
		log_warnx("cannot start: %s", strerror(-r));
		return 1;
	}
	log_info("weftd %s: interface %s, UDP port %u, state %s, local API %s", WEFT_VERSION,
		 o->tun, cfg.port, path, o->socket);
	event_base_dispatch(d->base);
	if (engine_is_dead(backend_engine(d->backend)))
		log_warnx("interface %s went away: exiting", o->tun);
	return 0;
}

int main(int argc, char **argv)
{
	struct weftd d = { 0 };
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
	d.base = event_base_new();
	if (d.base == NULL)
		fatalx("event_base_new failed");
	r = o.wg_ifname != NULL ? run_wg(&d, &o) : run_managed(&d, &o);
	weftd_cleanup(&d);
	return r;
}
