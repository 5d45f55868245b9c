/* SPDX-License-Identifier: ISC */
/*
 * uapi_server: serves wg(8)'s configuration protocol on
 * /var/run/wireguard/IFNAME.sock for one engine: get=1 reports the device,
 * set=1 applies a whole validated change under the device lock.
 */
#ifndef WEFT_WEFTD_UAPI_SERVER_H
#define WEFT_WEFTD_UAPI_SERVER_H

#include <stdbool.h>

struct event_base;
struct engine;
struct uapi_server;

#define UAPI_SOCKET_DIR "/var/run/wireguard"

/*
 * With `read_only` (managed mode, where the control server owns the
 * configuration) get=1 works and set=1 is refused with errno=-EPERM.
 */
int uapi_server_new(struct event_base *base, struct engine *e, const char *ifname, bool read_only,
		    struct uapi_server **out) __attribute__((warn_unused_result));
/* Closes every connection and removes the socket file. NULL is a no-op. */
void uapi_server_free(struct uapi_server *s);

#endif
