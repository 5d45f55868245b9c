/* SPDX-License-Identifier: ISC */
/*
 * backend: the node's brain in managed mode (Tailscale's LocalBackend): the
 * backend state (NeedsLogin ... Running), the current profile and its
 * prefs, the control client, the network map, and applying that map to the
 * engine (WireGuard peers) and the interface (addresses, routes). It answers
 * the local API and tells watchers about every change. Runs on the control
 * thread.
 */
#ifndef WEFT_WEFTD_BACKEND_H
#define WEFT_WEFTD_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "core/netaddr.h"

struct event_base;
struct backend;
struct backend_watcher;

/* Tailscale's ipn.State numbers (docs/LOCALAPI.md). */
enum backend_state {
	BACKEND_NOSTATE = 0,
	BACKEND_IN_USE_OTHER_USER = 1,
	BACKEND_NEEDS_LOGIN = 2,
	BACKEND_NEEDS_MACHINE_AUTH = 3,
	BACKEND_STOPPED = 4,
	BACKEND_STARTING = 5,
	BACKEND_RUNNING = 6,
};

struct backend_config {
	const char *state_path;
	const char *tun;
	uint16_t port;
	unsigned mtu;
	bool offload;
};

int backend_new(struct event_base *base, const struct backend_config *cfg, struct backend **out,
		char *err, size_t errlen) __attribute__((warn_unused_result));
void backend_free(struct backend *be);
/* Begins work (connect if the prefs want running). */
int backend_run(struct backend *be) __attribute__((warn_unused_result));
const char *backend_state_name(enum backend_state s);

struct engine *backend_engine(struct backend *be);

/* Who may change things: root, or this uid (the operator), or -1 for none. */
uid_t backend_operator_uid(struct backend *be);

/* Local API operations. JSON results are new references. Errors fill err. */
json_t *backend_status(struct backend *be, bool peers);
json_t *backend_prefs(struct backend *be);
int backend_patch_prefs(struct backend *be, const json_t *masked, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int backend_start(struct backend *be, const json_t *update_prefs, const char *authkey, char *err,
		  size_t errlen) __attribute__((warn_unused_result));
int backend_login_interactive(struct backend *be, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int backend_logout(struct backend *be, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* -ENOENT when no node has the address. */
int backend_whois(struct backend *be, const struct netaddr *a, json_t **out)
	__attribute__((warn_unused_result));
json_t *backend_profiles(struct backend *be);
json_t *backend_profile_current(struct backend *be);
int backend_profile_switch(struct backend *be, const char *id, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int backend_profile_new(struct backend *be, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int backend_profile_delete(struct backend *be, const char *id, char *err, size_t errlen)
	__attribute__((warn_unused_result));
json_t *backend_netmap(struct backend *be);
/* The engine's counters and the resolver's ("dns_..."). */
json_t *backend_counters(struct backend *be);
/* The last network report (`weft netcheck`), {} before the first. */
json_t *backend_netcheck(struct backend *be);

/* MagicDNS: what is in force (docs/LOCALAPI.md, dns-status). */
json_t *backend_dns_status(struct backend *be);
/* A question from the local API's name= and type= (type may be NULL: A, or PTR for an IP). */
struct dnsmsg_question;
int backend_dns_question(const char *name, const char *type, struct dnsmsg_question *q,
			 char *err, size_t errlen) __attribute__((warn_unused_result));
/*
 * Asks the resolver; `cb` gets the reply bytes once on the control thread
 * (maybe before this returns: see dnsd_query_start), unless cancelled first.
 */
struct dnsd_query;
int backend_dns_query(struct backend *be, const struct dnsmsg_question *q,
		      void (*cb)(void *arg, const uint8_t *msg, size_t len), void *arg,
		      struct dnsd_query **out) __attribute__((warn_unused_result));
void backend_dns_query_cancel(struct backend *be, struct dnsd_query *q);
/* A reply as the dns-query answer's JSON (records decoded, the route the name takes). */
json_t *backend_dns_answer(struct backend *be, const struct dnsmsg_question *q,
			   const uint8_t *msg, size_t len);

json_t *backend_filter(struct backend *be);

/*
 * Pings the node owning `ip` through the tunnel; cb gets the PingResult JSON
 * (docs/LOCALAPI.md) once, on the control thread, unless the ping is
 * cancelled first. Returns a handle for backend_ping_cancel.
 */
struct backend_ping;
int backend_ping_start(struct backend *be, const struct netaddr *ip, uint64_t timeout_ns,
		       void (*cb)(void *arg, json_t *result), void *arg,
		       struct backend_ping **out) __attribute__((warn_unused_result));
void backend_ping_cancel(struct backend *be, struct backend_ping *p);

/* Watchers get every notification (ipn.Notify JSON); the first carries the full state. */
struct backend_watcher *backend_watch(struct backend *be, void (*cb)(void *arg, json_t *notify),
				      void *arg);
void backend_unwatch(struct backend *be, struct backend_watcher *w);

#endif
