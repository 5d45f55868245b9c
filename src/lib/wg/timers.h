/* SPDX-License-Identifier: ISC */
/*
 * timers: WireGuard's per-peer timer state machine as data. Events (a data
 * packet sent, a handshake initiated, ...) arm or disarm deadlines exactly as
 * the kernel's timers.c does; wg_timers_expire(now) reports which deadlines
 * passed, and the device performs the action:
 *
 *   retransmit_handshake  REKEY_TIMEOUT+jitter after an initiation without answer:
 *                         retry, or give up after MAX_TIMER_HANDSHAKES (18 = 90 s)
 *   send_keepalive        KEEPALIVE_TIMEOUT after data arrived and nothing went back
 *   new_handshake         KEEPALIVE+REKEY_TIMEOUT+jitter after data went out and
 *                         nothing came back: the session may be dead, rehandshake
 *   zero_key_material     3*REJECT_AFTER_TIME after a session: wipe every key
 *   persistent_keepalive  every N seconds after any authenticated packet
 *
 * Times are monotonic nanoseconds; 0 means "not armed". Jitter is passed in.
 */
#ifndef WEFT_WG_TIMERS_H
#define WEFT_WG_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

enum wg_timer {
	WG_TIMER_RETRANSMIT_HANDSHAKE = 1U << 0,
	WG_TIMER_SEND_KEEPALIVE = 1U << 1,
	WG_TIMER_NEW_HANDSHAKE = 1U << 2,
	WG_TIMER_ZERO_KEY_MATERIAL = 1U << 3,
	WG_TIMER_PERSISTENT_KEEPALIVE = 1U << 4,
};

struct wg_timers {
	uint64_t t_retransmit_handshake;
	uint64_t t_send_keepalive;
	uint64_t t_new_handshake;
	uint64_t t_zero_key_material;
	uint64_t t_persistent_keepalive;
	uint64_t t_last_sent_handshake; /* 0 = never */
	uint16_t t_persistent_keepalive_interval; /* seconds, 0 = off */
	unsigned t_handshake_attempts;
	bool t_need_another_keepalive;
	bool t_sent_lastminute_handshake;
};

void wg_timers_init(struct wg_timers *t);
/* Disarms every timer (peer removed or device down). */
void wg_timers_stop(struct wg_timers *t);

void wg_timers_data_sent(struct wg_timers *t, uint64_t now, uint64_t jitter);
void wg_timers_data_received(struct wg_timers *t, uint64_t now);
void wg_timers_any_authenticated_packet_sent(struct wg_timers *t);
void wg_timers_any_authenticated_packet_received(struct wg_timers *t);
void wg_timers_any_authenticated_packet_traversal(struct wg_timers *t, uint64_t now);
void wg_timers_handshake_initiated(struct wg_timers *t, uint64_t now, uint64_t jitter);
void wg_timers_handshake_complete(struct wg_timers *t);
void wg_timers_session_derived(struct wg_timers *t, uint64_t now);
/* Re-arms send_keepalive after it fired, if another keepalive was requested meanwhile. */
void wg_timers_keepalive_sent(struct wg_timers *t, uint64_t now);
/* Arms zero_key_material if not already armed (after giving up on handshakes). */
void wg_timers_schedule_zeroing(struct wg_timers *t, uint64_t now);

/*
 * Whether an initiation may be sent now (at most one per REKEY_TIMEOUT); a
 * non-retry resets the attempt counter. Records the send when it returns true.
 */
bool wg_timers_may_initiate(struct wg_timers *t, uint64_t now, bool is_retry);

/* Bitmask of enum wg_timer whose deadlines are <= now; those are disarmed. */
unsigned wg_timers_expire(struct wg_timers *t, uint64_t now);
/* The earliest armed deadline, or UINT64_MAX. */
uint64_t wg_timers_next(const struct wg_timers *t);

#endif
