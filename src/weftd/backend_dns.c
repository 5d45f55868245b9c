/* SPDX-License-Identifier: ISC */
/*
 * backend_dns: MagicDNS in the backend. The resolver's table is rebuilt from
 * every network map and delta (with the host's own nameservers as the
 * fallback upstreams); while the node has a map and --accept-dns is on, the
 * host's resolver points at 100.100.100.100 (dnsconf), and it is put back on
 * down, logout, --accept-dns=false and exit, and after a crash at the next
 * start. Also the local API's dns-status and dns-query answers.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/log.h"
#include "dns/dnstable.h"
#include "dns/dnstext.h"
#include "dns/resolvconf.h"
#include "dns/resolved.h"
#include "weftd/backend_int.h"
#include "weftd/dnsd.h"
#include "weftd/dnsresolved.h"
#include "weftd/engine.h"
#include "weftd/state.h"

#define BACKEND_DNS_WATCH_S 5

static void backend_dns_table(struct backend *be);
static void backend_dns_watch_cb(evutil_socket_t fd, short what, void *arg);

static void backend_dns_note(struct backend *be, const char *what, int r)
{
	if (r < 0)
		log_warnx("dns: cannot %s %s: %s", what, be->dnsconf.resolv, strerror(-r));
	if (be->dnsconf.note[0] != '\0')
		log_info("dns: %s", be->dnsconf.note);
	be->dnsconf.note[0] = '\0';
}

int backend_dns_init(struct backend *be, char *err, size_t errlen)
{
	struct timeval watch = { BACKEND_DNS_WATCH_S, 0 };
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s", be->cfg.state_path);
	r = dnsconf_init(&be->dnsconf, DNSCONF_RESOLV_CONF, dirname(path), NULL);
	if (r < 0) {
		snprintf(err, errlen, "state directory path too long for the resolv.conf backup");
		return r;
	}
	/* A run that crashed left our resolv.conf in place: put the original back first. */
	backend_dns_note(be, "recover", dnsconf_recover(&be->dnsconf));
	r = dnsconf_probe(&be->dnsconf);
	if (r < 0)
		log_warnx("dns: cannot look at %s: %s", be->dnsconf.resolv, strerror(-r));
	log_info("dns: host DNS mode %s (%s)", resolvconf_mode_name(be->dnsconf.mode),
		 be->dnsconf.why);
	if (be->dnsconf.mode == RESOLVCONF_MODE_RESOLVED &&
	    (r = dnsresolved_new(NULL, &be->dnsconf.resolved)) < 0) {
		snprintf(err, errlen, "cannot set up systemd-resolved support: %s", strerror(-r));
		return r;
	}
	r = dnsd_new(be->base, be->engine, &be->dnsd);
	if (r < 0) {
		snprintf(err, errlen, "cannot start the MagicDNS resolver: %s", strerror(-r));
		return r;
	}
	be->dns_watch = event_new(be->base, -1, EV_PERSIST, backend_dns_watch_cb, be);
	if (be->dns_watch == NULL || event_add(be->dns_watch, &watch) < 0) {
		snprintf(err, errlen, "cannot start the resolv.conf watch");
		return -ENOMEM;
	}
	return 0;
}

void backend_dns_free(struct backend *be)
{
	if (be->dns_watch != NULL)
		event_free(be->dns_watch);
	be->dns_watch = NULL;
	if (be->dnsconf.applied)
		backend_dns_note(be, "restore", dnsconf_restore(&be->dnsconf));
	if (be->dnsconf.resolved != NULL && dnsresolved_revert(be->dnsconf.resolved) < 0)
		log_warnx("dns: systemd-resolved: %s keeps weft's settings until it is removed",
			  dnsresolved_ifname(be->dnsconf.resolved));
	dnsresolved_free(be->dnsconf.resolved);
	be->dnsconf.resolved = NULL;
	dnsd_free(be->dnsd);
	be->dnsd = NULL;
}

bool backend_dns_routed(const struct backend *be)
{
	const struct dnstable *t = be->dnsd != NULL ? dnsd_table(be->dnsd) : NULL;

	return state_current(be->st)->prefs.corp_dns || (t != NULL && dnstable_magic_dns(t));
}

static void backend_dns_table(struct backend *be)
{
	struct netendpoint os[DNSTABLE_MAX_UPSTREAMS];
	struct dnstable_report rep = { 0 };
	struct dnstable *t = NULL;
	size_t n_os = 0;
	int r;

	if (be->nm == NULL) {
		dnsd_set_table(be->dnsd, NULL);
		return;
	}
	r = dnsconf_os_nameservers(&be->dnsconf, os, DNSTABLE_MAX_UPSTREAMS, &n_os);
	if (r < 0) {
		log_warnx("dns: cannot read the host's nameservers from %s: %s", be->dnsconf.resolv,
			  strerror(-r));
		n_os = 0;
	}
	r = dnstable_from_netmap(be->nm, os, n_os, &t, &rep);
	if (r < 0) {
		/* Out of memory: keep answering from the previous table. */
		log_warnx("dns: cannot build the MagicDNS table: %s", strerror(-r));
		return;
	}
	if (rep.skipped > 0 && strcmp(rep.first, be->dns_skipped) != 0)
		log_warnx("dns: %u entries of the server's DNS config skipped, first: %s",
			  rep.skipped, rep.first);
	snprintf(be->dns_skipped, sizeof(be->dns_skipped), "%s", rep.skipped > 0 ? rep.first : "");
	dnsd_set_table(be->dnsd, t);
}

static bool backend_self_has_ipv6(const struct backend *be)
{
	const struct netmap_node *self = be->nm != NULL ? netmap_self(be->nm) : NULL;

	for (size_t i = 0; self != NULL && i < self->n_addresses; i++)
		if (self->addresses[i].addr.family == NETADDR_V6)
			return true;
	return false;
}

/*
 * Resolved mode: the TUN's link in systemd-resolved set from the table, or
 * reverted. Failures are logged once by dnsresolved and retried by the watch.
 */
static void backend_dns_resolved(struct backend *be, bool want)
{
	struct resolved_input in = {
		.table = want ? dnsd_table(be->dnsd) : NULL,
		.ifname = engine_ifname(be->engine),
		.accept_dns = state_current(be->st)->prefs.corp_dns,
		.self_ipv6 = backend_self_has_ipv6(be),
	};
	struct resolved_link *l = malloc(sizeof(*l)); /* 40 KiB of domains */
	int r;

	if (l == NULL) {
		log_warnx("dns: systemd-resolved: out of memory");
		return;
	}
	r = resolved_plan(&in, l);
	if (r < 0)
		log_warnx("dns: systemd-resolved: cannot use interface name `%s' with resolvectl",
			  in.ifname);
	else if ((r = dnsresolved_apply(be->dnsconf.resolved, l)) < 0)
		log_debug("dns: systemd-resolved: will retry: %s", strerror(-r)); /* warned once */
	free(l);
}

/* Points the host at us, or puts its own configuration back; true if it found a surprise. */
static bool backend_dns_host(struct backend *be)
{
	const struct dnstable *t = dnsd_table(be->dnsd);
	bool want = be->nm != NULL && t != NULL && state_current(be->st)->prefs.corp_dns;
	const char *search[RESOLVCONF_MAX_SEARCH];
	struct resolvconf_config c;
	bool surprise;
	int r;

	if (be->dnsconf.resolved != NULL) {
		backend_dns_resolved(be, want);
		return false;
	}
	if (!want) {
		if (be->dnsconf.applied)
			backend_dns_note(be, "restore", dnsconf_restore(&be->dnsconf));
		be->dns_mode_said = false;
		return false;
	}
	if (be->dnsconf.mode != RESOLVCONF_MODE_DIRECT) {
		if (!be->dns_mode_said)
			log_warnx("dns: not configuring the host's DNS (%s mode: %s); "
				  "100.100.100.100 answers all the same",
				  resolvconf_mode_name(be->dnsconf.mode), be->dnsconf.why);
		be->dns_mode_said = true;
		return false;
	}
	resolvconf_config_from_table(t, &c, search, RESOLVCONF_MAX_SEARCH);
	r = dnsconf_apply(&be->dnsconf, &c);
	surprise = be->dnsconf.note[0] != '\0'; /* rewritten by someone else, or the original lost */
	backend_dns_note(be, "write", r);
	return surprise;
}

/*
 * Every few seconds while ours is in force: a DHCP client or an admin that
 * rewrote resolv.conf has its file kept as the new original and ours put
 * back, and the table takes the new file's nameservers as the host's.
 */
static void backend_dns_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend *be = arg;

	(void)fd;
	(void)what;
	if (be->dnsconf.resolved != NULL && dnsresolved_failed(be->dnsconf.resolved)) {
		(void)backend_dns_host(be); /* resolved was restarting, or resolvectl missing */
		return;
	}
	if (be->dnsconf.applied && backend_dns_host(be)) {
		backend_dns_table(be);
		(void)backend_dns_host(be); /* the search list may follow the new table */
	}
}

void backend_dns_update(struct backend *be)
{
	if (be->dnsd == NULL)
		return;
	backend_dns_table(be);
	backend_dns_host(be);
}

/* ---- dns-status ----------------------------------------------------------------------- */

static json_t *backend_dns_endpoints(const struct netendpoint *v, size_t n)
{
	json_t *a = json_array();
	char buf[NETENDPOINT_STRLEN];

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(netendpoint_format(&v[i], buf, sizeof(buf))));
	return a;
}

static json_t *backend_dns_host_json(struct backend *be)
{
	const struct dnsresolved *rd = be->dnsconf.resolved;
	struct netendpoint os[DNSTABLE_MAX_UPSTREAMS];
	size_t n_os = 0;
	json_t *o;

	if (dnsconf_os_nameservers(&be->dnsconf, os, DNSTABLE_MAX_UPSTREAMS, &n_os) < 0)
		n_os = 0;
	o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:o}", "Mode",
		      resolvconf_mode_name(be->dnsconf.mode), "Why", be->dnsconf.why, "Path",
		      be->dnsconf.resolv, "Managed",
		      be->dnsconf.applied || (rd != NULL && dnsresolved_in_force(rd)), "Backup",
		      be->dnsconf.backup, "Nameservers", backend_dns_endpoints(os, n_os));
	/* Resolved mode: the link, what is set on it (as resolvectl commands), the last failure. */
	if (o != NULL && rd != NULL)
		json_object_set_new(
			o, "Resolved",
			json_pack("{s:s, s:b, s:s, s:s}", "Link", engine_ifname(be->engine),
				  "InForce", dnsresolved_in_force(rd), "Settings",
				  dnsresolved_settings(rd), "Error", dnsresolved_error(rd)));
	return o;
}

static bool backend_dns_is_reverse(const char *d)
{
	size_t l = strlen(d);

	if (l > 0 && d[l - 1] == '.')
		l--;
	return (l > 13 && strncmp(d + l - 13, ".in-addr.arpa", 13) == 0) ||
	       (l > 9 && strncmp(d + l - 9, ".ip6.arpa", 9) == 0);
}

json_t *backend_dns_status(struct backend *be)
{
	const struct dnstable *t = dnsd_table(be->dnsd);
	struct dnstable_upstreams def = { 0 };
	json_t *o, *split = json_object(), *zones = json_array(), *search = json_array();
	size_t reverse = 0;

	if (t != NULL) {
		def = dnstable_default(t);
		for (size_t i = 0; i < dnstable_search_count(t); i++)
			json_array_append_new(search, json_string(dnstable_search_at(t, i)));
		for (size_t i = 0; i < dnstable_route_count(t); i++) {
			struct dnstable_upstreams u = dnstable_route_at(t, i);
			if (u.n > 0)
				json_object_set_new(split, u.domain, backend_dns_endpoints(u.v, u.n));
			else if (backend_dns_is_reverse(u.domain))
				reverse++;
			else
				json_array_append_new(zones, json_string(u.domain));
		}
	}
	o = json_pack("{s:b, s:b, s:b, s:s, s:o, s:o, s:s, s:o, s:o, s:I, s:I, s:o}", "Ready",
		      t != NULL, "AcceptDNS", state_current(be->st)->prefs.corp_dns, "MagicDNS",
		      t != NULL && dnstable_magic_dns(t), "BaseDomain",
		      t != NULL ? dnstable_base_domain(t) : "", "SearchDomains", search, "Resolvers",
		      backend_dns_endpoints(def.v, def.n), "ResolversFrom",
		      t == NULL ? "" : dnstable_overrides_os(t) ? "server" : def.n > 0 ? "host" : "none",
		      "SplitDNS", split, "LocalZones", zones, "ReverseZones", (json_int_t)reverse,
		      "Names", (json_int_t)(t != NULL ? dnstable_name_count(t) : 0), "HostDNS",
		      backend_dns_host_json(be));
	return o;
}

/* ---- dns-query ------------------------------------------------------------------------ */

int backend_dns_question(const char *name, const char *type, struct dnsmsg_question *q,
			 char *err, size_t errlen)
{
	struct netaddr a;

	memset(q, 0, sizeof(*q));
	q->qclass = DNSMSG_C_IN;
	q->type = DNSMSG_T_A;
	if (name == NULL || name[0] == '\0') {
		snprintf(err, errlen, "dns-query: want name=NAME");
		return -EINVAL;
	}
	if (type != NULL && type[0] != '\0' && dnstext_type_parse(type, &q->type) < 0) {
		snprintf(err, errlen, "dns-query: type=`%.20s' is not a DNS type (A, AAAA, PTR, ...)",
			 type);
		return -EINVAL;
	}
	/* An address asks for its PTR, as dig -x does. */
	if (netaddr_parse(name, &a) == 0) {
		if (type == NULL || type[0] == '\0')
			q->type = DNSMSG_T_PTR;
		dnsmsg_name_reverse(a.a, netaddr_len(&a), &q->name);
		return 0;
	}
	if (dnsmsg_name_from_text(name, &q->name) < 0) {
		snprintf(err, errlen, "dns-query: name=`%.80s' is not a DNS name", name);
		return -EINVAL;
	}
	return 0;
}

static const char *const backend_dns_sections[] = { "Answers", "Authority", "Additional" };

/* The reply's records, decoded; a reply that does not decode still shows its header. */
static void backend_dns_records(json_t *o, const uint8_t *msg, size_t len)
{
	struct dnsmsg_header h;
	struct dnsmsg_question q;
	struct dnstext_iter it;
	struct dnstext_rr rr;
	bool has_q, done = false;
	char name[DNSMSG_TEXT_MAX], tb[16], cb[16], data[4096];
	enum dnsmsg_status st = dnstext_iter_init(&it, msg, len, &h, &q, &has_q);

	for (int s = 0; s < 3; s++)
		json_object_set_new(o, backend_dns_sections[s], json_array());
	while (st == DNSMSG_OK && !done) {
		st = dnstext_iter_next(&it, &rr, &done);
		if (st != DNSMSG_OK || done)
			break;
		if (rr.type == DNSMSG_T_OPT)
			continue;
		(void)dnstext_rdata(msg, len, &rr, data, sizeof(data));
		json_array_append_new(
			json_object_get(o, backend_dns_sections[rr.section]),
			json_pack("{s:s, s:I, s:s, s:s, s:s}", "Name",
				  dnsmsg_name_to_text(&rr.owner, name, sizeof(name)), "TTL",
				  (json_int_t)rr.ttl, "Class", dnstext_class_name(rr.rclass, cb, sizeof(cb)),
				  "Type", dnstext_type_name(rr.type, tb, sizeof(tb)), "Data", data));
	}
	if (st != DNSMSG_OK)
		json_object_set_new(o, "Error", json_string(dnsmsg_status_str(st)));
}

json_t *backend_dns_answer(struct backend *be, const struct dnsmsg_question *q,
			   const uint8_t *msg, size_t len)
{
	const struct dnstable *t = dnsd_table(be->dnsd);
	struct dnsmsg_name lname = q->name;
	struct dnstable_result res;
	const char *route = "none";
	char name[DNSMSG_TEXT_MAX], tb[16], rb[16], *b64;
	size_t b64len = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	unsigned rcode = len >= DNSMSG_HDR_LEN ? (msg[3] & DNSMSG_RCODE_MASK) : DNSMSG_R_SERVFAIL;
	uint16_t flags = len >= DNSMSG_HDR_LEN ? (uint16_t)(msg[2] << 8 | msg[3]) : 0;
	json_t *o, *resolvers = json_array(), *fl = json_array();

	memset(&res, 0, sizeof(res));
	dnsmsg_name_lower(&lname);
	if (t != NULL) {
		switch (dnstable_lookup(t, &lname, &res)) {
		case DNSTABLE_NAME:
		case DNSTABLE_NXDOMAIN:
			route = "local";
			break;
		case DNSTABLE_FORWARD:
			route = res.up.domain[0] != '\0' ? "split" : "forward";
			json_decref(resolvers);
			resolvers = backend_dns_endpoints(res.up.v, res.up.n);
			break;
		case DNSTABLE_NO_UPSTREAM:
			break;
		}
	}
	if (flags & DNSMSG_F_AA)
		json_array_append_new(fl, json_string("aa"));
	if (flags & DNSMSG_F_TC)
		json_array_append_new(fl, json_string("tc"));
	if (flags & DNSMSG_F_RD)
		json_array_append_new(fl, json_string("rd"));
	if (flags & DNSMSG_F_RA)
		json_array_append_new(fl, json_string("ra"));
	if (flags & DNSMSG_F_AD)
		json_array_append_new(fl, json_string("ad"));
	o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:o}", "Name",
		      dnsmsg_name_to_text(&q->name, name, sizeof(name)), "Type",
		      dnstext_type_name(q->type, tb, sizeof(tb)), "Rcode",
		      dnstext_rcode_name(rcode, rb, sizeof(rb)), "Flags", fl, "Route", route,
		      "Resolvers", resolvers);
	if (o == NULL)
		return NULL;
	backend_dns_records(o, msg, len);
	if ((b64 = malloc(b64len)) != NULL) {
		sodium_bin2base64(b64, b64len, msg, len, sodium_base64_VARIANT_ORIGINAL);
		json_object_set_new(o, "Bytes", json_string(b64));
		free(b64);
	}
	return o;
}

int backend_dns_query(struct backend *be, const struct dnsmsg_question *q,
		      void (*cb)(void *arg, const uint8_t *msg, size_t len), void *arg,
		      struct dnsd_query **out)
{
	return dnsd_query_start(be->dnsd, q, cb, arg, out);
}

void backend_dns_query_cancel(struct backend *be, struct dnsd_query *q)
{
	dnsd_query_cancel(be->dnsd, q);
}
