/* SPDX-License-Identifier: ISC */
/* dnsresolver: MagicDNS answers, the cache and the forwarding table (see dnsresolver.h). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "dns/dnsresolver.h"
#include "dns/dnstable.h"

#define DNSRESOLVER_IDS 65536
#define DNSRESOLVER_ID_TRIES 32

/* A query sent upstream and not yet answered. */
struct dnsresolver_fwd {
	bool used;
	uint16_t id; /* the ID upstream sees */
	struct dnsmsg_query q;
	struct dnsresolver_client client;
	struct netendpoint up[DNSTABLE_MAX_UPSTREAMS];
	uint8_t n_up;
	uint8_t sent; /* attempts so far; up[sent % n_up] is next */
	uint64_t attempt_deadline;
	uint64_t deadline;
};

struct dnsresolver {
	struct dnsresolver_config cfg;
	struct dnstable *table;
	struct dnscache *cache;
	struct dnsresolver_fwd *fwd;
	size_t n_fwd, n_used;
	uint32_t *free_slots;
	size_t n_free;
	uint32_t *by_id; /* upstream ID -> slot + 1; 0 = not in use */
	struct dnsresolver_counters ctr;
};

void dnsresolver_config_default(struct dnsresolver_config *c)
{
	c->udp_payload = 1232;
	c->ttl = 600;
	c->cache_entries = 4096;
	c->cache_bytes = 4U << 20;
	c->max_outstanding = 1024;
	c->attempt_timeout_ns = 1000000000ULL;
	c->query_timeout_ns = 4000000000ULL;
}

int dnsresolver_new(const struct dnsresolver_config *cfg, struct dnsresolver **out)
{
	struct dnsresolver *r;
	int e = -ENOMEM;

	*out = NULL;
	if (cfg->max_outstanding == 0 || cfg->max_outstanding > DNSRESOLVER_IDS ||
	    cfg->udp_payload < DNSMSG_UDP_MIN)
		return -EINVAL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	r->cfg = *cfg;
	r->n_fwd = cfg->max_outstanding;
	if ((r->fwd = mem_calloc(r->n_fwd, sizeof(*r->fwd))) == NULL ||
	    (r->free_slots = mem_calloc(r->n_fwd, sizeof(*r->free_slots))) == NULL ||
	    (r->by_id = mem_calloc(DNSRESOLVER_IDS, sizeof(*r->by_id))) == NULL)
		goto fail;
	if (cfg->cache_entries > 0 &&
	    (e = dnscache_new(cfg->cache_entries, cfg->cache_bytes, &r->cache)) < 0)
		goto fail;
	for (size_t i = 0; i < r->n_fwd; i++)
		r->free_slots[i] = (uint32_t)(r->n_fwd - 1 - i);
	r->n_free = r->n_fwd;
	*out = r;
	return 0;
fail:
	dnsresolver_free(r);
	return e;
}

void dnsresolver_free(struct dnsresolver *r)
{
	if (r == NULL)
		return;
	dnstable_free(r->table);
	dnscache_free(r->cache);
	free(r->fwd);
	free(r->free_slots);
	free(r->by_id);
	free(r);
}

void dnsresolver_set_table(struct dnsresolver *r, struct dnstable *t)
{
	if (r->cache != NULL && (t == NULL || r->table == NULL ||
				 dnstable_upstream_digest(t) != dnstable_upstream_digest(r->table)))
		dnscache_flush(r->cache);
	dnstable_free(r->table);
	r->table = t;
}

const struct dnstable *dnsresolver_table(const struct dnsresolver *r)
{
	return r->table;
}

static void dnsresolver_reply(struct dnsresolver_verdict *v, const struct dnsresolver_client *c,
			      size_t len)
{
	v->action = DNSRESOLVER_REPLY;
	v->client = *c;
	v->len = len;
}

static size_t dnsresolver_limit(const struct dnsresolver *r, const struct dnsmsg_query *q,
				enum dnsresolver_transport t, size_t cap)
{
	size_t lim =
		t == DNSRESOLVER_TCP ? DNSMSG_MSG_MAX : dnsmsg_query_limit(q, r->cfg.udp_payload);

	return lim < cap ? lim : cap;
}

/* A reply with no records: errors, NXDOMAIN, SERVFAIL. */
static void dnsresolver_bare(struct dnsresolver *r, const struct dnsmsg_query *q,
			     const struct dnsresolver_client *c, uint16_t flags, unsigned rcode,
			     bool edns, uint8_t *out, size_t cap, struct dnsresolver_verdict *v)
{
	struct dnsmsg_answer a;
	size_t lim = dnsresolver_limit(r, q, c->transport, cap);

	if (dnsmsg_answer_begin(&a, out, cap, lim, q, flags, rcode, edns ? r->cfg.udp_payload : 0) <
	    0) {
		v->action = DNSRESOLVER_DROP; /* cannot happen with cap >= DNSRESOLVER_OUT_MIN */
		return;
	}
	dnsresolver_reply(v, c, dnsmsg_answer_finish(&a));
}

static void dnsresolver_local(struct dnsresolver *r, const struct dnsmsg_query *q,
			      const struct dnstable_result *res, const struct dnsresolver_client *c,
			      uint8_t *out, size_t cap, struct dnsresolver_verdict *v)
{
	struct dnsmsg_answer a;
	size_t lim = dnsresolver_limit(r, q, c->transport, cap), added = 0;

	if (dnsmsg_answer_begin(&a, out, cap, lim, q, DNSMSG_F_AA, DNSMSG_R_NOERROR,
				r->cfg.udp_payload) < 0) {
		v->action = DNSRESOLVER_DROP;
		return;
	}
	for (size_t i = 0; i < res->n_rr; i++) {
		const struct dnstable_rr *rr = &res->rr[i];
		if (rr->type == q->q.type || q->q.type == DNSMSG_T_ANY) {
			dnsmsg_answer_add(&a, DNSMSG_ANSWER, rr->type, r->cfg.ttl, rr->rdata,
					  rr->rdlen);
			added++;
		}
	}
	if (a.overflow)
		r->ctr.truncated++;
	r->ctr.local++;
	if (added == 0)
		r->ctr.nodata++;
	dnsresolver_reply(v, c, dnsmsg_answer_finish(&a));
}

static int dnsresolver_fwd_send(struct dnsresolver *r, struct dnsresolver_fwd *f, uint64_t now,
				uint8_t *out, size_t cap, struct dnsresolver_verdict *v)
{
	int n = dnsmsg_query_build(out, cap, f->id, DNSMSG_F_RD | (f->q.h.flags & DNSMSG_F_CD),
				   &f->q.q, true, r->cfg.udp_payload,
				   (f->q.edns.flags & DNSMSG_EDNS_DO) != 0);

	if (n < 0)
		return n;
	v->action = DNSRESOLVER_FORWARD;
	v->len = (size_t)n;
	v->upstream = f->up[f->sent % f->n_up];
	v->transport = f->client.transport;
	v->client = f->client;
	if (f->sent < UINT8_MAX)
		f->sent++;
	f->attempt_deadline = now + r->cfg.attempt_timeout_ns;
	return 0;
}

static void dnsresolver_fwd_release(struct dnsresolver *r, struct dnsresolver_fwd *f)
{
	uint32_t slot = (uint32_t)(f - r->fwd);

	r->by_id[f->id] = 0;
	f->used = false;
	r->free_slots[r->n_free++] = slot;
	r->n_used--;
}

static void dnsresolver_forward(struct dnsresolver *r, const struct dnsmsg_query *q,
				const struct dnstable_upstreams *up,
				const struct dnsresolver_client *c, uint64_t now, uint8_t *out,
				size_t cap, struct dnsresolver_verdict *v)
{
	struct dnsresolver_fwd *f;
	uint32_t slot, id = 0;
	int tries;

	if (r->n_free == 0) {
		r->ctr.fwd_full++;
		r->ctr.servfail++;
		dnsresolver_bare(r, q, c, 0, DNSMSG_R_SERVFAIL, true, out, cap, v);
		return;
	}
	/* An unpredictable ID not in use (at most 1 in 64 IDs are taken when full). */
	for (tries = 0; tries < DNSRESOLVER_ID_TRIES; tries++) {
		id = randombytes_uniform(DNSRESOLVER_IDS);
		if (r->by_id[id] == 0)
			break;
	}
	if (tries == DNSRESOLVER_ID_TRIES) {
		r->ctr.fwd_full++;
		r->ctr.servfail++;
		dnsresolver_bare(r, q, c, 0, DNSMSG_R_SERVFAIL, true, out, cap, v);
		return;
	}
	slot = r->free_slots[--r->n_free];
	f = &r->fwd[slot];
	memset(f, 0, sizeof(*f));
	f->used = true;
	f->id = (uint16_t)id;
	f->q = *q;
	f->client = *c;
	f->n_up = (uint8_t)(up->n < DNSTABLE_MAX_UPSTREAMS ? up->n : DNSTABLE_MAX_UPSTREAMS);
	memcpy(f->up, up->v, f->n_up * sizeof(f->up[0]));
	f->deadline = now + r->cfg.query_timeout_ns;
	r->by_id[id] = slot + 1;
	r->n_used++;
	if (dnsresolver_fwd_send(r, f, now, out, cap, v) < 0) {
		dnsresolver_fwd_release(r, f);
		r->ctr.servfail++;
		dnsresolver_bare(r, q, c, 0, DNSMSG_R_SERVFAIL, true, out, cap, v);
		return;
	}
	r->ctr.forwarded++;
}

static void dnsresolver_key(struct dnscache_key *k, const struct dnsmsg_query *q)
{
	dnscache_key_make(k, &q->q, (q->edns.flags & DNSMSG_EDNS_DO) != 0,
			  (q->h.flags & DNSMSG_F_CD) != 0);
}

static bool dnsresolver_from_cache(struct dnsresolver *r, const struct dnsmsg_query *q,
				   const struct dnsresolver_client *c, uint64_t now, uint8_t *out,
				   size_t cap, struct dnsresolver_verdict *v)
{
	struct dnscache_key k;
	const struct dnscache_entry *e;
	uint32_t age;
	int n;

	if (r->cache == NULL)
		return false;
	dnsresolver_key(&k, q);
	if ((e = dnscache_get(r->cache, &k, now, &age)) == NULL)
		return false;
	n = dnsmsg_reply_readdress(dnscache_entry_msg(e), dnscache_entry_reply(e), q, age,
				   dnsresolver_limit(r, q, c->transport, cap), r->cfg.udp_payload,
				   out, cap);
	if (n < 0)
		return false;
	if (buf_load_be16(out + 2) & DNSMSG_F_TC)
		r->ctr.truncated++;
	r->ctr.cache_hits++;
	dnsresolver_reply(v, c, (size_t)n);
	return true;
}

static bool dnsresolver_type_refused(uint16_t t)
{
	switch (t) {
	case DNSMSG_T_TKEY:
	case DNSMSG_T_TSIG:
	case DNSMSG_T_IXFR:
	case DNSMSG_T_AXFR:
	case DNSMSG_T_MAILB:
	case DNSMSG_T_MAILA:
		return true;
	default:
		return false;
	}
}

int dnsresolver_query(struct dnsresolver *r, const uint8_t *msg, size_t len,
		      const struct dnsresolver_client *from_, uint64_t now_ns, uint8_t *out,
		      size_t cap, struct dnsresolver_verdict *v)
{
	struct dnsresolver_client client = *from_; /* `from_` may point into `v` */
	const struct dnsresolver_client *from = &client;
	struct dnsmsg_query q;
	enum dnsmsg_status st;
	struct dnsmsg_name lname;
	struct dnstable_result res;

	memset(v, 0, sizeof(*v));
	if (cap < DNSRESOLVER_OUT_MIN)
		return -EINVAL;
	if (from->transport == DNSRESOLVER_TCP)
		r->ctr.queries_tcp++;
	else
		r->ctr.queries_udp++;
	st = dnsmsg_query_parse(msg, len, &q);
	if (st == DNSMSG_E_SHORT && len < DNSMSG_HDR_LEN) {
		r->ctr.drop_short++; /* no header to answer with */
		return 0;
	}
	if (q.h.flags & DNSMSG_F_QR) {
		r->ctr.drop_not_query++; /* never answer a response: that is how loops start */
		return 0;
	}
	if ((q.h.flags & DNSMSG_OPCODE_MASK) >> DNSMSG_OPCODE_SHIFT != DNSMSG_OPCODE_QUERY) {
		r->ctr.notimp++;
		dnsresolver_bare(r, &q, from, 0, DNSMSG_R_NOTIMP, st == DNSMSG_OK, out, cap, v);
		return 0;
	}
	if (st != DNSMSG_OK || q.q.type == DNSMSG_T_OPT || q.q.type == 0) {
		/* No OPT in a FORMERR: the client's may be what was wrong (RFC 6891 7). */
		r->ctr.formerr++;
		q.edns.present = false;
		dnsresolver_bare(r, &q, from, 0, DNSMSG_R_FORMERR, false, out, cap, v);
		return 0;
	}
	if (q.edns.present && q.edns.version != 0) {
		r->ctr.badvers++; /* RFC 6891 6.1.3 */
		dnsresolver_bare(r, &q, from, 0, DNSMSG_R_BADVERS, true, out, cap, v);
		return 0;
	}
	if (q.q.qclass != DNSMSG_C_IN) {
		r->ctr.refused++;
		dnsresolver_bare(r, &q, from, 0, DNSMSG_R_REFUSED, true, out, cap, v);
		return 0;
	}
	if (dnsresolver_type_refused(q.q.type)) {
		r->ctr.notimp++;
		dnsresolver_bare(r, &q, from, 0, DNSMSG_R_NOTIMP, true, out, cap, v);
		return 0;
	}
	if (r->table == NULL) {
		r->ctr.servfail++;
		dnsresolver_bare(r, &q, from, 0, DNSMSG_R_SERVFAIL, true, out, cap, v);
		return 0;
	}
	lname = q.q.name;
	dnsmsg_name_lower(&lname);
	switch (dnstable_lookup(r->table, &lname, &res)) {
	case DNSTABLE_NAME:
		dnsresolver_local(r, &q, &res, from, out, cap, v);
		break;
	case DNSTABLE_NXDOMAIN:
		r->ctr.nxdomain++;
		dnsresolver_bare(r, &q, from, DNSMSG_F_AA, DNSMSG_R_NXDOMAIN, true, out, cap, v);
		break;
	case DNSTABLE_FORWARD:
		if (!dnsresolver_from_cache(r, &q, from, now_ns, out, cap, v))
			dnsresolver_forward(r, &q, &res.up, from, now_ns, out, cap, v);
		break;
	case DNSTABLE_NO_UPSTREAM:
		r->ctr.servfail++;
		dnsresolver_bare(r, &q, from, 0, DNSMSG_R_SERVFAIL, true, out, cap, v);
		break;
	}
	return 0;
}

static bool dnsresolver_sent_to(const struct dnsresolver_fwd *f, const struct netendpoint *from)
{
	size_t n = f->sent < f->n_up ? f->sent : f->n_up;

	for (size_t i = 0; i < n; i++)
		if (netendpoint_eq(&f->up[i], from))
			return true;
	return false;
}

int dnsresolver_upstream(struct dnsresolver *r, const uint8_t *msg, size_t len,
			 const struct netendpoint *from_, uint64_t now_ns, uint8_t *out, size_t cap,
			 struct dnsresolver_verdict *v)
{
	struct dnsmsg_reply rp;
	struct dnsresolver_fwd *f;
	struct netendpoint src = *from_; /* `from_` may point into `v` */
	const struct netendpoint *from = &src;
	uint32_t slot;
	int n;

	memset(v, 0, sizeof(*v));
	if (cap < DNSRESOLVER_OUT_MIN)
		return -EINVAL;
	if (dnsmsg_reply_parse(msg, len, &rp) != DNSMSG_OK) {
		r->ctr.upstream_bad++;
		return 0; /* a bad reply does not end the query: a good one or the timeout will */
	}
	if ((slot = r->by_id[rp.h.id]) == 0) {
		r->ctr.upstream_unmatched++;
		return 0;
	}
	f = &r->fwd[slot - 1];
	if (!dnsresolver_sent_to(f, from) ||
	    (rp.has_question ? !(dnsmsg_name_eq_nocase(&rp.q.name, &f->q.q.name) &&
				 rp.q.type == f->q.q.type && rp.q.qclass == f->q.q.qclass) :
			       rp.rcode == DNSMSG_R_NOERROR)) {
		r->ctr.upstream_unmatched++; /* late, misrouted or spoofed */
		return 0;
	}
	r->ctr.upstream_replies++;
	/* A server that fails us while others have not been asked: ask the next one. */
	if ((rp.rcode == DNSMSG_R_SERVFAIL || rp.rcode == DNSMSG_R_REFUSED ||
	     rp.rcode == DNSMSG_R_NOTIMP) &&
	    f->sent < f->n_up && now_ns < f->deadline) {
		r->ctr.upstream_failover++;
		if (dnsresolver_fwd_send(r, f, now_ns, out, cap, v) == 0)
			return 0;
	}
	if (rp.rcode > DNSMSG_RCODE_MASK || !rp.has_question) {
		/* Extended RCODEs (BADCOOKIE, ...) answer our OPT, not the client's. */
		r->ctr.servfail++;
		dnsresolver_bare(r, &f->q, &f->client, 0, DNSMSG_R_SERVFAIL, true, out, cap, v);
		dnsresolver_fwd_release(r, f);
		return 0;
	}
	if (r->cache != NULL) {
		struct dnscache_key k;

		dnsresolver_key(&k, &f->q);
		if (dnscache_put(r->cache, &k, msg, &rp, now_ns) < 0) {
			/* out of memory: the answer still goes to the client */
		}
	}
	n = dnsmsg_reply_readdress(msg, &rp, &f->q, 0,
				   dnsresolver_limit(r, &f->q, f->client.transport, cap),
				   r->cfg.udp_payload, out, cap);
	if (n < 0) {
		r->ctr.servfail++;
		dnsresolver_bare(r, &f->q, &f->client, 0, DNSMSG_R_SERVFAIL, true, out, cap, v);
	} else {
		if (buf_load_be16(out + 2) & DNSMSG_F_TC)
			r->ctr.truncated++;
		dnsresolver_reply(v, &f->client, (size_t)n);
	}
	dnsresolver_fwd_release(r, f);
	return 0;
}

bool dnsresolver_expire(struct dnsresolver *r, uint64_t now_ns, uint8_t *out, size_t cap,
			struct dnsresolver_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (cap < DNSRESOLVER_OUT_MIN || r->n_used == 0)
		return false;
	for (size_t i = 0; i < r->n_fwd; i++) {
		struct dnsresolver_fwd *f = &r->fwd[i];

		if (!f->used)
			continue;
		if (now_ns >= f->deadline) {
			r->ctr.upstream_timeouts++;
			r->ctr.servfail++;
			dnsresolver_bare(r, &f->q, &f->client, 0, DNSMSG_R_SERVFAIL, true, out, cap,
					 v);
			dnsresolver_fwd_release(r, f);
			return true;
		}
		if (now_ns >= f->attempt_deadline &&
		    dnsresolver_fwd_send(r, f, now_ns, out, cap, v) == 0) {
			r->ctr.retransmits++;
			return true;
		}
	}
	return false;
}

uint64_t dnsresolver_next_deadline(const struct dnsresolver *r)
{
	uint64_t d = UINT64_MAX;

	for (size_t i = 0; i < r->n_fwd && r->n_used > 0; i++) {
		const struct dnsresolver_fwd *f = &r->fwd[i];
		if (!f->used)
			continue;
		if (f->deadline < d)
			d = f->deadline;
		if (f->attempt_deadline < d)
			d = f->attempt_deadline;
	}
	return d;
}

size_t dnsresolver_outstanding(const struct dnsresolver *r)
{
	return r->n_used;
}

const struct dnsresolver_counters *dnsresolver_counters(const struct dnsresolver *r)
{
	return &r->ctr;
}

void dnsresolver_cache_stats(const struct dnsresolver *r, struct dnscache_stats *out)
{
	if (r->cache != NULL)
		dnscache_stats(r->cache, out);
	else
		memset(out, 0, sizeof(*out));
}
