/* SPDX-License-Identifier: ISC */
/*
 * server: `weft-server serve`: one libevent loop with the node protocol
 * and the REST API on listen_addr (TLS when configured), the same API
 * without authentication on the local admin socket, /metrics on
 * metrics_listen_addr, and the timers that expire keys and ephemeral nodes.
 */
#ifndef WEFT_SERVER_SERVER_H
#define WEFT_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrl/ctrlproto.h"

struct event_base;
struct evhttp;
struct evhttp_request;
struct ctrl_replay;
struct srv_config;
struct srv_state;
struct mapper;
struct srv_pending;
struct srv_node;
struct srv_policy;

/* Why requests were refused, for /metrics. */
enum srv_reject {
	SRV_REJ_MALFORMED, /* bad header, envelope or JSON */
	SRV_REJ_AUTH,	   /* body did not open with the claimed machine key */
	SRV_REJ_TOOLARGE,
	SRV_REJ_STALE,	   /* timestamp too far from our clock */
	SRV_REJ_REPLAY,
	SRV_REJ_AUTHKEY,   /* pre-auth key refused */
	SRV_REJ_NODEKEY,   /* unknown or expired node key */
	SRV_REJ_APIKEY,	   /* REST call without a valid API key */
	SRV_REJ_COUNT,
};

struct srv {
	struct event_base *base;
	struct srv_config *cfg;
	struct srv_state *st;
	struct mapper *mapper;
	struct srv_policy *policy;
	struct ctrl_replay *replay;	/* requests from registered machines */
	struct ctrl_replay *replay_new; /* from machine keys we do not know (registrations) */
	struct evhttp *http;
	struct evhttp *admin;
	struct evhttp *metrics;
	void *ssl_ctx; /* SSL_CTX, when TLS is configured */
	struct relay_server *relay; /* the embedded relay (derp.server.enabled), on the main listener */
	struct stun_server *stun;   /* its STUN responder on derp.server.stun_listen_addr */
	struct stun_server *stun2;  /* and on derp.server.stun_second_listen_addr, if set */
	struct srv_pending **pending; /* interactive registrations (api_node.c) */
	size_t n_pending;
	uint64_t rejects[SRV_REJ_COUNT];
	uint64_t requests_node;
	uint64_t requests_api;
	int64_t started;
	char admin_path[4096];
	bool stopping;
};

int srv_serve(struct srv_config *cfg);

/* api_node.c: the node protocol (docs/PROTOCOL.md section 3) on the main listener. */
void srv_node_route(struct srv *srv, struct evhttp_request *req, const char *path);
void srv_pending_free_all(struct srv *srv);
void srv_pending_tick(struct srv *srv);
/* The admin approves an interactive registration. -ENOENT when the ID is unknown or gone. */
int srv_pending_approve(struct srv *srv, const char *authid, const char *user_ref,
			struct srv_node **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* api_admin.c: /api/v1 (docs/API.md); `trusted` on the admin socket. */
void srv_api_route(struct srv *srv, struct evhttp_request *req, const char *path, bool trusted);
/* metrics.c */
void srv_metrics_reply(struct srv *srv, struct evhttp_request *req);

/* Helpers shared by the handlers (server.c). */
void srv_reply_json(struct evhttp_request *req, int code, const char *json, size_t len);
void srv_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The request body, or NULL with *len 0. Borrowed until the reply. */
const uint8_t *srv_body(struct evhttp_request *req, size_t *len);

#endif
