/* SPDX-License-Identifier: ISC */
/*
 * engine: the running WireGuard data plane. One sans-I/O device (lib/wg)
 * behind one lock, a TUN device, one dual-stack UDP socket, and two threads:
 * TX (TUN -> seal -> UDP) and RX (UDP -> open -> TUN), each batching syscalls
 * and doing its crypto outside the lock. With offloads, TX reads 64 KiB TCP
 * super-packets from the TUN and sends their encryptions as UDP GSO batches;
 * RX receives UDP GRO batches and writes merged TCP super-packets back. Handshake messages go from RX to the
 * control thread (the caller's libevent loop) through a bounded queue; the
 * control thread also runs the timers and applies configuration.
 */
#ifndef WEFT_WEFTD_ENGINE_H
#define WEFT_WEFTD_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "weftd/tun.h"

struct event_base;
struct wg_device;

struct engine_config {
	const char *ifname;
	unsigned mtu;	 /* 0: leave the TUN's MTU as it is */
	bool offload;	 /* try TUN vnet headers + TSO and UDP GSO/GRO */
	uint16_t port;	 /* 0: random until a listen_port is set */
};

/*
 * The magic endpoint 127.3.3.40:SLOT stands for "peer SLOT through the
 * relay" (Tailscale's magic DERP address): WireGuard datagrams the device
 * sends there are not written to the socket but handed to the control
 * thread (relay_out), which gives them to magicsock. Datagrams on the UDP
 * socket that are not WireGuard (STUN, disco) go to the control thread too
 * (udp_other).
 */
#define ENGINE_MAGIC_ADDR "127.3.3.40"
struct engine_magic_ops {
	void (*relay_out)(void *arg, uint16_t slot, const uint8_t *p, size_t n);
	void (*udp_other)(void *arg, const struct netendpoint *src, const uint8_t *p, size_t n);
};

/* Engine-level drops and events, beside the device's own counters. */
#define ENGINE_COUNTERS(X)                                                                         \
	X(hs_queue_full)                                                                           \
	X(local_oversize)                                                                          \
	X(local_packets)                                                                           \
	X(local_queue_full)                                                                        \
	X(rx_not_wireguard)                                                                        \
	X(rx_truncated)                                                                            \
	X(tun_bad_offload)                                                                         \
	X(tun_oversize)                                                                            \
	X(tun_write_errors)                                                                        \
	X(udp_send_errors)                                                                         \
	X(rx_packets)                                                                              \
	X(tx_packets)                                                                              \
	X(tx_gso_sends)                                                                            \
	X(rx_gro_writes)                                                                          \
	X(ctlq_full)                                                                              \
	X(ctlq_oversize)                                                                          \
	X(injectq_full)

struct engine_counters {
#define ENGINE_COUNTER_FIELD(name) _Atomic uint64_t name;
	ENGINE_COUNTERS(ENGINE_COUNTER_FIELD)
#undef ENGINE_COUNTER_FIELD
};

struct engine;

/* Creates the TUN and the device; threads start with engine_start. */
int engine_new(const struct engine_config *cfg, struct event_base *base, struct engine **out)
	__attribute__((warn_unused_result));
int engine_start(struct engine *e) __attribute__((warn_unused_result));
/* Stops the threads, closes the TUN (the interface goes away) and frees. */
void engine_free(struct engine *e);

/* The device lock: hold it around any wg_device_* / wg_peer_* call. */
void engine_lock(struct engine *e);
void engine_unlock(struct engine *e);
struct wg_device *engine_device(struct engine *e);

/* Rebinds the UDP socket to `port` (0: random). Call without the lock. */
int engine_set_port(struct engine *e, uint16_t port) __attribute__((warn_unused_result));
uint16_t engine_port(const struct engine *e);
int engine_set_fwmark(struct engine *e, uint32_t mark) __attribute__((warn_unused_result));
uint32_t engine_fwmark(const struct engine *e);
const char *engine_ifname(const struct engine *e);
/* Set when the TUN went away (interface deleted): the daemon should exit. */
bool engine_is_dead(const struct engine *e);
const struct engine_counters *engine_counters(const struct engine *e);
/* Logs every non-zero counter (engine and device) at info level. */
void engine_log_counters(struct engine *e);
/* Every counter (engine and device) by name, for the local API. NULL on ENOMEM. */
struct json_t;
struct json_t *engine_counters_json(struct engine *e);

/*
 * Installs the packet filter for everything arriving from the tunnel
 * (consumed; NULL lets everything through, which plain WireGuard mode keeps).
 */
struct filter;
void engine_set_filter(struct engine *e, struct filter *f);
/* The filter in force for `weft debug filter`: rules, compiled sizes, flows. NULL on ENOMEM. */
struct json_t *engine_filter_json(struct engine *e);

/*
 * Sends an IP packet into the tunnel from the control thread, as if it had
 * been read from the TUN (it may wait for a handshake). Without the lock.
 */
int engine_send_packet(struct engine *e, const uint8_t *ip, size_t len)
	__attribute__((warn_unused_result));
/*
 * ICMP echo replies whose identifier is `ident` (IPv4 or IPv6) do not go to
 * the TUN: the RX thread queues them and `fn` runs on the control thread with
 * each one (its source address and sequence number). ident 0 turns it off.
 */
void engine_set_echo_hook(struct engine *e, uint16_t ident,
			  void (*fn)(void *arg, const struct netaddr *from, uint16_t seq,
				     uint64_t now_ns),
			  void *arg);


/*
 * Packets the host sends to one of `addrs` (weftd's own services, MagicDNS at
 * 100.100.100.100) do not go into the tunnel: the TX thread queues them and
 * `fn` runs on the control thread with each. n = 0 turns it off. At most
 * ENGINE_LOCAL_ADDRS addresses; packets over ENGINE_LOCAL_PKT_MAX bytes are
 * dropped and counted.
 */
#define ENGINE_LOCAL_ADDRS 2
#define ENGINE_LOCAL_PKT_MAX 2048
void engine_set_local_hook(struct engine *e, const struct netaddr *addrs, size_t n,
			   void (*fn)(void *arg, const uint8_t *ip, size_t len), void *arg);
/* Writes an IP packet (complete checksums) to the TUN, for the host, from the control thread. */
int engine_tun_write(struct engine *e, const uint8_t *ip, size_t len)
	__attribute__((warn_unused_result));
/* Before engine_start: where magic and non-WireGuard datagrams go (control thread). */
void engine_set_magic(struct engine *e, const struct engine_magic_ops *ops, void *arg);
/* The magic endpoint of relay slot `slot` (1-65535), and the test for one. */
void engine_magic_endpoint(uint16_t slot, struct netendpoint *out);
bool engine_is_magic(const struct netendpoint *ep, uint16_t *slot);
/* A datagram straight onto the UDP socket (disco, STUN): control thread. */
int engine_udp_send(struct engine *e, const struct netendpoint *to, const uint8_t *p, size_t n)
	__attribute__((warn_unused_result));
/*
 * A WireGuard datagram that arrived through the relay from the peer in
 * `slot`: handshakes go to the handshake queue, data to the RX thread, both
 * as if from the slot's magic endpoint. Control thread.
 */
void engine_inject(struct engine *e, uint16_t slot, const uint8_t *p, size_t n);

#endif
