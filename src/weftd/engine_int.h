/* SPDX-License-Identifier: ISC */
/*
 * engine_int: the engine's state shared by its three files: engine.c
 * (lifecycle, socket, control thread), engine_tx.c (TUN -> UDP) and
 * engine_rx.c (UDP -> TUN). Not for use outside the engine.
 *
 * Lock order: e->lock (the device) before e->hsq_lock (the handshake
 * queue). The data threads take e->lock once or twice per batch and never
 * hold it during crypto or syscalls. e->flt_lock (the packet filter and
 * flow table) is taken alone, once per batch, never with either of them.
 */
#ifndef WEFT_WEFTD_ENGINE_INT_H
#define WEFT_WEFTD_ENGINE_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

#include "core/netaddr.h"
#include "filter/filter.h"
#include "wg/messages.h"
#include "weftd/engine.h"
#include "weftd/tun.h"

struct event;
struct event_base;
struct wg_device;
struct conntrack;

#define ENGINE_HSQ_LEN 1024
#define ENGINE_UNDER_LOAD_LEN (ENGINE_HSQ_LEN / 8)
/* UDP GSO: at most this many datagrams and bytes per send (kernel limits: 64, 64 KiB). */
#define ENGINE_GSO_MAX_SEGS 64
#define ENGINE_GSO_MAX_BYTES 65000

struct engine_hs {
	uint8_t buf[sizeof(struct wg_msg_initiation)];
	size_t len;
	struct netendpoint src;
};

#define ENGINE_ECHOQ_LEN 64
#define ENGINE_LOCALQ_LEN 256

struct engine_local_pkt {
	uint16_t len;
	uint8_t b[ENGINE_LOCAL_PKT_MAX];
};

/* Datagrams between the data threads and the control thread (engine_magic). */
#define ENGINE_CTLQ_LEN 512
#define ENGINE_INJECTQ_LEN 256
#define ENGINE_MAGIC_PKT_MAX 4096

enum engine_ctl_kind {
	ENGINE_CTL_RELAY_OUT = 1, /* to a magic endpoint: slot */
	ENGINE_CTL_UDP_OTHER,	  /* STUN or disco from src */
};

struct engine_ctl {
	enum engine_ctl_kind kind;
	uint16_t slot;
	struct netendpoint src;
	size_t len;
	uint8_t buf[ENGINE_MAGIC_PKT_MAX];
};

struct engine_echo {
	struct netaddr from;
	uint16_t seq;
	uint64_t at;
};

struct engine {
	pthread_mutex_t lock; /* guards dev and everything reached through it */
	struct wg_device *dev;
	struct tun tun;
	_Atomic unsigned mtu; /* the TUN's MTU, re-read on the timer: `ip link set mtu` works */
	int udp_fd; /* replaced in place with dup2 on rebind: threads never hold a stale fd */
	uint16_t port;
	uint32_t fwmark;
	bool v6;
	_Atomic bool udp_gso; /* cleared if the kernel refuses UDP_SEGMENT */
	bool udp_gro;
	struct event_base *base;
	struct event *hs_ev;
	struct event *tick_ev;
	int hs_efd;	 /* RX -> control: handshakes queued */
	int rx_wake_efd; /* control -> RX thread: stop, or the socket was replaced */
	int tx_wake_efd; /* control -> TX thread: stop */
	pthread_t rx_thread, tx_thread;
	bool threads_started;
	_Atomic bool stopping;
	_Atomic bool dead;
	pthread_mutex_t hsq_lock; /* guards hsq, hsq_head, hsq_count, last_under_load_ns */
	struct engine_hs *hsq;
	size_t hsq_head, hsq_count;
	uint64_t last_under_load_ns;
	/* Echo replies for weftd's own pings: RX thread -> control thread. */
	_Atomic uint16_t echo_ident; /* 0: none */
	void (*echo_fn)(void *arg, const struct netaddr *from, uint16_t seq, uint64_t now_ns);
	void *echo_arg;
	int echo_efd;
	struct engine_echo echoq[ENGINE_ECHOQ_LEN]; /* hsq_lock */
	size_t echoq_count;			    /* hsq_lock */
	struct event *echo_ev;
	/* Packets for weftd's own addresses: TX thread -> control thread. */
	_Atomic size_t local_n; /* 0: none; set after local_addrs while the TX thread may read */
	struct netaddr local_addrs[ENGINE_LOCAL_ADDRS];
	void (*local_fn)(void *arg, const uint8_t *ip, size_t len);
	void *local_arg;
	int local_efd;
	pthread_mutex_t localq_lock; /* guards localq, localq_head, localq_count */
	struct engine_local_pkt *localq;
	size_t localq_head, localq_count;
	struct event *local_ev;
	/* magicsock's hooks (engine_magic.c); the queues are guarded by magic_lock. */
	struct engine_magic_ops magic_ops;
	void *magic_arg;
	pthread_mutex_t magic_lock; /* after e->lock: the data threads push while holding it */
	struct engine_ctl *ctlq;    /* data threads -> control thread */
	size_t ctlq_head, ctlq_count;
	int ctl_efd;
	struct event *ctl_ev;
	struct engine_ctl *injectq; /* control thread -> RX thread (relayed data) */
	size_t injectq_head, injectq_count;
	struct aead_ctx *ctl_ctx; /* sealing engine_send_packet's packets (control thread) */
	struct engine_counters counters;
	/* The packet filter (engine_filter.c). */
	pthread_mutex_t flt_lock; /* guards flt, ct and flt_installs */
	struct filter *flt;	  /* NULL: everything passes (no map yet, plain WireGuard mode) */
	struct conntrack *ct;
	uint64_t flt_installs;
	_Atomic bool flt_on; /* flt != NULL, read without the lock */
	_Atomic uint64_t flt_verdicts[FILTER_VERDICT_COUNT];
};

static inline void engine_count(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static inline void engine_count_n(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* engine.c */
/* Waits until fd is readable or wake_efd is signalled (drained here); false when stopping. */
bool engine_wait(struct engine *e, int fd, int wake_efd);
socklen_t engine_dest(const struct engine *e, const struct netendpoint *to,
		      struct sockaddr_storage *ss);
bool engine_hsq_push(struct engine *e, const uint8_t *pkt, size_t len,
		     const struct netendpoint *src);
void engine_hsq_notify(struct engine *e);

/* RX thread: true if the packet is an echo reply for our own pings (queued, not delivered). */
bool engine_echo_take(struct engine *e, const uint8_t *ip, size_t len);

/* TX thread: true if the packet is for one of weftd's own addresses (queued, not sent). */
bool engine_local_take(struct engine *e, const uint8_t *ip, size_t len);
void engine_local_notify(struct engine *e);
/* engine_magic.c */
int engine_magic_init(struct engine *e) __attribute__((warn_unused_result));
void engine_magic_fini(struct engine *e);
/* Any thread: true (and queued for relay_out) if `to` is a magic endpoint. */
bool engine_divert(struct engine *e, const struct netendpoint *to, const uint8_t *p, size_t n);
/* RX thread: true (and queued for udp_other) if p is STUN or disco. */
bool engine_take_other(struct engine *e, const struct netendpoint *src, const uint8_t *p,
		       size_t n);
/* RX thread: moves one injected datagram into buf (cap bytes); its length, 0 when none. */
size_t engine_inject_pop(struct engine *e, uint8_t *buf, size_t cap, struct netendpoint *from);
/* engine_filter.c. A data thread brackets a batch with begin/end (begin false: no filter). */
struct engine_filter_batch {
	uint64_t now; /* seconds */
	uint64_t count[FILTER_VERDICT_COUNT];
	bool have_last;
	struct filter_tuple last; /* the last accepted flow, for the segments behind it */
	enum filter_verdict last_verdict;
};
int engine_filter_init(struct engine *e) __attribute__((warn_unused_result));
void engine_filter_fini(struct engine *e);
void engine_filter_tick(struct engine *e);
bool engine_filter_begin(struct engine *e, struct engine_filter_batch *fb);
void engine_filter_end(struct engine *e, struct engine_filter_batch *fb);
/* RX: whether a packet from the tunnel may go on to the TUN. */
bool engine_filter_in(struct engine *e, struct engine_filter_batch *fb, const uint8_t *ip,
		      size_t len);
/* TX: a packet going into the tunnel (opens or refreshes its flow). */
void engine_filter_out(struct engine *e, struct engine_filter_batch *fb, const uint8_t *ip,
		       size_t len);
/* Adds the filter's counters to o (the counters JSON). */
int engine_filter_counters(struct engine *e, struct json_t *o) __attribute__((warn_unused_result));

/* engine_tx.c and engine_rx.c: thread bodies. */
void *engine_tx_main(void *arg);
void *engine_rx_main(void *arg);

#endif
