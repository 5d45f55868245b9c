/* SPDX-License-Identifier: ISC */
/* stun_server: batched STUN binding answers on libevent (see stun_server.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/netaddr.h"
#include "relay/stun_server.h"

#define STUN_BATCH 32

struct stun_server {
	struct event_base *base;
	struct event *ev;
	int fd;
	bool own_fd;
	double tokens;
	double rate, burst;
	struct timeval last;
	struct stun_server_counters c;
};

static bool stun_server_allow(struct stun_server *s)
{
	struct timeval now;

	event_base_gettimeofday_cached(s->base, &now);
	double dt = (double)(now.tv_sec - s->last.tv_sec) +
		    (double)(now.tv_usec - s->last.tv_usec) / 1e6;
	s->last = now;
	if (dt > 0)
		s->tokens += dt * s->rate;
	if (s->tokens > s->burst)
		s->tokens = s->burst;
	if (s->tokens < 1.0)
		return false;
	s->tokens -= 1.0;
	return true;
}

bool stun_server_handle(struct stun_server *s, int fd, const uint8_t *p, size_t n,
			const struct sockaddr *from, socklen_t fromlen)
{
	struct stun_msg m;
	struct netendpoint ep;
	uint8_t resp[STUN_RESPONSE_MAX];
	enum stun_verdict v;
	size_t rn;

	s->c.datagrams++;
	v = stun_request_parse(p, n, &m);
	stun_count(&s->c.parse, v);
	if (v != STUN_OK)
		return false;
	if (netendpoint_from_sockaddr(&ep, from, fromlen) != 0)
		return false;
	if (!stun_server_allow(s)) {
		s->c.rate_limited++;
		return false;
	}
	rn = stun_response_build(resp, m.txid, &ep);
	if (rn == 0)
		return false;
	if (sendto(fd, resp, rn, MSG_DONTWAIT, from, fromlen) != (ssize_t)rn) {
		s->c.send_errors++;
		return false;
	}
	s->c.answered++;
	return true;
}

static void stun_server_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stun_server *s = arg;
	static uint8_t bufs[STUN_BATCH][STUN_MSG_MAX + 1];
	struct mmsghdr msgs[STUN_BATCH];
	struct iovec iov[STUN_BATCH];
	struct sockaddr_storage from[STUN_BATCH];

	(void)what;
	/* A bounded number of batches per wake-up, so a flood cannot hold the loop. */
	for (int round = 0; round < 8; round++) {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < STUN_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		int n = recvmmsg(fd, msgs, STUN_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			size_t len = msgs[i].msg_len;
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				s->c.datagrams++;
				stun_count(&s->c.parse, STUN_E_ATTR);
				continue;
			}
			(void)stun_server_handle(s, fd, bufs[i], len, (struct sockaddr *)&from[i],
						 msgs[i].msg_hdr.msg_namelen);
		}
		if (n < STUN_BATCH)
			return;
	}
}

int stun_server_new(struct event_base *base, const struct stun_server_config *cfg,
		    struct stun_server **out)
{
	struct stun_server *s;
	int r = -ENOMEM;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->base = base;
	s->fd = -1;
	s->rate = cfg->rate != 0 ? cfg->rate : 50000;
	s->burst = cfg->burst != 0 ? cfg->burst : s->rate / 10 + 1;
	s->tokens = s->burst;
	event_base_gettimeofday_cached(base, &s->last);
	if (cfg->listen != NULL) {
		struct netendpoint ep;
		struct sockaddr_storage ss;
		socklen_t sl;
		int one = 1;
		if (netendpoint_parse(cfg->listen, &ep) != 0) {
			r = -EINVAL;
			goto fail;
		}
		sl = netendpoint_to_sockaddr(&ep, &ss);
		s->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s->fd < 0) {
			r = -errno;
			goto fail;
		}
		s->own_fd = true;
		if (ss.ss_family == AF_INET6)
			(void)setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 0 },
					 sizeof(int));
		(void)setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s->fd, (struct sockaddr *)&ss, sl) != 0) {
			r = -errno;
			goto fail;
		}
	} else {
		if (cfg->fd < 0) {
			r = -EBADF;
			goto fail;
		}
		s->fd = cfg->fd;
	}
	s->ev = event_new(base, s->fd, EV_READ | EV_PERSIST, stun_server_read_cb, s);
	if (s->ev == NULL || event_add(s->ev, NULL) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	stun_server_free(s);
	return r;
}

void stun_server_free(struct stun_server *s)
{
	if (s == NULL)
		return;
	if (s->ev != NULL)
		event_free(s->ev);
	if (s->own_fd && s->fd >= 0)
		close(s->fd);
	free(s);
}

int stun_server_fd(const struct stun_server *s)
{
	return s->fd;
}

void stun_server_counters(const struct stun_server *s, struct stun_server_counters *out)
{
	*out = s->c;
}

int stun_server_counters_json(const struct stun_server *s, struct buf_writer *w)
{
	buf_printf(w,
		   "{\"datagrams\":%llu,\"answered\":%llu,\"rate_limited\":%llu,"
		   "\"send_errors\":%llu,\"rejected\":{",
		   (unsigned long long)s->c.datagrams, (unsigned long long)s->c.answered,
		   (unsigned long long)s->c.rate_limited, (unsigned long long)s->c.send_errors);
	for (int v = 1; v < STUN_VERDICT_COUNT; v++)
		buf_printf(w, "%s\"%s\":%llu", v > 1 ? "," : "",
			   stun_verdict_name((enum stun_verdict)v),
			   (unsigned long long)s->c.parse.rejected[v]);
	buf_put_str(w, "}}");
	return w->err ? -ENOMEM : 0;
}
