/* SPDX-License-Identifier: ISC */
/*
 * stun_server: answers STUN Binding requests (lib/stun) on a UDP socket on a
 * libevent loop, in batches, under a global rate limit; every other datagram
 * is dropped and counted. Also usable by a caller that reads the socket itself
 * and shares it with other protocols (stun_server_handle).
 */
#ifndef WEFT_RELAY_STUN_SERVER_H
#define WEFT_RELAY_STUN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "stun/stun.h"

struct event_base;
struct stun_server;

struct stun_server_config {
	const char *listen; /* "ADDR:PORT" to bind, or NULL with fd */
	int fd;		    /* a bound UDP socket (not closed on free), when listen is NULL */
	uint32_t rate;	    /* answers per second for the whole server; default 50000 */
	uint32_t burst;	    /* default rate / 10 */
};

struct stun_server_counters {
	uint64_t datagrams;
	uint64_t answered;
	uint64_t rate_limited;
	uint64_t send_errors;
	struct stun_counters parse; /* why requests were refused */
};

int stun_server_new(struct event_base *base, const struct stun_server_config *cfg,
		    struct stun_server **out) __attribute__((warn_unused_result));
void stun_server_free(struct stun_server *s);
int stun_server_fd(const struct stun_server *s);

/*
 * For a socket read elsewhere: answers p[n] from `from` on fd if it is a
 * binding request (true), else counts it and returns false.
 */
bool stun_server_handle(struct stun_server *s, int fd, const uint8_t *p, size_t n,
			const struct sockaddr *from, socklen_t fromlen);

void stun_server_counters(const struct stun_server *s, struct stun_server_counters *out);
int stun_server_counters_json(const struct stun_server *s, struct buf_writer *w);

#endif
