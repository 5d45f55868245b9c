/* SPDX-License-Identifier: ISC */
/*
 * admin_client: the admin commands' connection to a running weft-server:
 * its local admin socket (unix_socket from the config), or, with
 * cli.address / WEFT_CLI_ADDRESS and cli.api_key / WEFT_CLI_API_KEY, a
 * remote server's REST API with a Bearer API key, as Headscale's CLI does.
 */
#ifndef WEFT_SERVER_ADMIN_CLIENT_H
#define WEFT_SERVER_ADMIN_CLIENT_H

#include <stddef.h>

#include <jansson.h>

struct srv_config;
struct admin_client;

#define AUTHKEY_HDR_MAX 160

int admin_client_new(const struct srv_config *cfg, struct admin_client **out, char *err,
		     size_t errlen) __attribute__((warn_unused_result));
void admin_client_free(struct admin_client *c);
/*
 * One call: METHOD /api/v1/... with an optional JSON body. 0 and *out (the
 * JSON answer, or NULL) on 2xx; else a negative errno and err holds the
 * server's message or why it could not be reached.
 */
int admin_call(struct admin_client *c, const char *method, const char *path, const json_t *body,
	       json_t **out, char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
