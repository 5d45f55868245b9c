/* SPDX-License-Identifier: ISC */
/* output: weft's human and --json output from local API JSON (see output.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/jsonx.h"
#include "weft/localapi.h"
#include "weft/output.h"

#define CLI_COL_MAX 256

static const char *cli_s(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static json_int_t cli_i(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

int cli_out_json(FILE *fp, const json_t *j)
{
	if (json_dumpf(j, fp, JSON_INDENT(2)) < 0)
		return -1;
	return fputc('\n', fp) == EOF ? -1 : 0;
}

/* Appends to buf (always NUL-terminated, truncating). */
static void cli_cat(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cli_cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/* Go's %q for a short string: quotes, escapes, non-printables as \xNN. */
static void cli_quote(const char *s, char *buf, size_t len)
{
	buf[0] = '\0';
	cli_cat(buf, len, "\"");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			cli_cat(buf, len, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			cli_cat(buf, len, "\\x%02x", c);
		else
			cli_cat(buf, len, "%c", c);
	}
	cli_cat(buf, len, "\"");
}

void cli_out_duration_ms(uint64_t ms, char *buf, size_t len)
{
	uint64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
	char f[8] = "";

	if (ms == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	if (ms < 1000) {
		snprintf(buf, len, "%llums", (unsigned long long)ms);
		return;
	}
	if (frac != 0) {
		snprintf(f, sizeof(f), ".%03llu", (unsigned long long)frac);
		for (size_t n = strlen(f); f[n - 1] == '0'; n--)
			f[n - 1] = '\0';
	}
	if (h > 0)
		snprintf(buf, len, "%lluh%llum%llu%ss", (unsigned long long)h,
			 (unsigned long long)m, (unsigned long long)s, f);
	else if (m > 0)
		snprintf(buf, len, "%llum%llu%ss", (unsigned long long)m, (unsigned long long)s, f);
	else
		snprintf(buf, len, "%llu%ss", (unsigned long long)s, f);
}

/* ", last seen 3h ago" as Tailscale writes it; "" when never seen. */
static void cli_last_seen(const json_t *ps, int64_t now, char *buf, size_t len)
{
	int64_t t, d;

	buf[0] = '\0';
	if (jsonx_time_parse(cli_s(ps, "LastSeen"), &t) < 0 || t <= 0)
		return;
	d = now - t;
	if (d < 60)
		d = 60;
	if (d < 3600)
		snprintf(buf, len, ", last seen %lldm ago", (long long)(d / 60));
	else if (d < 86400)
		snprintf(buf, len, ", last seen %lldh ago", (long long)(d / 3600));
	else
		snprintf(buf, len, ", last seen %lldd ago", (long long)(d / 86400));
}

void cli_out_peer_state(const json_t *ps, int64_t now, char *buf, size_t len)
{
	bool online = json_is_true(json_object_get(ps, "Online"));
	bool active = json_is_true(json_object_get(ps, "Active"));
	json_int_t tx = cli_i(ps, "TxBytes"), rx = cli_i(ps, "RxBytes");
	const char *cur = cli_s(ps, "CurAddr"), *relay = cli_s(ps, "Relay");
	bool traffic = tx != 0 || rx != 0;
	char seen[64], q[CLI_COL_MAX];

	buf[0] = '\0';
	cli_last_seen(ps, now, seen, sizeof(seen));
	if (!active) {
		if (traffic)
			cli_cat(buf, len, "idle%s", online ? "" : "; offline");
		else if (!online)
			cli_cat(buf, len, "offline%s", seen);
		else
			cli_cat(buf, len, "-");
	} else {
		cli_cat(buf, len, "active; ");
		if (cur[0] != '\0') {
			cli_cat(buf, len, "direct %s", cur);
		} else if (relay[0] != '\0') {
			cli_quote(relay, q, sizeof(q));
			cli_cat(buf, len, "relay %s", q);
		}
		if (!online)
			cli_cat(buf, len, "; offline");
	}
	if (traffic)
		cli_cat(buf, len, ", tx %lld rx %lld", (long long)tx, (long long)rx);
}

void cli_out_peer_name(const json_t *st, const json_t *ps, char *buf, size_t len)
{
	const char *dns = cli_s(ps, "DNSName"), *suffix = cli_s(st, "MagicDNSSuffix");
	size_t n = strlen(dns), sl = strlen(suffix);

	if (n > 0 && dns[n - 1] == '.')
		n--;
	if (sl > 0 && suffix[sl - 1] == '.')
		sl--;
	if (sl > 0 && n > sl + 1 && dns[n - sl - 1] == '.' &&
	    strncmp(dns + n - sl, suffix, sl) == 0)
		n -= sl + 1;
	if (n > 0) {
		snprintf(buf, len, "%.*s", (int)n, dns);
		return;
	}
	{
		char q[CLI_COL_MAX];
		cli_quote(cli_s(ps, "HostName"), q, sizeof(q));
		snprintf(buf, len, "(%s)", q);
	}
}

void cli_out_peer_owner(const json_t *st, const json_t *ps, char *buf, size_t len)
{
	json_int_t uid = cli_i(ps, "UserID");
	const json_t *u;
	const char *login, *at;
	char id[32];

	if (json_array_size(json_object_get(ps, "Tags")) > 0) {
		snprintf(buf, len, "tagged-devices");
		return;
	}
	if (uid == 0) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(id, sizeof(id), "%lld", (long long)uid);
	u = json_object_get(json_object_get(st, "User"), id);
	login = json_string_value(json_object_get(u, "LoginName"));
	if (login == NULL || login[0] == '\0') {
		snprintf(buf, len, "%s", id);
		return;
	}
	at = strchr(login, '@');
	if (at != NULL)
		snprintf(buf, len, "%.*s", (int)(at - login + 1), login);
	else
		snprintf(buf, len, "%s", login);
}

static void cli_status_line(FILE *fp, const json_t *st, const json_t *ps, int64_t now)
{
	char name[CLI_COL_MAX], owner[CLI_COL_MAX], state[512];
	const json_t *ips = json_object_get(ps, "TailscaleIPs");
	const char *ip = json_string_value(json_array_get(ips, 0));

	cli_out_peer_name(st, ps, name, sizeof(name));
	cli_out_peer_owner(st, ps, owner, sizeof(owner));
	cli_out_peer_state(ps, now, state, sizeof(state));
	fprintf(fp, "%-15s %-20s %-12s %-7s %s\n", ip != NULL ? ip : "", name, owner,
		cli_s(ps, "OS"), state);
}

/* Peers are listed by MagicDNS name (host name when there is none), as Tailscale sorts them. */
static const char *cli_sort_key(const json_t *ps)
{
	const char *d = cli_s(ps, "DNSName");

	return d[0] != '\0' ? d : cli_s(ps, "HostName");
}

static int cli_peer_cmp(const void *a, const void *b)
{
	const json_t *const *x = a, *const *y = b;
	int c = strcmp(cli_sort_key(*x), cli_sort_key(*y));

	return c != 0 ? c : strcmp(cli_s(*x, "PublicKey"), cli_s(*y, "PublicKey"));
}

static void cli_health(FILE *fp, const json_t *st)
{
	const json_t *h = json_object_get(st, "Health"), *v;
	size_t i;

	if (json_array_size(h) == 0)
		return;
	fprintf(fp, "\n# Health check:\n");
	json_array_foreach(h, i, v) {
		if (json_is_string(v))
			fprintf(fp, "#     - %s\n", json_string_value(v));
	}
}

int cli_out_status(FILE *fp, const json_t *st, const struct cli_status_opts *o, int64_t now)
{
	const char *state = cli_s(st, "BackendState");
	const json_t *peers = json_object_get(st, "Peer"), *self = json_object_get(st, "Self"), *v;
	const json_t **list = NULL;
	const char *key;
	size_t n = 0;

	if (strcmp(state, LOCALAPI_STATE_STOPPED) == 0) {
		fprintf(fp, "Weft is stopped.\n");
		cli_health(fp, st);
		return 1;
	}
	if (strcmp(state, LOCALAPI_STATE_NEEDS_LOGIN) == 0) {
		fprintf(fp, "Logged out.\n");
		if (cli_s(st, "AuthURL")[0] != '\0')
			fprintf(fp, "\nLog in at: %s\n", cli_s(st, "AuthURL"));
		cli_health(fp, st);
		return 1;
	}
	if (strcmp(state, LOCALAPI_STATE_NEEDS_MACHINE_AUTH) == 0) {
		fprintf(fp, "Machine is not yet approved by tailnet admin.\n");
		cli_health(fp, st);
		return 1;
	}
	if (strcmp(state, LOCALAPI_STATE_RUNNING) != 0 &&
	    strcmp(state, LOCALAPI_STATE_STARTING) != 0) {
		fprintf(fp, "unexpected state: %s\n", state[0] != '\0' ? state : "(none)");
		return 1;
	}
	if (!json_is_object(self) && strcmp(state, LOCALAPI_STATE_STARTING) == 0)
		fprintf(fp, "Weft is starting: no network map from the server yet.\n");
	if (o->self && json_is_object(self))
		cli_status_line(fp, st, self, now);
	if (o->peers && json_object_size(peers) > 0) {
		list = calloc(json_object_size(peers), sizeof(*list));
		if (list == NULL)
			return 1;
		json_object_foreach((json_t *)peers, key, v) {
			if (json_is_object(v) &&
			    (!o->active || json_is_true(json_object_get(v, "Active"))))
				list[n++] = v;
		}
		qsort(list, n, sizeof(*list), cli_peer_cmp);
		for (size_t i = 0; i < n; i++)
			cli_status_line(fp, st, list[i], now);
		free(list);
	}
	cli_health(fp, st);
	return 0;
}

bool cli_out_pong(const json_t *pr, const char *type, char *buf, size_t len)
{
	const json_t *lat = json_object_get(pr, "LatencySeconds");
	double secs = json_is_number(lat) ? json_number_value(lat) : 0;
	char via[128], dur[32];
	uint64_t ms;

	buf[0] = '\0';
	if (cli_s(pr, "Err")[0] != '\0')
		return false;
	if (!(secs >= 0) || secs > 1e9)
		secs = 0;
	ms = (uint64_t)llround(secs * 1000.0);
	cli_out_duration_ms(ms, dur, sizeof(dur));
	if (cli_i(pr, "DERPRegionID") != 0)
		snprintf(via, sizeof(via), "RELAY(%s)", cli_s(pr, "DERPRegionCode"));
	else if (cli_s(pr, "Endpoint")[0] != '\0')
		snprintf(via, sizeof(via), "%s", cli_s(pr, "Endpoint"));
	else
		snprintf(via, sizeof(via), "%s", type);
	snprintf(buf, len, "pong from %s (%s) via %s in %s", cli_s(pr, "NodeName"),
		 cli_s(pr, "NodeIP"), via, dur);
	return true;
}

/* Go's tabwriter as Tailscale's whois uses it: labels padded by 5, at least 10 wide. */
static void cli_block(FILE *fp, const char *const *labels, const char *const *values, size_t n)
{
	int w = 0;

	for (size_t i = 0; i < n; i++)
		if (labels[i] != NULL && (int)strlen(labels[i]) > w)
			w = (int)strlen(labels[i]);
	w += 5;
	if (w < 10)
		w = 10;
	for (size_t i = 0; i < n; i++)
		if (labels[i] != NULL)
			fprintf(fp, "%-*s%s\n", w, labels[i], values[i]);
}

/* ---- debug filter ------------------------------------------------------------------------ */

static void cli_out_protos(FILE *fp, const json_t *protos)
{
	static const struct {
		int n;
		const char *name;
	} names[] = { { 1, "icmp" },   { 6, "tcp" },  { 17, "udp" }, { 58, "icmpv6" },
		      { 132, "sctp" }, { 47, "gre" }, { 50, "esp" }, { 51, "ah" } };
	size_t i;
	json_t *v;

	if (json_array_size(protos) == 0) {
		fputs("tcp,udp,icmp,icmpv6", fp);
		return;
	}
	json_array_foreach((json_t *)protos, i, v) {
		const char *name = NULL;

		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (json_integer_value(v) == names[k].n)
				name = names[k].name;
		if (name != NULL)
			fprintf(fp, "%s%s", i ? "," : "", name);
		else
			fprintf(fp, "%s%lld", i ? "," : "", (long long)json_integer_value(v));
	}
}

static void cli_out_strlist(FILE *fp, const json_t *arr)
{
	size_t i;
	json_t *v;

	if (json_array_size(arr) == 0)
		fputs("(none)", fp);
	json_array_foreach((json_t *)arr, i, v) {
		const char *s = json_string_value(v);
		fprintf(fp, "%s%s", i ? ", " : "", s ? s : "?");
	}
}

void cli_out_filter(FILE *fp, const json_t *filter)
{
	const json_t *rules = json_object_get(filter, "Rules"),
		     *c = json_object_get(filter, "Compiled");
	const char *err = json_string_value(json_object_get(filter, "Error"));
	size_t i, k;
	json_t *r, *d;

	if (!json_is_true(json_object_get(filter, "Installed"))) {
		fprintf(fp, "no packet filter: every packet from the tunnel is accepted\n");
		return;
	}
	if (err != NULL)
		fprintf(fp, "the server's last packet filter was refused (%s): accepting nothing\n",
			err);
	fprintf(fp,
		"packet filter: %lld rules, %lld source prefixes in %lld tables, %lld bytes; "
		"%lld flows tracked\n",
		(long long)json_integer_value(json_object_get(c, "Rules")),
		(long long)json_integer_value(json_object_get(c, "SourcePrefixes")),
		(long long)json_integer_value(json_object_get(c, "Tables")),
		(long long)json_integer_value(json_object_get(c, "Bytes")),
		(long long)json_integer_value(json_object_get(filter, "Flows")));
	if (json_array_size(rules) == 0)
		fprintf(fp, "no rules: nothing from the tunnel is accepted but replies to this "
			    "node's own flows\n");
	json_array_foreach((json_t *)rules, i, r) {
		const json_t *dst = json_object_get(r, "DstPorts");
		const json_t *cap = json_object_get(r, "CapGrant");

		if (dst == NULL && cap != NULL) {
			fputs("grant", fp);
			json_array_foreach((json_t *)cap, k, d) {
				const char *key;
				json_t *unused;
				json_object_foreach(json_object_get(d, "CapMap"), key, unused)
					fprintf(fp, " %s", key);
			}
			fputs(" from ", fp);
			cli_out_strlist(fp, json_object_get(r, "SrcIPs"));
			fputs(" to ", fp);
			json_array_foreach((json_t *)cap, k, d) {
				if (k > 0)
					fputs(", ", fp);
				cli_out_strlist(fp, json_object_get(d, "Dsts"));
			}
			fputc('\n', fp);
			continue;
		}
		fputs("accept ", fp);
		cli_out_protos(fp, json_object_get(r, "IPProto"));
		fputs(" from ", fp);
		cli_out_strlist(fp, json_object_get(r, "SrcIPs"));
		fputs(" to ", fp);
		json_array_foreach((json_t *)dst, k, d) {
			const char *ip = json_string_value(json_object_get(d, "IP"));
			const json_t *ports = json_object_get(d, "Ports");
			long long lo = json_integer_value(json_object_get(ports, "First"));
			long long hi = json_integer_value(json_object_get(ports, "Last"));
			bool v6 = ip != NULL && strchr(ip, ':') != NULL;

			fprintf(fp, "%s%s%s%s:", k ? ", " : "", v6 ? "[" : "", ip ? ip : "?",
				v6 ? "]" : "");
			if (lo == 0 && hi == 65535)
				fputc('*', fp);
			else if (lo == hi)
				fprintf(fp, "%lld", lo);
			else
				fprintf(fp, "%lld-%lld", lo, hi);
		}
		if (json_array_size(dst) == 0)
			fputs("(none)", fp);
		fputc('\n', fp);
	}
}

void cli_out_whois(FILE *fp, const json_t *who)
{
	const json_t *node = json_object_get(who, "Node"),
		     *up = json_object_get(who, "UserProfile");
	const json_t *tags = json_object_get(node, "Tags"),
		     *addrs = json_object_get(node, "Addresses");
	char name[CLI_COL_MAX], id[32], alist[1024] = "[", tlist[1024] = "", uid[32];
	const char *labels[4], *values[4];
	const json_t *v;
	size_t i, n;

	snprintf(name, sizeof(name), "%s", cli_s(node, "Name"));
	n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		name[n - 1] = '\0';
	snprintf(id, sizeof(id), "%lld", (long long)cli_i(node, "ID"));
	json_array_foreach(addrs, i, v) {
		cli_cat(alist, sizeof(alist), "%s%s", i > 0 ? " " : "",
			json_is_string(v) ? json_string_value(v) : "?");
	}
	cli_cat(alist, sizeof(alist), "]");
	json_array_foreach(tags, i, v) {
		cli_cat(tlist, sizeof(tlist), "%s%s", i > 0 ? ", " : "",
			json_is_string(v) ? json_string_value(v) : "?");
	}
	fprintf(fp, "Machine:\n");
	labels[0] = "  Name:";
	values[0] = name;
	labels[1] = "  ID:";
	values[1] = id;
	labels[2] = "  Addresses:";
	values[2] = alist;
	labels[3] = json_array_size(tags) > 0 ? "  Tags:" : NULL;
	values[3] = tlist;
	cli_block(fp, labels, values, 4);
	if (json_array_size(tags) > 0)
		return; /* a tagged node belongs to its tags, not to a user */
	snprintf(uid, sizeof(uid), "%lld", (long long)cli_i(up, "ID"));
	fprintf(fp, "User:\n");
	labels[0] = "  Name:";
	values[0] = cli_s(up, "LoginName");
	labels[1] = "  ID:";
	values[1] = uid;
	cli_block(fp, labels, values, 2);
}

void cli_out_profiles(FILE *fp, const json_t *profiles, const char *current_id)
{
	static const char *const head[4] = { "ID", "Name", "Server", "Account" };
	int w[4];
	const json_t *p;
	size_t i;

	for (int k = 0; k < 4; k++)
		w[k] = (int)strlen(head[k]);
	json_array_foreach(profiles, i, p) {
		const char *col[4] = { cli_s(p, "ID"), cli_s(p, "Name"), cli_s(p, "ControlURL"),
				       cli_s(json_object_get(p, "UserProfile"), "LoginName") };
		for (int k = 0; k < 4; k++) {
			int l = (int)strlen(col[k]) + (k == 0 ? 1 : 0);
			if (l > w[k])
				w[k] = l;
		}
	}
	fprintf(fp, "%-*s  %-*s  %-*s  %s\n", w[0], head[0], w[1], head[1], w[2], head[2], head[3]);
	json_array_foreach(profiles, i, p) {
		char idcol[64];
		const char *id = cli_s(p, "ID"),
			   *acct = cli_s(json_object_get(p, "UserProfile"), "LoginName");
		const char *url = cli_s(p, "ControlURL");
		snprintf(idcol, sizeof(idcol), "%s%s", id,
			 current_id != NULL && strcmp(id, current_id) == 0 ? "*" : "");
		fprintf(fp, "%-*s  %-*s  %-*s  %s\n", w[0], idcol, w[1], cli_s(p, "Name"), w[2],
			url[0] != '\0' ? url : "-", acct[0] != '\0' ? acct : "-");
	}
}

/* ---- weft dns ------------------------------------------------------------------------- */

static void cli_dns_list(FILE *fp, const char *title, const json_t *a, const char *none)
{
	const json_t *v;
	size_t i;

	fprintf(fp, "%s:\n", title);
	if (json_array_size(a) == 0)
		fprintf(fp, "  (%s)\n", none);
	json_array_foreach(a, i, v)
		fprintf(fp, "  - %s\n", json_string_value(v) != NULL ? json_string_value(v) : "?");
	fprintf(fp, "\n");
}

/* systemd-resolved: what is set on weft's link, in resolvectl terms, or why nothing is. */
static void cli_dns_resolved(FILE *fp, const json_t *h)
{
	const json_t *rs = json_object_get(h, "Resolved");
	const char *link = cli_s(rs, "Link"), *set = cli_s(rs, "Settings"),
		   *err = cli_s(rs, "Error");

	if (json_is_true(json_object_get(rs, "InForce"))) {
		fprintf(fp,
			"Weft DNS: on. systemd-resolved sends the tailnet's names to "
			"100.100.100.100 over %s (resolved mode), set as:\n",
			link);
		for (const char *p = set; *p != '\0';) {
			size_t n = strcspn(p, "\n");
			fprintf(fp, "  %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
		fprintf(fp,
			"Run 'weft set --accept-dns=false' to give %s back to "
			"systemd-resolved.\n\n",
			link);
	} else if (err[0] != '\0') {
		fprintf(fp,
			"Weft DNS: on, but setting %s in systemd-resolved failed (resolved "
			"mode): %s\nweftd retries every few seconds; 100.100.100.100 answers "
			"all the same.\n\n",
			link, err);
	} else {
		fprintf(fp,
			"Weft DNS: on, nothing set on %s in systemd-resolved (resolved mode): "
			"weft is not running, or there is nothing to route to it.\n\n",
			link[0] != '\0' ? link : "weft's link");
	}
}

static void cli_dns_host(FILE *fp, const json_t *st)
{
	const json_t *h = json_object_get(st, "HostDNS");
	const char *mode = cli_s(h, "Mode"), *path = cli_s(h, "Path");

	fprintf(fp, "=== Host DNS (--accept-dns) ===\n\n");
	if (!json_is_true(json_object_get(st, "AcceptDNS"))) {
		fprintf(fp, "Weft DNS: off. The host keeps its own resolver; 100.100.100.100 still "
			    "answers when asked.\n"
			    "Run 'weft set --accept-dns' to have the host use it.\n\n");
	} else if (strcmp(mode, "resolved") == 0) {
		cli_dns_resolved(fp, h);
	} else if (json_is_true(json_object_get(h, "Managed"))) {
		fprintf(fp, "Weft DNS: on. %s points at 100.100.100.100 (%s mode); the original is "
			    "kept in %s.\n"
			    "Run 'weft set --accept-dns=false' to go back to the host's own "
			    "resolver.\n\n",
			path, mode, cli_s(h, "Backup"));
	} else if (strcmp(mode, "direct") == 0) {
		fprintf(fp, "Weft DNS: on, not in force: weft is not running (%s is the host's).\n\n",
			path);
	} else {
		fprintf(fp, "Weft DNS: on, but the host's DNS is left alone (%s mode: %s).\n"
			    "100.100.100.100 answers all the same.\n\n",
			mode, cli_s(h, "Why"));
	}
}

void cli_out_dns_status(FILE *fp, const json_t *st)
{
	const json_t *split = json_object_get(st, "SplitDNS"), *v;
	const char *from = cli_s(st, "ResolversFrom"), *k;

	cli_dns_host(fp, st);
	fprintf(fp, "=== MagicDNS configuration (from the server) ===\n\n");
	if (!json_is_true(json_object_get(st, "Ready"))) {
		fprintf(fp, "Not running: no network map yet.\n\n");
		return;
	}
	if (json_is_true(json_object_get(st, "MagicDNS")))
		fprintf(fp, "MagicDNS: on (suffix = %s), %lld names answered here.\n\n",
			cli_s(st, "BaseDomain"), (long long)cli_i(st, "Names"));
	else
		fprintf(fp, "MagicDNS: off. Names are only forwarded.\n\n");
	cli_dns_list(fp,
		     strcmp(from, "server") == 0 ? "Resolvers (the server's global nameservers)"
		     : strcmp(from, "host") == 0 ? "Resolvers (the host's own, from before weft)"
						 : "Resolvers",
		     json_object_get(st, "Resolvers"), "none: other names get SERVFAIL");
	fprintf(fp, "Split DNS routes:\n");
	if (json_object_size(split) == 0)
		fprintf(fp, "  (none)\n");
	json_object_foreach((json_t *)split, k, v) {
		char line[CLI_COL_MAX] = "";
		const json_t *ns;
		size_t i;
		json_array_foreach(v, i, ns)
			cli_cat(line, sizeof(line), "%s%s", i > 0 ? ", " : "",
				json_string_value(ns) != NULL ? json_string_value(ns) : "?");
		fprintf(fp, "  - %s -> %s\n", k, line);
	}
	fprintf(fp, "\n");
	cli_dns_list(fp, "Search domains", json_object_get(st, "SearchDomains"), "none");
	cli_dns_list(fp, "Host nameservers",
		     json_object_get(json_object_get(st, "HostDNS"), "Nameservers"), "none");
}

void cli_out_dns_query(FILE *fp, const json_t *ans)
{
	static const char *const sections[] = { "Answers", "Authority", "Additional" };
	const char *route = cli_s(ans, "Route");
	const json_t *res = json_object_get(ans, "Resolvers"), *v;
	char line[CLI_COL_MAX] = "";
	size_t i;

	fprintf(fp, "DNS query for \"%s\" (%s) using the tailnet's resolver\n", cli_s(ans, "Name"),
		cli_s(ans, "Type"));
	json_array_foreach(res, i, v)
		cli_cat(line, sizeof(line), "%s%s", i > 0 ? ", " : "",
			json_string_value(v) != NULL ? json_string_value(v) : "?");
	if (strcmp(route, "local") == 0)
		fprintf(fp, "Answered by MagicDNS\n");
	else if (strcmp(route, "split") == 0 || strcmp(route, "forward") == 0)
		fprintf(fp, "Forwarded to %s: %s\n",
			strcmp(route, "split") == 0 ? "the split-DNS resolvers" : "resolvers", line);
	else
		fprintf(fp, "No resolver for this name\n");
	fprintf(fp, "Response code: %s\n\n", cli_s(ans, "Rcode"));
	fprintf(fp, "%-7s %-32s %-7s %-6s %-6s %s\n", "Section", "Name", "TTL", "Class", "Type",
		"Data");
	fprintf(fp, "%-7s %-32s %-7s %-6s %-6s %s\n", "-------", "----", "---", "-----", "----",
		"----");
	for (size_t s = 0; s < 3; s++) {
		json_array_foreach(json_object_get(ans, sections[s]), i, v)
			fprintf(fp, "%-7s %-32s %-7lld %-6s %-6s %s\n",
				s == 0 ? "answer" : s == 1 ? "auth" : "extra", cli_s(v, "Name"),
				(long long)cli_i(v, "TTL"), cli_s(v, "Class"), cli_s(v, "Type"),
				cli_s(v, "Data"));
	}
	if (json_object_get(ans, "Error") != NULL)
		fprintf(fp, "(the reply did not decode past here: %s)\n", cli_s(ans, "Error"));
}
