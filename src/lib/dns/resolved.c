/* SPDX-License-Identifier: ISC */
/* resolved: systemd-resolved link settings decided and spelled as resolvectl argv (see resolved.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns/dnsmsg.h"
#include "dns/dnstable.h"
#include "dns/resolved.h"

/*
 * An interface name resolvectl takes as a name: not a number (it would be
 * read as an ifindex), nothing a shell or getopt would treat specially.
 */
static bool resolved_ifname_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	bool digits = true;

	if (n == 0 || n >= RESOLVED_IFNAME_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
		digits = digits && c >= '0' && c <= '9';
	}
	return !digits;
}

/*
 * A domain as resolved wants it: lower case, no trailing dot, hostname
 * characters only (resolvectl would refuse the whole list for one bad name).
 */
static bool resolved_domain_norm(const char *in, char out[static RESOLVED_DOMAIN_MAX])
{
	struct dnsmsg_name n;
	char text[DNSMSG_TEXT_MAX];
	size_t len;

	if (dnsmsg_name_from_text(in, &n) < 0)
		return false;
	dnsmsg_name_lower(&n);
	dnsmsg_name_to_text(&n, text, sizeof(text));
	len = strlen(text);
	if (len > 1)
		text[--len] = '\0';
	if (len >= RESOLVED_DOMAIN_MAX || text[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	memcpy(out, text, len + 1);
	return true;
}

static void resolved_add(struct resolved_link *l, const char *name, bool route_only)
{
	char d[RESOLVED_DOMAIN_MAX];

	if (!resolved_domain_norm(name, d)) {
		l->skipped++;
		return;
	}
	for (size_t i = 0; i < l->n_domains; i++)
		if (strcmp(l->domains[i].name, d) == 0)
			return; /* a search domain routes as well */
	if (l->n_domains == RESOLVED_MAX_DOMAINS) {
		l->skipped++;
		return;
	}
	memcpy(l->domains[l->n_domains].name, d, sizeof(d));
	l->domains[l->n_domains++].route_only = route_only;
}

static int resolved_revert(struct resolved_link *l, const char *why)
{
	l->action = RESOLVED_REVERT;
	l->n_dns = 0;
	l->n_domains = 0;
	l->default_route = false;
	l->why = why;
	return 0;
}

int resolved_plan(const struct resolved_input *in, struct resolved_link *out)
{
	const struct dnstable *t = in->table;

	memset(out, 0, sizeof(*out));
	if (!resolved_ifname_ok(in->ifname))
		return -EINVAL;
	memcpy(out->ifname, in->ifname, strlen(in->ifname) + 1);
	if (!in->accept_dns)
		return resolved_revert(out, "--accept-dns is off");
	if (t == NULL)
		return resolved_revert(out, "no network map");
	out->action = RESOLVED_SET;
	out->dns[out->n_dns++] = dnstable_quad100_v4;
	if (in->self_ipv6)
		out->dns[out->n_dns++] = dnstable_quad100_v6;
	for (size_t i = 0; i < dnstable_search_count(t); i++)
		resolved_add(out, dnstable_search_at(t, i), false);
	/* Local zones (n == 0) and split domains alike: names under them are ours to answer. */
	for (size_t i = 0; i < dnstable_route_count(t); i++)
		resolved_add(out, dnstable_route_at(t, i).domain, true);
	if (dnstable_overrides_os(t)) {
		/* "~." routes everything no longer domain claims; default-route covers the rest. */
		out->default_route = true;
		if (out->n_domains == RESOLVED_MAX_DOMAINS)
			out->n_domains--, out->skipped++; /* "~." matters more than the last one */
		memcpy(out->domains[out->n_domains].name, ".", 2);
		out->domains[out->n_domains++].route_only = true;
	}
	if (out->n_domains == 0 && !out->default_route)
		return resolved_revert(out, "MagicDNS is off and the server sends no split or "
					    "search domains and no global nameservers");
	return 0;
}

bool resolved_link_equal(const struct resolved_link *a, const struct resolved_link *b)
{
	if (a->action != b->action || strcmp(a->ifname, b->ifname) != 0 || a->n_dns != b->n_dns ||
	    a->n_domains != b->n_domains || a->default_route != b->default_route)
		return false;
	for (size_t i = 0; i < a->n_dns; i++)
		if (!netaddr_eq(&a->dns[i], &b->dns[i]))
			return false;
	for (size_t i = 0; i < a->n_domains; i++)
		if (a->domains[i].route_only != b->domains[i].route_only ||
		    strcmp(a->domains[i].name, b->domains[i].name) != 0)
			return false;
	return true;
}

/* Copies a string into the script's own storage. */
static const char *resolved_str(struct resolved_script *s, const char *pre, const char *v)
{
	size_t need = strlen(pre) + strlen(v) + 1;
	char *p = s->strings + s->used;

	if (need > sizeof(s->strings) - s->used)
		return NULL;
	snprintf(p, need, "%s%s", pre, v);
	s->used += need;
	return p;
}

/* Starts `prog -- verb ifname`; returns the next free argv slot. */
static size_t resolved_cmd(struct resolved_script *s, const char *prog, const char *verb,
			   const char *ifname)
{
	const char **a = s->argv[s->n];

	a[0] = prog;
	a[1] = "--";
	a[2] = verb;
	a[3] = ifname;
	return ifname != NULL ? 4 : 3;
}

int resolved_script_build(const struct resolved_link *l, const char *prog,
			  struct resolved_script *s)
{
	char ab[NETADDR_STRLEN];
	size_t k;

	memset(s, 0, sizeof(*s));
	if (l->action == RESOLVED_REVERT) {
		k = resolved_cmd(s, prog, "revert", l->ifname);
		s->argv[s->n++][k] = NULL;
		return 0;
	}
	if (l->n_dns == 0 || l->n_domains == 0)
		return -EINVAL; /* resolvectl would show, not set, with no arguments */
	k = resolved_cmd(s, prog, "dns", l->ifname);
	for (size_t i = 0; i < l->n_dns; i++)
		if ((s->argv[s->n][k++] = resolved_str(
			     s, "", netaddr_format(&l->dns[i], ab, sizeof(ab)))) == NULL)
			return -ENOSPC;
	s->argv[s->n++][k] = NULL;
	k = resolved_cmd(s, prog, "domain", l->ifname);
	for (size_t i = 0; i < l->n_domains; i++)
		if ((s->argv[s->n][k++] = resolved_str(s, l->domains[i].route_only ? "~" : "",
						       l->domains[i].name)) == NULL)
			return -ENOSPC;
	s->argv[s->n++][k] = NULL;
	k = resolved_cmd(s, prog, "default-route", l->ifname);
	s->argv[s->n][k++] = l->default_route ? "yes" : "no";
	s->argv[s->n++][k] = NULL;
	/* Names on the tailnet are unicast DNS only: no LLMNR or mDNS probes into the tunnel. */
	k = resolved_cmd(s, prog, "llmnr", l->ifname);
	s->argv[s->n][k++] = "no";
	s->argv[s->n++][k] = NULL;
	k = resolved_cmd(s, prog, "mdns", l->ifname);
	s->argv[s->n][k++] = "no";
	s->argv[s->n++][k] = NULL;
	/* Answers cached from other links for names now routed to us would linger otherwise. */
	k = resolved_cmd(s, prog, "flush-caches", NULL);
	s->argv[s->n++][k] = NULL;
	return 0;
}

int resolved_script_text(const struct resolved_script *s, char *buf, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (size_t c = 0; c < s->n; c++) {
		const char *prog = strrchr(s->argv[c][0], '/');
		int w = snprintf(buf + o, cap - o, "%s", prog != NULL ? prog + 1 : s->argv[c][0]);

		for (size_t i = 1; w >= 0 && (size_t)w < cap - o && s->argv[c][i] != NULL; i++) {
			if (i == 1 && strcmp(s->argv[c][i], "--") == 0)
				continue; /* for the option parser, not for a reader */
			w += snprintf(buf + o + w, cap - o - (size_t)w, " %s", s->argv[c][i]);
		}
		if (w >= 0 && (size_t)w < cap - o)
			w += snprintf(buf + o + w, cap - o - (size_t)w, "\n");
		if (w < 0 || (size_t)w >= cap - o)
			return -ENOSPC;
		o += (size_t)w;
	}
	return (int)o;
}
