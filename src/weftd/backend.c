/* SPDX-License-Identifier: ISC */
/*
 * backend: the managed-mode state machine (see backend.h). What the node
 * should do follows from the current profile's prefs: WantRunning with a
 * server and a login means connect; a network map means Running; logout
 * means NeedsLogin. Every change is saved to the state file first and then
 * told to the watchers.
 */
#include <errno.h>
#include <net/if.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "crypto/keys.h"
#include "core/mem.h"
#include "weft_config.h"
#include "weftd/backend_int.h"
#include "weftd/ctrlclient.h"
#include "weftd/engine.h"
#include "weftd/magicsock.h"
#include "weftd/netcfg.h"
#include "weftd/state.h"

static const char *const backend_state_names[] = {
	[BACKEND_NOSTATE] = "NoState",
	[BACKEND_IN_USE_OTHER_USER] = "InUseOtherUser",
	[BACKEND_NEEDS_LOGIN] = "NeedsLogin",
	[BACKEND_NEEDS_MACHINE_AUTH] = "NeedsMachineAuth",
	[BACKEND_STOPPED] = "Stopped",
	[BACKEND_STARTING] = "Starting",
	[BACKEND_RUNNING] = "Running",
};

const char *backend_state_name(enum backend_state s)
{
	return (unsigned)s < sizeof(backend_state_names) / sizeof(backend_state_names[0])
		       ? backend_state_names[s]
		       : "NoState";
}

/* ---- notifications -------------------------------------------------------------------- */

void backend_notify(struct backend *be, json_t *n)
{
	struct backend_watcher *w, *next;

	if (n == NULL)
		return;
	for (w = be->watchers; w != NULL; w = next) {
		next = w->next; /* a callback may unwatch itself */
		w->cb(w->arg, n);
	}
	json_decref(n);
}

json_t *backend_notify_full(struct backend *be)
{
	json_t *n = json_pack("{s:s, s:i, s:o}", "Version", WEFT_VERSION, "State", (int)be->state,
			      "Prefs", backend_prefs(be));

	if (n != NULL && be->auth_url[0] != '\0' && be->state == BACKEND_NEEDS_LOGIN)
		json_object_set_new(n, "BrowseToURL", json_string(be->auth_url));
	if (n != NULL && be->err_msg[0] != '\0')
		json_object_set_new(n, "ErrMessage", json_string(be->err_msg));
	return n;
}

struct backend_watcher *backend_watch(struct backend *be, void (*cb)(void *arg, json_t *notify),
				      void *arg)
{
	struct backend_watcher *w = calloc(1, sizeof(*w));
	json_t *first;

	if (w == NULL)
		return NULL;
	w->cb = cb;
	w->arg = arg;
	w->next = be->watchers;
	if (be->watchers != NULL)
		be->watchers->prev = w;
	be->watchers = w;
	first = backend_notify_full(be);
	if (first != NULL) {
		cb(arg, first);
		json_decref(first);
	}
	return w;
}

void backend_unwatch(struct backend *be, struct backend_watcher *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		be->watchers = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	free(w);
}

void backend_set_state(struct backend *be, enum backend_state s)
{
	if (s == be->state)
		return;
	log_info("state %s -> %s", backend_state_name(be->state), backend_state_name(s));
	be->state = s;
	if (s != BACKEND_NEEDS_LOGIN)
		be->auth_url[0] = '\0';
	backend_notify(be, json_pack("{s:i}", "State", (int)s));
}

void backend_set_error(struct backend *be, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(be->err_msg, sizeof(be->err_msg), fmt, ap);
	va_end(ap);
	log_warnx("%s", be->err_msg);
	backend_notify(be, json_pack("{s:s}", "ErrMessage", be->err_msg));
}

static void backend_save(struct backend *be)
{
	int r = state_save(be->st);

	if (r < 0)
		backend_set_error(be, "cannot save state to %s: %s", be->st->path, strerror(-r));
}

/* ---- control -------------------------------------------------------------------------- */

static bool backend_logged_in(struct backend *be)
{
	return state_current(be->st)->node_id != 0;
}

static void backend_control_stop(struct backend *be)
{
	ctrlclient_free(be->cc);
	be->cc = NULL;
}

static void cc_auth_url(void *arg, const char *url)
{
	struct backend *be = arg;

	snprintf(be->auth_url, sizeof(be->auth_url), "%s", url);
	/*
	 * The server no longer knows our node key (deleted, or expired and not
	 * renewed): its peers have dropped us, so drop them too rather than keep
	 * a stale tailnet (Tailscale does the same). A server that is merely down
	 * never gets here.
	 */
	if (be->nm != NULL && !be->reauth_pending)
		backend_unapply(be);
	backend_set_state(be, BACKEND_NEEDS_LOGIN);
	backend_notify(be, json_pack("{s:s}", "BrowseToURL", url));
}

static void cc_logged_in(void *arg, const struct ctrlclient_login *login)
{
	struct backend *be = arg;
	struct state_profile *p = state_current(be->st);

	p->node_id = login->node_id;
	p->user_id = login->user_id;
	snprintf(p->user_login, sizeof(p->user_login), "%s", login->user_login);
	snprintf(p->node_name, sizeof(p->node_name), "%s", login->node_name);
	p->prefs.logged_out = false;
	be->reauth_pending = false;
	/* The server took our current key: a rotation in progress is complete. */
	if (p->has_old_node_key) {
		mem_wipe(&p->old_node_key, sizeof(p->old_node_key));
		p->has_old_node_key = false;
	}
	be->err_msg[0] = '\0';
	backend_save(be);
	if (be->state != BACKEND_RUNNING)
		backend_set_state(be, BACKEND_STARTING);
}

static void cc_server_key(void *arg, const struct machine_public *key)
{
	struct backend *be = arg;
	struct state_profile *p = state_current(be->st);

	p->server_key = *key;
	p->has_server_key = true;
	backend_save(be);
}

static int backend_control_start(struct backend *be, const char *auth_key);

/*
 * Node-key rotation. A key that expires is rotated at 80% of the time it had
 * left when we first saw that expiry: a new key is generated, the old one
 * kept to prove the change, and the node registers again (docs/PROTOCOL.md
 * 3.4). Until the server confirms, both keys are in the state file, so a
 * crash in between retries the rotation.
 */
static void backend_rotate_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend *be = arg;
	struct state_profile *p = state_current(be->st);

	(void)fd;
	(void)what;
	if (be->state != BACKEND_RUNNING || p->has_old_node_key)
		return;
	log_info("rotating the node key before it expires");
	p->old_node_key = p->node_key;
	p->has_old_node_key = true;
	keys_generate(p->node_key.b);
	backend_save(be);
	if (backend_control_start(be, NULL) < 0)
		log_warnx("cannot restart the control client to rotate the node key");
}

static void backend_rotate_schedule(struct backend *be)
{
	const struct netmap_node *self = be->nm ? netmap_self(be->nm) : NULL;
	int64_t now = (int64_t)time(NULL), left;
	struct timeval tv;

	if (self == NULL || self->key_expiry == 0 || self->key_expiry == be->rotate_for)
		return;
	be->rotate_for = self->key_expiry;
	if (be->rotate_ev == NULL &&
	    (be->rotate_ev = evtimer_new(be->base, backend_rotate_cb, be)) == NULL)
		return;
	left = self->key_expiry - now;
	if (left <= 0)
		return; /* expired: the server makes us log in again */
	tv.tv_sec = (time_t)(left * 4 / 5);
	tv.tv_usec = 0;
	if (evtimer_add(be->rotate_ev, &tv) < 0)
		log_warnx("cannot schedule the node-key rotation");
}

static int cc_netmap_full(void *arg, struct netmap *nm)
{
	struct backend *be = arg;
	int r = backend_netmap_full(be, nm);

	if (r == 0) {
		backend_set_state(be, BACKEND_RUNNING);
		backend_rotate_schedule(be);
	}
	backend_notify(be, json_pack("{s:b}", "NetMap", true));
	return r;
}

static int cc_netmap_delta(void *arg, const json_t *frame)
{
	struct backend *be = arg;
	int r = backend_netmap_delta(be, frame);

	if (r == 0) {
		backend_rotate_schedule(be);
		backend_notify(be, json_pack("{s:b}", "NetMap", true));
	}
	return r;
}

static void cc_error(void *arg, const char *msg, bool fatal)
{
	struct backend *be = arg;

	backend_set_error(be, "%s", msg);
	if (fatal) {
		backend_control_stop(be);
		backend_set_state(be, backend_logged_in(be) ? BACKEND_STOPPED : BACKEND_NEEDS_LOGIN);
	}
}

static const struct ctrlclient_callbacks backend_cc_callbacks = {
	.auth_url = cc_auth_url,
	.logged_in = cc_logged_in,
	.server_key = cc_server_key,
	.netmap_full = cc_netmap_full,
	.netmap_delta = cc_netmap_delta,
	.error = cc_error,
};

/* magicsock learnt new endpoints or chose another home relay: tell control. */
static void backend_ms_changed(void *arg)
{
	struct backend *be = arg;
	struct netendpoint eps[MAGICSOCK_MAX_ENDPOINTS];
	size_t n;

	if (be->cc == NULL)
		return;
	n = magicsock_endpoints(be->ms, eps, MAGICSOCK_MAX_ENDPOINTS);
	ctrlclient_set_path(be->cc, eps, n, magicsock_home(be->ms));
}

static const struct magicsock_callbacks backend_ms_callbacks = {
	.changed = backend_ms_changed,
};

static int backend_control_start(struct backend *be, const char *auth_key)
{
	struct state_profile *p = state_current(be->st);
	const char *tags[IPN_TAGS_MAX];
	struct ctrlclient_config cfg = {
		.url = p->prefs.control_url,
		.machine_key = &be->st->machine_key,
		.node_key = &p->node_key,
		.old_node_key = p->has_old_node_key ? &p->old_node_key : NULL,
		.server_key = p->has_server_key ? &p->server_key : NULL,
		.auth_key = auth_key,
		.hostname = p->prefs.hostname[0] != '\0' ? p->prefs.hostname : be->os_hostname,
		.os = "linux",
		.tags = tags,
		.ntags = p->prefs.ntags,
		.port = engine_port(be->engine),
		.tun = be->cfg.tun,
		.disco_key = magicsock_disco_public(be->ms),
	};
	int r;

	for (size_t i = 0; i < p->prefs.ntags; i++)
		tags[i] = p->prefs.tags[i];
	backend_control_stop(be);
	be->err_msg[0] = '\0';
	magicsock_set_node_key(be->ms, &p->node_key);
	r = ctrlclient_new(be->base, &cfg, &backend_cc_callbacks, be, &be->cc);
	if (r < 0) {
		backend_set_error(be, "cannot start the control client for %s: %s",
				  p->prefs.control_url, strerror(-r));
		return r;
	}
	backend_ms_changed(be);
	backend_set_state(be, BACKEND_STARTING);
	return 0;
}

/* Brings the node to what the prefs ask for. */
static int backend_converge(struct backend *be, const char *auth_key)
{
	struct state_profile *p = state_current(be->st);

	/* Registration covers both cases: a known node key is simply authorised again;
	 * a new one gets logged in with the auth key or an approval URL. */
	if (p->prefs.want_running && p->prefs.control_url[0] != '\0')
		return backend_control_start(be, auth_key);
	backend_control_stop(be);
	backend_unapply(be);
	backend_set_state(be, backend_logged_in(be) && !p->prefs.logged_out ? BACKEND_STOPPED
									    : BACKEND_NEEDS_LOGIN);
	return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int backend_new(struct event_base *base, const struct backend_config *cfg, struct backend **out,
		char *err, size_t errlen)
{
	struct engine_config ecfg = {
		.ifname = cfg->tun, .mtu = cfg->mtu, .offload = cfg->offload, .port = cfg->port,
	};
	struct backend *be;
	int r;

	*out = NULL;
	be = calloc(1, sizeof(*be));
	if (be == NULL)
		return -ENOMEM;
	be->base = base;
	be->cfg = *cfg;
	r = state_load(cfg->state_path, &be->st, err, errlen);
	if (r < 0)
		goto fail;
	r = netcfg_open(&be->netcfg);
	if (r < 0) {
		snprintf(err, errlen, "cannot open rtnetlink: %s", strerror(-r));
		goto fail;
	}
	r = engine_new(&ecfg, base, &be->engine);
	if (r < 0) {
		snprintf(err, errlen, "cannot create interface %s: %s", cfg->tun, strerror(-r));
		goto fail;
	}
	r = magicsock_new(base, be->engine, engine_ifname(be->engine), &backend_ms_callbacks, be,
			  &be->ms);
	if (r < 0) {
		snprintf(err, errlen, "cannot start NAT traversal: %s", strerror(-r));
		goto fail;
	}
	be->ifindex = if_nametoindex(engine_ifname(be->engine));
	r = backend_dns_init(be, err, errlen);
	if (r < 0)
		goto fail;
	if (gethostname(be->os_hostname, sizeof(be->os_hostname) - 1) < 0)
		snprintf(be->os_hostname, sizeof(be->os_hostname), "localhost");
	backend_ping_install(be);
	r = state_save(be->st); /* a fresh identity is kept from the first moment */
	if (r < 0) {
		snprintf(err, errlen, "cannot write %s: %s", cfg->state_path, strerror(-r));
		goto fail;
	}
	*out = be;
	return 0;
fail:
	backend_free(be);
	return r;
}

int backend_run(struct backend *be)
{
	int r = engine_start(be->engine);

	if (r < 0)
		return r;
	return backend_converge(be, NULL);
}

void backend_free(struct backend *be)
{
	if (be == NULL)
		return;
	/* Outside the loop: ctrlclient_free's deferred free would never run. */
	ctrlclient_free_now(be->cc);
	be->cc = NULL;
	if (be->rotate_ev != NULL)
		event_free(be->rotate_ev);
	while (be->watchers != NULL)
		backend_unwatch(be, be->watchers);
	backend_pings_free(be);
	if (be->engine != NULL && be->netcfg != NULL)
		backend_unapply(be);
	backend_dns_free(be); /* the host's resolv.conf goes back as the daemon exits */
	netmap_free(be->nm);
	/* Before the engine: it holds magicsock's hooks. */
	magicsock_free(be->ms);
	engine_free(be->engine);
	netcfg_close(be->netcfg);
	state_free(be->st);
	free(be);
}

struct engine *backend_engine(struct backend *be)
{
	return be->engine;
}

uid_t backend_operator_uid(struct backend *be)
{
	const char *op = state_current(be->st)->prefs.operator_user;
	struct passwd *pw;

	if (op[0] == '\0')
		return (uid_t)-1;
	pw = getpwnam(op);
	return pw != NULL ? pw->pw_uid : (uid_t)-1;
}

/* ---- prefs ---------------------------------------------------------------------------- */

json_t *backend_prefs(struct backend *be)
{
	return ipn_prefs_to_json(&state_current(be->st)->prefs);
}

/* A different server means a different tailnet: the old login does not carry over. */
static void backend_prefs_replaced(struct backend *be, const struct ipn_prefs *old)
{
	struct state_profile *p = state_current(be->st);

	if (strcmp(old->control_url, p->prefs.control_url) != 0 && backend_logged_in(be)) {
		state_profile_forget_login(p);
		p->has_server_key = false;
	}
}

static bool backend_needs_reconnect(const struct ipn_prefs *a, const struct ipn_prefs *b)
{
	bool tags_same = a->ntags == b->ntags;

	for (size_t i = 0; tags_same && i < a->ntags; i++)
		tags_same = strcmp(a->tags[i], b->tags[i]) == 0;
	return a->want_running != b->want_running || strcmp(a->control_url, b->control_url) != 0 ||
	       strcmp(a->hostname, b->hostname) != 0 || !tags_same;
}

/*
 * A ProfileName pref names the profile too (weft switch NAME and the profile
 * list use the name), so it must not be another profile's name or ID.
 */
static int backend_profile_rename(struct backend *be, char *err, size_t errlen)
{
	struct state_profile *p = state_current(be->st);
	const char *want = p->prefs.profile_name;

	if (want[0] == '\0' || strcmp(want, p->name) == 0)
		return 0;
	for (size_t i = 0; i < be->st->nprofiles; i++) {
		const struct state_profile *q = &be->st->profiles[i];
		if (q != p && (strcmp(q->name, want) == 0 || strcmp(q->id, want) == 0)) {
			snprintf(err, errlen, "profile name `%.64s' is taken by profile %s", want,
				 q->id);
			return -EEXIST;
		}
	}
	snprintf(p->name, sizeof(p->name), "%s", want);
	return 0;
}

/* Puts back the prefs saved in `old` (consumed). */
static void backend_prefs_restore(struct backend *be, struct ipn_prefs *old)
{
	struct state_profile *p = state_current(be->st);

	ipn_prefs_free(&p->prefs);
	p->prefs = *old;
	old->tags = NULL;
	old->routes = NULL;
	old->ntags = old->nroutes = 0;
}

int backend_patch_prefs(struct backend *be, const json_t *masked, char *err, size_t errlen)
{
	struct state_profile *p = state_current(be->st);
	struct ipn_prefs old;
	int r;

	if (masked == NULL) {
		snprintf(err, errlen, "prefs: want a JSON body");
		return -EINVAL;
	}
	r = ipn_prefs_copy(&old, &p->prefs);
	if (r < 0)
		return r;
	r = ipn_prefs_apply_masked(&p->prefs, masked, err, errlen);
	if (r == 0) {
		r = backend_profile_rename(be, err, errlen);
		if (r < 0)
			backend_prefs_restore(be, &old);
	}
	if (r == 0) {
		backend_prefs_replaced(be, &old);
		backend_save(be);
		backend_notify(be, json_pack("{s:o}", "Prefs", backend_prefs(be)));
		if (old.corp_dns != p->prefs.corp_dns)
			backend_dns_changed(be); /* --accept-dns on or off, at once */
		if (backend_needs_reconnect(&old, &p->prefs))
			r = backend_converge(be, NULL);
	}
	ipn_prefs_free(&old);
	return r;
}

int backend_start(struct backend *be, const json_t *update_prefs, const char *authkey, char *err,
		  size_t errlen)
{
	struct state_profile *p = state_current(be->st);
	struct ipn_prefs old;
	int r;

	r = ipn_prefs_copy(&old, &p->prefs);
	if (r < 0)
		return r;
	if (update_prefs != NULL) {
		r = ipn_prefs_from_json(&p->prefs, update_prefs, err, errlen);
		if (r == 0) {
			r = backend_profile_rename(be, err, errlen);
			if (r < 0)
				backend_prefs_restore(be, &old);
		}
		if (r < 0) {
			ipn_prefs_free(&old);
			return r;
		}
		backend_prefs_replaced(be, &old);
	}
	if (old.corp_dns != p->prefs.corp_dns)
		backend_dns_changed(be);
	ipn_prefs_free(&old);
	if (p->prefs.want_running && p->prefs.control_url[0] == '\0') {
		snprintf(err, errlen, "no control server: use weft up --login-server=URL");
		return -EINVAL;
	}
	if (p->prefs.want_running)
		p->prefs.logged_out = false;
	backend_save(be);
	backend_notify(be, json_pack("{s:o}", "Prefs", backend_prefs(be)));
	return backend_converge(be, authkey != NULL && authkey[0] != '\0' ? authkey : NULL);
}

int backend_login_interactive(struct backend *be, char *err, size_t errlen)
{
	struct state_profile *p = state_current(be->st);

	if (p->prefs.control_url[0] == '\0') {
		snprintf(err, errlen, "no control server: use weft login --login-server=URL");
		return -EINVAL;
	}
	p->prefs.want_running = true;
	p->prefs.logged_out = false;
	/*
	 * An interactive login (weft up --force-reauth, weft login) must make the
	 * server authenticate the node again, so it registers a new node key the
	 * server has never seen, without the old one as proof (as Tailscale's
	 * interactive login does). The old key keeps working until then.
	 */
	if (p->node_id != 0) {
		be->reauth_pending = true;
		keys_generate(p->node_key.b);
		mem_wipe(&p->old_node_key, sizeof(p->old_node_key));
		p->has_old_node_key = false;
	}
	backend_save(be);
	return backend_control_start(be, NULL);
}

int backend_logout(struct backend *be, char *err, size_t errlen)
{
	struct state_profile *p = state_current(be->st);

	(void)err;
	(void)errlen;
	if (be->cc != NULL) {
		ctrlclient_logout_and_free(be->cc);
		be->cc = NULL;
	}
	backend_unapply(be);
	state_profile_forget_login(p);
	p->prefs.logged_out = true;
	p->prefs.want_running = false;
	backend_save(be);
	backend_set_state(be, BACKEND_NEEDS_LOGIN);
	return 0;
}

/* ---- profiles ------------------------------------------------------------------------- */

static json_t *backend_profile_json(const struct state_profile *p)
{
	return json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:s}}", "ID", p->id, "Name", p->name,
			 "ControlURL", p->prefs.control_url, "UserProfile", "LoginName",
			 p->user_login, "NetworkProfile", "MagicDNSName", p->node_name);
}

json_t *backend_profiles(struct backend *be)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < be->st->nprofiles; i++)
		json_array_append_new(a, backend_profile_json(&be->st->profiles[i]));
	return a;
}

json_t *backend_profile_current(struct backend *be)
{
	return backend_profile_json(state_current(be->st));
}

static int backend_switch_to(struct backend *be, struct state_profile *p)
{
	int r;

	backend_control_stop(be);
	backend_unapply(be);
	r = state_profile_switch(be->st, p);
	if (r < 0)
		return r;
	backend_save(be);
	backend_notify(be, backend_notify_full(be));
	return backend_converge(be, NULL);
}

int backend_profile_switch(struct backend *be, const char *id, char *err, size_t errlen)
{
	struct state_profile *p = state_find(be->st, id);

	if (p == NULL) {
		snprintf(err, errlen, "no profile `%.64s' (see weft switch --list)", id);
		return -ENOENT;
	}
	if (p == state_current(be->st))
		return 0;
	return backend_switch_to(be, p);
}

int backend_profile_new(struct backend *be, char *err, size_t errlen)
{
	struct state_profile *p;
	char name[32];
	int r;

	snprintf(name, sizeof(name), "profile-%zu", be->st->nprofiles + 1);
	r = state_profile_add(be->st, name, &p);
	if (r < 0) {
		snprintf(err, errlen, "cannot add a profile: %s", strerror(-r));
		return r;
	}
	return backend_switch_to(be, p);
}

int backend_profile_delete(struct backend *be, const char *id, char *err, size_t errlen)
{
	struct state_profile *p = state_find(be->st, id);
	int r;

	if (p == NULL) {
		snprintf(err, errlen, "no profile `%.64s'", id);
		return -ENOENT;
	}
	r = state_profile_remove(be->st, p);
	if (r == -EBUSY) {
		snprintf(err, errlen, "cannot delete the current profile: switch to another first");
		return r;
	}
	if (r == 0)
		backend_save(be);
	return r;
}
