/* SPDX-License-Identifier: ISC */
/*
 * localapi: the HTTP+JSON API weft uses, on a unix socket (docs/LOCALAPI.md).
 * Routes are a table of method, path, permission and handler; anyone may read,
 * only root or the operator (from the socket's peer credentials) may change
 * anything. Handlers call into the backend.
 */
#ifndef WEFT_WEFTD_LOCALAPI_H
#define WEFT_WEFTD_LOCALAPI_H

struct event_base;
struct backend;
struct localapi;

int localapi_new(struct event_base *base, const char *path, struct backend *be,
		 struct localapi **out) __attribute__((warn_unused_result));
/* Closes the listener and every open request; removes the socket file. */
void localapi_free(struct localapi *la);

#endif
