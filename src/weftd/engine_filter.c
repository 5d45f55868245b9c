/* SPDX-License-Identifier: ISC */
/*
 * engine_filter: the packet filter in the data plane. The RX thread asks it
 * about every packet that came out of the tunnel before it reaches the TUN;
 * the TX thread shows it every packet going in, so that replies to this
 * node's own flows are let back (lib/filter, lib/filter/conntrack). The
 * control thread installs new filters from the map and sweeps old flows.
 * Everything here is under e->flt_lock, which the data threads take once
 * per batch and which is never held together with the device lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/log.h"
#include "filter/conntrack.h"
#include "filter/filter.h"
#include "weftd/engine_int.h"

#define ENGINE_FLOWS_MAX 16384
/* Flow slots swept per 100 ms tick: the whole table every few seconds. */
#define ENGINE_FLOW_SWEEP 1024

int engine_filter_init(struct engine *e)
{
	pthread_mutex_init(&e->flt_lock, NULL);
	return conntrack_new(ENGINE_FLOWS_MAX, &e->ct);
}

void engine_filter_fini(struct engine *e)
{
	filter_free(e->flt);
	conntrack_free(e->ct);
	pthread_mutex_destroy(&e->flt_lock);
}

void engine_set_filter(struct engine *e, struct filter *f)
{
	struct filter *old;

	pthread_mutex_lock(&e->flt_lock);
	old = e->flt;
	e->flt = f;
	atomic_store_explicit(&e->flt_on, f != NULL, memory_order_release);
	e->flt_installs++;
	pthread_mutex_unlock(&e->flt_lock);
	filter_free(old);
}

void engine_filter_tick(struct engine *e)
{
	if (!atomic_load_explicit(&e->flt_on, memory_order_acquire))
		return;
	pthread_mutex_lock(&e->flt_lock);
	conntrack_expire(e->ct, clock_mono_ns() / CLOCK_NS_PER_SEC, ENGINE_FLOW_SWEEP);
	pthread_mutex_unlock(&e->flt_lock);
}

bool engine_filter_begin(struct engine *e, struct engine_filter_batch *fb)
{
	if (!atomic_load_explicit(&e->flt_on, memory_order_acquire))
		return false;
	memset(fb, 0, sizeof(*fb));
	fb->now = clock_mono_ns() / CLOCK_NS_PER_SEC;
	pthread_mutex_lock(&e->flt_lock);
	return true;
}

void engine_filter_end(struct engine *e, struct engine_filter_batch *fb)
{
	pthread_mutex_unlock(&e->flt_lock);
	for (int v = 0; v < FILTER_VERDICT_COUNT; v++)
		if (fb->count[v] != 0)
			engine_count_n(&e->flt_verdicts[v], fb->count[v]);
}

static bool tuple_eq(const struct filter_tuple *a, const struct filter_tuple *b)
{
	return a->proto == b->proto && a->sport == b->sport && a->dport == b->dport &&
	       netaddr_eq(&a->src, &b->src) && netaddr_eq(&a->dst, &b->dst);
}

bool engine_filter_in(struct engine *e, struct engine_filter_batch *fb, const uint8_t *ip,
		      size_t len)
{
	struct filter_pkt p;
	enum filter_verdict v;

	if (filter_pkt_parse(ip, len, &p) < 0) {
		v = FILTER_DROP_MALFORMED;
	} else if (fb->have_last && p.kind == FILTER_PK_NORMAL && (p.tcp_flags & 0x07) == 0 &&
		   tuple_eq(&p.t, &fb->last)) {
		/* The next segment of the flow just decided (the common case in a batch). */
		v = fb->last_verdict;
	} else {
		v = filter_inbound(e->flt, e->ct, &p, fb->now);
		fb->have_last = p.kind == FILTER_PK_NORMAL && filter_verdict_accepts(v);
		fb->last = p.t;
		fb->last_verdict = v;
	}
	fb->count[v]++;
	if (!filter_verdict_accepts(v))
		log_debug_rl("filter: dropped a packet from the tunnel (%s)",
			     filter_verdict_names[v]);
	return filter_verdict_accepts(v);
}

void engine_filter_out(struct engine *e, struct engine_filter_batch *fb, const uint8_t *ip,
		       size_t len)
{
	struct filter_pkt p;

	if (filter_pkt_parse(ip, len, &p) == 0)
		filter_outbound(e->flt, e->ct, &p, fb->now);
}

int engine_filter_counters(struct engine *e, json_t *o)
{
	struct conntrack_stats st;
	int bad = 0;

	for (int v = 0; v < FILTER_VERDICT_COUNT; v++)
		bad |= json_object_set_new(
			o, filter_verdict_names[v],
			json_integer((json_int_t)atomic_load(&e->flt_verdicts[v])));
	pthread_mutex_lock(&e->flt_lock);
	st = conntrack_get_stats(e->ct);
	pthread_mutex_unlock(&e->flt_lock);
	bad |= json_object_set_new(o, "conntrack_flows", json_integer((json_int_t)st.flows));
	bad |= json_object_set_new(o, "conntrack_created", json_integer((json_int_t)st.created));
	bad |= json_object_set_new(o, "conntrack_expired", json_integer((json_int_t)st.expired));
	bad |= json_object_set_new(o, "conntrack_evicted", json_integer((json_int_t)st.evicted));
	return bad ? -ENOMEM : 0;
}

json_t *engine_filter_json(struct engine *e)
{
	struct conntrack_stats st;
	struct filter_info in = { 0 };
	json_t *o = json_object(), *rules = NULL;
	bool on;

	if (o == NULL)
		return NULL;
	pthread_mutex_lock(&e->flt_lock);
	on = e->flt != NULL;
	if (on) {
		in = filter_get_info(e->flt);
		rules = json_deep_copy(filter_rules(e->flt));
	}
	st = conntrack_get_stats(e->ct);
	pthread_mutex_unlock(&e->flt_lock);
	if (json_object_set_new(o, "Installed", json_boolean(on)) < 0 ||
	    json_object_set_new(o, "Rules", rules != NULL ? rules : json_array()) < 0 ||
	    json_object_set_new(
		    o, "Compiled",
		    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "Rules", (json_int_t)in.rules,
			      "CapGrantRules", (json_int_t)in.cap_rules, "SourcePrefixes",
			      (json_int_t)in.src_prefixes, "Tables", (json_int_t)in.tables,
			      "DestinationPrefixes", (json_int_t)in.dst_prefixes, "PortRanges",
			      (json_int_t)in.port_ranges, "Bytes", (json_int_t)in.bytes)) < 0 ||
	    json_object_set_new(o, "Flows", json_integer((json_int_t)st.flows)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
