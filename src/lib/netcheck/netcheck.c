/* SPDX-License-Identifier: ISC */
/* netcheck: STUN probe plan, answers and the network report (see netcheck.h). */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "netcheck/netcheck.h"
#include "relay/relaymap.h"

void netcheck_init(struct netcheck *nc)
{
	memset(nc, 0, sizeof(*nc));
}

size_t netcheck_begin(struct netcheck *nc, const struct netmap_relaymap *m, bool v6,
		      uint64_t now_ns)
{
	size_t nregions = m->n_regions < NETCHECK_MAX_REGIONS ? m->n_regions : NETCHECK_MAX_REGIONS;

	nc->n_probes = 0;
	nc->start_ns = now_ns;
	nc->first_answer_ns = 0;
	nc->slowest_ns = 0;
	nc->running = true;
	for (size_t r = 0; r < nregions; r++) {
		const struct netmap_relay_region *g = &m->regions[r];
		if (g->n_nodes == 0)
			continue;
		for (unsigned t = 0; t < NETCHECK_TRIES; t++) {
			const struct netmap_relay_node *node = &g->nodes[t % g->n_nodes];
			struct netendpoint eps[2];
			size_t k = relay_node_stun_endpoints(node, eps);
			for (size_t i = 0; i < k; i++) {
				struct netcheck_probe *p;
				if (eps[i].addr.family == NETADDR_V6 && !v6)
					continue;
				if (nc->n_probes == NETCHECK_MAX_PROBES)
					return nc->n_probes;
				p = &nc->probes[nc->n_probes++];
				memset(p, 0, sizeof(*p));
				p->region = g->id;
				p->dst = eps[i];
				p->at_ns = now_ns + t * NETCHECK_STAGGER_NS;
				randombytes_buf(p->txid, sizeof(p->txid));
			}
		}
	}
	return nc->n_probes;
}

/* Whether some probe of the same region and family already has its answer. */
static bool netcheck_region_answered(const struct netcheck *nc, uint32_t region, uint8_t family)
{
	for (size_t i = 0; i < nc->n_probes; i++)
		if (nc->probes[i].answered && nc->probes[i].region == region &&
		    nc->probes[i].dst.addr.family == family)
			return true;
	return false;
}

/*
 * IPv4 STUN endpoints that answered, counted up to 2 (all hard-NAT detection
 * needs); `dst`, when not NULL, is set if it is one of them.
 */
static unsigned netcheck_v4_answered(const struct netcheck *nc, const struct netendpoint *dst,
				     bool *dst_answered)
{
	struct netendpoint first = { 0 };
	unsigned n = 0;

	if (dst_answered != NULL)
		*dst_answered = false;
	for (size_t i = 0; i < nc->n_probes; i++) {
		const struct netcheck_probe *p = &nc->probes[i];
		if (!p->answered || p->dst.addr.family != NETADDR_V4)
			continue;
		if (dst != NULL && netendpoint_eq(dst, &p->dst))
			*dst_answered = true;
		if (n == 0) {
			first = p->dst;
			n = 1;
		} else if (n == 1 && !netendpoint_eq(&first, &p->dst)) {
			n = 2;
		}
	}
	return n;
}

/* Still wanted to learn the region's latency and (this family's) public address. */
static bool netcheck_wants_region(const struct netcheck *nc, const struct netcheck_probe *p)
{
	return !p->answered && !netcheck_region_answered(nc, p->region, p->dst.addr.family);
}

/*
 * Wanted to see a second IPv4 destination: the report has answers from one
 * STUN endpoint only, and this probe goes to another (the next node of a
 * region, or its other STUN port), even when its region has answered.
 * Without a second answer a mapping that varies by destination cannot show.
 */
static bool netcheck_wants_second(const struct netcheck *nc, const struct netcheck_probe *p)
{
	bool dst_answered;

	if (p->answered || p->dst.addr.family != NETADDR_V4)
		return false;
	return netcheck_v4_answered(nc, &p->dst, &dst_answered) < 2 && !dst_answered;
}

size_t netcheck_due(struct netcheck *nc, uint64_t now_ns, struct netcheck_send *out, size_t max)
{
	size_t k = 0;

	if (!nc->running)
		return 0;
	for (size_t i = 0; i < nc->n_probes && k < max; i++) {
		struct netcheck_probe *p = &nc->probes[i];
		if (p->sent || p->at_ns > now_ns)
			continue;
		p->sent = true;
		/* A region that answered needs no more tries, but for a second destination. */
		if (!netcheck_wants_region(nc, p) && !netcheck_wants_second(nc, p))
			continue;
		p->sent_ns = now_ns;
		out[k].dst = p->dst;
		out[k].len = stun_request_build(out[k].req, p->txid);
		nc->c.sent++;
		k++;
	}
	return k;
}

bool netcheck_on_stun(struct netcheck *nc, const uint8_t *p, size_t n, uint64_t now_ns)
{
	struct stun_msg m;
	enum stun_verdict v = stun_response_parse(p, n, &m);

	stun_count(&nc->c.parse, v);
	if (v != STUN_OK)
		return false;
	for (size_t i = 0; i < nc->n_probes; i++) {
		struct netcheck_probe *pr = &nc->probes[i];
		if (!pr->sent || pr->answered || pr->sent_ns == 0 ||
		    sodium_memcmp(pr->txid, m.txid, STUN_TXID_LEN) != 0)
			continue;
		pr->answered = true;
		pr->rtt_ns = now_ns - pr->sent_ns;
		pr->mapped = m.mapped;
		nc->c.answered++;
		if (nc->first_answer_ns == 0)
			nc->first_answer_ns = now_ns;
		if (pr->rtt_ns > nc->slowest_ns)
			nc->slowest_ns = pr->rtt_ns;
		return true;
	}
	nc->c.unmatched++;
	return false;
}

static size_t netcheck_regions_answered(const struct netcheck *nc)
{
	uint32_t seen[NETCHECK_MAX_REGIONS];
	size_t n = 0;

	for (size_t i = 0; i < nc->n_probes; i++) {
		bool dup = false;
		if (!nc->probes[i].answered)
			continue;
		for (size_t j = 0; j < n; j++)
			dup |= seen[j] == nc->probes[i].region;
		if (!dup && n < NETCHECK_MAX_REGIONS)
			seen[n++] = nc->probes[i].region;
	}
	return n;
}

/* What the report still waits for. */
enum netcheck_pending { NETCHECK_NOTHING, NETCHECK_SECOND, NETCHECK_REGIONS };

static enum netcheck_pending netcheck_pending(const struct netcheck *nc)
{
	enum netcheck_pending w = NETCHECK_NOTHING;

	for (size_t i = 0; i < nc->n_probes; i++) {
		if (netcheck_wants_region(nc, &nc->probes[i]))
			return NETCHECK_REGIONS;
		if (netcheck_wants_second(nc, &nc->probes[i]))
			w = NETCHECK_SECOND;
	}
	return w;
}

/*
 * The last answer we still wait for: enough regions, then the slowest
 * latency once more; or, with every region answered and only a second
 * destination missing, its last try and then the slowest latency twice (a
 * dead second node costs a fraction of a second, not the whole timeout).
 */
static uint64_t netcheck_early_end(const struct netcheck *nc)
{
	uint64_t e = UINT64_MAX, second;

	if (netcheck_regions_answered(nc) >= NETCHECK_ENOUGH_REGIONS)
		e = nc->first_answer_ns + 2 * nc->slowest_ns;
	if (netcheck_pending(nc) == NETCHECK_SECOND) {
		second = nc->start_ns + NETCHECK_TRIES * NETCHECK_STAGGER_NS + 2 * nc->slowest_ns;
		if (second < e)
			e = second;
	}
	return e;
}

bool netcheck_done(const struct netcheck *nc, uint64_t now_ns)
{
	if (!nc->running)
		return true;
	if (now_ns - nc->start_ns >= NETCHECK_TIMEOUT_NS)
		return true;
	if (netcheck_pending(nc) == NETCHECK_NOTHING)
		return true;
	return now_ns >= netcheck_early_end(nc);
}

uint64_t netcheck_next_deadline(const struct netcheck *nc, uint64_t now_ns)
{
	uint64_t d = nc->start_ns + NETCHECK_TIMEOUT_NS, e = netcheck_early_end(nc);

	if (!nc->running)
		return UINT64_MAX;
	if (e < d)
		d = e;
	for (size_t i = 0; i < nc->n_probes; i++)
		if (!nc->probes[i].sent && nc->probes[i].at_ns < d)
			d = nc->probes[i].at_ns;
	return d < now_ns ? now_ns : d;
}

static struct netcheck_hist *netcheck_hist_for(struct netcheck *nc, uint32_t region)
{
	for (size_t i = 0; i < nc->n_hist; i++)
		if (nc->hist[i].region == region)
			return &nc->hist[i];
	if (nc->n_hist == NETCHECK_MAX_REGIONS)
		return NULL;
	struct netcheck_hist *h = &nc->hist[nc->n_hist++];
	memset(h, 0, sizeof(*h));
	h->region = region;
	return h;
}

/* The lowest latency recorded for a region within the history window (0: none). */
static uint64_t netcheck_best_recent(const struct netcheck *nc, uint32_t region, uint64_t now_ns)
{
	uint64_t best = 0;

	for (size_t i = 0; i < nc->n_hist; i++) {
		const struct netcheck_hist *h = &nc->hist[i];
		if (h->region != region)
			continue;
		for (unsigned j = 0; j < NETCHECK_HISTORY; j++)
			if (h->lat_ns[j] != 0 && now_ns - h->at_ns[j] <= NETCHECK_HISTORY_NS &&
			    (best == 0 || h->lat_ns[j] < best))
				best = h->lat_ns[j];
	}
	return best;
}

void netcheck_finish(struct netcheck *nc, uint64_t now_ns, struct netcheck_report *r)
{
	struct netendpoint v4_first = { 0 }, v4_first_dst = { 0 };
	uint64_t best_v4 = UINT64_MAX, best_v6 = UINT64_MAX;
	bool have_v4_first = false;

	memset(r, 0, sizeof(*r));
	nc->running = false;
	for (size_t i = 0; i < nc->n_probes; i++) {
		const struct netcheck_probe *p = &nc->probes[i];
		struct netcheck_region_latency *rl = NULL;

		for (size_t j = 0; j < r->n_regions; j++)
			if (r->regions[j].region == p->region)
				rl = &r->regions[j];
		if (rl == NULL && r->n_regions < NETCHECK_MAX_REGIONS) {
			rl = &r->regions[r->n_regions++];
			rl->region = p->region;
		}
		if (!p->answered)
			continue;
		r->udp = true;
		if (rl != NULL && (rl->latency_ns == 0 || p->rtt_ns < rl->latency_ns))
			rl->latency_ns = p->rtt_ns;
		if (p->mapped.addr.family == NETADDR_V4) {
			r->ipv4 = true;
			if (p->rtt_ns < best_v4) {
				best_v4 = p->rtt_ns;
				r->global_v4 = p->mapped;
				r->have_global_v4 = true;
			}
			/* Hard NAT: another destination (address or port) saw another mapping. */
			if (!have_v4_first) {
				v4_first = p->mapped;
				v4_first_dst = p->dst;
				have_v4_first = true;
			} else if (!netendpoint_eq(&v4_first_dst, &p->dst) &&
				   !netendpoint_eq(&v4_first, &p->mapped)) {
				r->mapping_varies_by_dest_ip = true;
			}
		} else if (p->mapped.addr.family == NETADDR_V6) {
			r->ipv6 = true;
			if (p->rtt_ns < best_v6) {
				best_v6 = p->rtt_ns;
				r->global_v6 = p->mapped;
				r->have_global_v6 = true;
			}
		}
	}
	/* Record this report, then choose the home by best-recent latency. */
	for (size_t j = 0; j < r->n_regions; j++) {
		struct netcheck_hist *h;
		if (r->regions[j].latency_ns == 0 ||
		    (h = netcheck_hist_for(nc, r->regions[j].region)) == NULL)
			continue;
		h->at_ns[h->next] = now_ns;
		h->lat_ns[h->next] = r->regions[j].latency_ns;
		h->next = (h->next + 1) % NETCHECK_HISTORY;
	}
	uint32_t best = 0;
	uint64_t best_lat = 0, home_lat = 0;
	bool home_answered = false;
	for (size_t j = 0; j < r->n_regions; j++) {
		uint64_t l = netcheck_best_recent(nc, r->regions[j].region, now_ns);
		if (r->regions[j].latency_ns == 0 || l == 0)
			continue;
		if (best == 0 || l < best_lat) {
			best = r->regions[j].region;
			best_lat = l;
		}
		if (r->regions[j].region == nc->home) {
			home_answered = true;
			home_lat = l;
		}
	}
	if (home_answered && best != nc->home &&
	    (home_lat - best_lat < NETCHECK_STICKY_ABS_NS || best_lat > home_lat * 2 / 3))
		best = nc->home;
	if (best != 0)
		nc->home = best;
	r->preferred_region = best != 0 ? best : (home_answered ? nc->home : 0);
}

int netcheck_report_json(const struct netcheck_report *r, struct buf_writer *w)
{
	char v4[NETENDPOINT_STRLEN] = "", v6[NETENDPOINT_STRLEN] = "";

	if (r->have_global_v4)
		netendpoint_format(&r->global_v4, v4, sizeof(v4));
	if (r->have_global_v6)
		netendpoint_format(&r->global_v6, v6, sizeof(v6));
	buf_printf(w,
		   "{\"UDP\":%s,\"IPv4\":%s,\"IPv6\":%s,\"MappingVariesByDestIP\":%s,"
		   "\"GlobalV4\":\"%s\",\"GlobalV6\":\"%s\",\"PreferredDERP\":%u,"
		   "\"RegionLatency\":{",
		   r->udp ? "true" : "false", r->ipv4 ? "true" : "false",
		   r->ipv6 ? "true" : "false", r->mapping_varies_by_dest_ip ? "true" : "false", v4,
		   v6, r->preferred_region);
	bool first = true;
	for (size_t i = 0; i < r->n_regions; i++) {
		if (r->regions[i].latency_ns == 0)
			continue;
		buf_printf(w, "%s\"%u\":%llu", first ? "" : ",", r->regions[i].region,
			   (unsigned long long)r->regions[i].latency_ns);
		first = false;
	}
	buf_put_str(w, "}}");
	return w->err ? -ENOMEM : 0;
}
