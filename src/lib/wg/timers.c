/* SPDX-License-Identifier: ISC */
/* timers: the kernel's timer rules as pure functions of state and now (see timers.h). */
#include <string.h>

#include "wg/messages.h"
#include "wg/timers.h"

void wg_timers_init(struct wg_timers *t)
{
	memset(t, 0, sizeof(*t));
}

void wg_timers_stop(struct wg_timers *t)
{
	t->t_retransmit_handshake = 0;
	t->t_send_keepalive = 0;
	t->t_new_handshake = 0;
	t->t_zero_key_material = 0;
	t->t_persistent_keepalive = 0;
}

/* A deadline is never 0 (0 means disarmed), even on a clock that starts at 0. */
static uint64_t wg_timers_at(uint64_t now, uint64_t delta)
{
	uint64_t at = now + delta;

	return at != 0 ? at : 1;
}

void wg_timers_data_sent(struct wg_timers *t, uint64_t now, uint64_t jitter)
{
	if (t->t_new_handshake == 0)
		t->t_new_handshake =
			wg_timers_at(now, WG_KEEPALIVE_TIMEOUT + WG_REKEY_TIMEOUT + jitter);
}

void wg_timers_data_received(struct wg_timers *t, uint64_t now)
{
	if (t->t_send_keepalive == 0)
		t->t_send_keepalive = wg_timers_at(now, WG_KEEPALIVE_TIMEOUT);
	else
		t->t_need_another_keepalive = true;
}

void wg_timers_any_authenticated_packet_sent(struct wg_timers *t)
{
	t->t_send_keepalive = 0;
}

void wg_timers_any_authenticated_packet_received(struct wg_timers *t)
{
	t->t_new_handshake = 0;
}

void wg_timers_any_authenticated_packet_traversal(struct wg_timers *t, uint64_t now)
{
	if (t->t_persistent_keepalive_interval != 0)
		t->t_persistent_keepalive =
			wg_timers_at(now, WG_NS(t->t_persistent_keepalive_interval));
}

void wg_timers_handshake_initiated(struct wg_timers *t, uint64_t now, uint64_t jitter)
{
	t->t_retransmit_handshake = wg_timers_at(now, WG_REKEY_TIMEOUT + jitter);
}

void wg_timers_handshake_complete(struct wg_timers *t)
{
	t->t_retransmit_handshake = 0;
	t->t_handshake_attempts = 0;
	t->t_sent_lastminute_handshake = false;
}

void wg_timers_session_derived(struct wg_timers *t, uint64_t now)
{
	t->t_zero_key_material = wg_timers_at(now, 3 * WG_REJECT_AFTER_TIME);
}

void wg_timers_keepalive_sent(struct wg_timers *t, uint64_t now)
{
	if (t->t_need_another_keepalive) {
		t->t_need_another_keepalive = false;
		t->t_send_keepalive = wg_timers_at(now, WG_KEEPALIVE_TIMEOUT);
	}
}

void wg_timers_schedule_zeroing(struct wg_timers *t, uint64_t now)
{
	if (t->t_zero_key_material == 0)
		t->t_zero_key_material = wg_timers_at(now, 3 * WG_REJECT_AFTER_TIME);
}

bool wg_timers_may_initiate(struct wg_timers *t, uint64_t now, bool is_retry)
{
	if (!is_retry)
		t->t_handshake_attempts = 0;
	if (t->t_last_sent_handshake != 0 && now - t->t_last_sent_handshake < WG_REKEY_TIMEOUT)
		return false;
	t->t_last_sent_handshake = now != 0 ? now : 1;
	return true;
}

static bool wg_timers_due(uint64_t *deadline, uint64_t now)
{
	if (*deadline == 0 || *deadline > now)
		return false;
	*deadline = 0;
	return true;
}

unsigned wg_timers_expire(struct wg_timers *t, uint64_t now)
{
	unsigned due = 0;

	if (wg_timers_due(&t->t_retransmit_handshake, now))
		due |= WG_TIMER_RETRANSMIT_HANDSHAKE;
	if (wg_timers_due(&t->t_send_keepalive, now))
		due |= WG_TIMER_SEND_KEEPALIVE;
	if (wg_timers_due(&t->t_new_handshake, now))
		due |= WG_TIMER_NEW_HANDSHAKE;
	if (wg_timers_due(&t->t_zero_key_material, now))
		due |= WG_TIMER_ZERO_KEY_MATERIAL;
	if (wg_timers_due(&t->t_persistent_keepalive, now))
		due |= WG_TIMER_PERSISTENT_KEEPALIVE;
	return due;
}

static uint64_t wg_timers_min(uint64_t a, uint64_t b)
{
	if (b == 0)
		return a;
	return b < a ? b : a;
}

uint64_t wg_timers_next(const struct wg_timers *t)
{
	uint64_t n = UINT64_MAX;

	n = wg_timers_min(n, t->t_retransmit_handshake);
	n = wg_timers_min(n, t->t_send_keepalive);
	n = wg_timers_min(n, t->t_new_handshake);
	n = wg_timers_min(n, t->t_zero_key_material);
	n = wg_timers_min(n, t->t_persistent_keepalive);
	return n;
}
