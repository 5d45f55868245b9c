/* SPDX-License-Identifier: ISC */
/*
 * relaymap: the relay map weft-server puts in every network map
 * (docs/PROTOCOL.md 3.6.3): its embedded region (derp.server.*, reached at
 * server_url) and the regions of the derp.paths files, which are
 * Tailscale DERPMap documents in JSON or YAML (Headscale's lower-case YAML
 * keys too). Built once at start-up.
 */
#ifndef WEFT_SERVER_RELAYMAP_H
#define WEFT_SERVER_RELAYMAP_H

#include <stddef.h>

struct srv_config;
struct netmap_relaymap;

#define SRV_RELAYMAP_FILE_MAX (1u << 20)
#define SRV_RELAYMAP_MAX_REGIONS 1024 /* lib/netmap's limit */

/*
 * The embedded region's one node from server_url (host, port, and HTTP
 * when its scheme is http) and stun_listen_addr's port; -EINVAL with err
 * naming the value when server_url does not parse.
 */
int srv_relaymap_embedded(const struct srv_config *cfg, struct netmap_relaymap *out, char *err,
			  size_t errlen) __attribute__((warn_unused_result));

/*
 * Adds the regions of one DERPMap document (JSON or YAML) to `m`. A region
 * ID already in `m` is an error. `name` is used in messages.
 */
int srv_relaymap_add_doc(struct netmap_relaymap *m, const char *name, const void *buf, size_t len,
			 char *err, size_t errlen) __attribute__((warn_unused_result));

/* The whole map as JSON (malloc'd, NUL-terminated) into *out. */
int srv_relaymap_build(const struct srv_config *cfg, char **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

#endif
