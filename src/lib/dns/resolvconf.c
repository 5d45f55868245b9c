/* SPDX-License-Identifier: ISC */
/* resolvconf: host DNS integration decisions, without I/O (see resolvconf.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns/dnstable.h"
#include "dns/resolvconf.h"

const char resolvconf_lost_original[] =
	RESOLVCONF_MARKER "\n"
			  "# weftd found its own resolv.conf and no copy of the original, so the\n"
			  "# original could not be put back. Add your nameservers here.\n";

const char *resolvconf_mode_name(enum resolvconf_mode m)
{
	switch (m) {
	case RESOLVCONF_MODE_DIRECT:
		return "direct";
	case RESOLVCONF_MODE_RESOLVED:
		return "resolved";
	case RESOLVCONF_MODE_UNMANAGED:
		return "unmanaged";
	}
	return "unknown";
}

static bool resolvconf_mentions(const char *text, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; text != NULL && i + n <= len; i++)
		if (memcmp(text + i, needle, n) == 0)
			return true;
	return false;
}

enum resolvconf_mode resolvconf_mode_choose(const struct resolvconf_probe *p, const char **why)
{
	bool ours = resolvconf_is_managed(p->content, p->len);
	bool by_resolved = (p->is_symlink && p->link_target != NULL &&
			    strstr(p->link_target, "systemd/resolve") != NULL) ||
			   (!ours && resolvconf_mentions(p->content, p->len, "systemd-resolved"));

	if (p->resolved_running && by_resolved) {
		*why = "systemd-resolved runs and owns resolv.conf";
		return RESOLVCONF_MODE_RESOLVED;
	}
	if (!p->exists) {
		*why = "there is no resolv.conf";
		return RESOLVCONF_MODE_UNMANAGED;
	}
	if (p->is_symlink) {
		*why = "resolv.conf is a symlink, so another program manages it";
		return RESOLVCONF_MODE_UNMANAGED;
	}
	*why = ours ? "resolv.conf is weft's own (a previous run)" : "resolv.conf is a plain file";
	return RESOLVCONF_MODE_DIRECT;
}

bool resolvconf_is_managed(const char *text, size_t len)
{
	size_t n = strlen(RESOLVCONF_MARKER);

	return text != NULL && len >= n && memcmp(text, RESOLVCONF_MARKER, n) == 0 &&
	       (len == n || text[n] == '\n' || text[n] == '\r');
}

static bool resolvconf_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next whitespace-separated word of line[*i..n); false at the end. */
static bool resolvconf_word(const char *line, size_t n, size_t *i, const char **w, size_t *wlen)
{
	while (*i < n && resolvconf_space(line[*i]))
		(*i)++;
	if (*i >= n)
		return false;
	*w = line + *i;
	while (*i < n && !resolvconf_space(line[*i]))
		(*i)++;
	*wlen = (size_t)(line + *i - *w);
	return true;
}

static bool resolvconf_is(const char *w, size_t n, const char *kw)
{
	return n == strlen(kw) && memcmp(w, kw, n) == 0;
}

static void resolvconf_line(const char *line, size_t n, struct resolvconf_parsed *out)
{
	const char *w, *v;
	size_t wl, vl, i = 0;
	char buf[RESOLVCONF_DOMAIN_MAX];

	if (!resolvconf_word(line, n, &i, &w, &wl) || w[0] == '#' || w[0] == ';')
		return;
	if (resolvconf_is(w, wl, "nameserver")) {
		struct netendpoint *e = &out->ns[out->n_ns];

		if (out->n_ns == RESOLVCONF_MAX_NS || !resolvconf_word(line, n, &i, &v, &vl) ||
		    vl >= sizeof(buf))
			return;
		memcpy(buf, v, vl);
		buf[vl] = '\0';
		memset(e, 0, sizeof(*e));
		if (netaddr_parse(buf, &e->addr) == 0) { /* scoped (%eth0) addresses are skipped */
			e->port = DNSTABLE_PORT;
			out->n_ns++;
		}
	} else if (resolvconf_is(w, wl, "search") || resolvconf_is(w, wl, "domain")) {
		out->n_search = 0; /* the last search or domain line wins */
		while (out->n_search < RESOLVCONF_MAX_SEARCH &&
		       resolvconf_word(line, n, &i, &v, &vl))
			if (vl < RESOLVCONF_DOMAIN_MAX && v[0] != '#' && v[0] != ';') {
				memcpy(out->search[out->n_search], v, vl);
				out->search[out->n_search++][vl] = '\0';
			}
	}
}

void resolvconf_parse(const char *text, size_t len, struct resolvconf_parsed *out)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return;
	if (len > RESOLVCONF_FILE_MAX)
		len = RESOLVCONF_FILE_MAX;
	out->managed = resolvconf_is_managed(text, len);
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;

		resolvconf_line(text + i, end - i, out);
		i = end + 1;
	}
}

void resolvconf_config_from_table(const struct dnstable *t, struct resolvconf_config *c,
				  const char **search_buf, size_t search_cap)
{
	size_t n = 0;

	c->ns = &dnstable_quad100_v4;
	c->n_ns = 1;
	for (size_t i = 0; t != NULL && i < dnstable_search_count(t) && n < search_cap; i++)
		search_buf[n++] = dnstable_search_at(t, i);
	c->search = search_buf;
	c->n_search = n;
}

int resolvconf_render(const struct resolvconf_config *c, char *buf, size_t cap)
{
	size_t o = 0;
	int w;

#define RESOLVCONF_PUT(...)                                  \
	do {                                                 \
		w = snprintf(buf + o, cap - o, __VA_ARGS__); \
		if (w < 0 || (size_t)w >= cap - o)           \
			return -ENOSPC;                      \
		o += (size_t)w;                              \
	} while (0)

	if (cap == 0)
		return -ENOSPC;
	RESOLVCONF_PUT("%s\n", RESOLVCONF_MARKER);
	RESOLVCONF_PUT("# weftd manages this file while it runs and puts the original back\n"
		       "# when it stops; the original is kept in weftd's state directory.\n\n");
	for (size_t i = 0; i < c->n_ns; i++) {
		char a[NETADDR_STRLEN];
		RESOLVCONF_PUT("nameserver %s\n", netaddr_format(&c->ns[i], a, sizeof(a)));
	}
	if (c->n_search > 0) {
		RESOLVCONF_PUT("search");
		for (size_t i = 0; i < c->n_search; i++) {
			if (c->search[i][0] == '\0' || strpbrk(c->search[i], " \t\r\n#;") != NULL)
				return -EINVAL;
			RESOLVCONF_PUT(" %s", c->search[i]);
		}
		RESOLVCONF_PUT("\n");
	}
#undef RESOLVCONF_PUT
	return (int)o;
}

static void resolvconf_plan_clear(struct resolvconf_plan *p)
{
	memset(p, 0, sizeof(*p));
}

void resolvconf_plan_start(const struct resolvconf_files *f, struct resolvconf_plan *p)
{
	bool ours = f->cur_exists && resolvconf_is_managed(f->cur, f->cur_len);

	resolvconf_plan_clear(p);
	if (f->backup_exists && ours) {
		p->write = true;
		p->content = f->backup;
		p->len = f->backup_len;
		p->remove_backup = true;
		p->note = "putting back the resolv.conf a previous run replaced";
	} else if (f->backup_exists) {
		p->remove_backup = true;
		p->note = "resolv.conf is not weft's: dropping the backup a previous run left";
	} else if (ours) {
		p->write = true;
		p->content = resolvconf_lost_original;
		p->len = strlen(resolvconf_lost_original);
		p->note = "resolv.conf is weft's and no backup exists: the original is lost";
	}
}

void resolvconf_plan_apply(const struct resolvconf_files *f, const char *managed, size_t len,
			   struct resolvconf_plan *p)
{
	bool ours = f->cur_exists && resolvconf_is_managed(f->cur, f->cur_len);

	resolvconf_plan_clear(p);
	if (!f->cur_exists) {
		p->note = "there is no resolv.conf to manage";
		return;
	}
	if (ours && f->cur_len == len && memcmp(f->cur, managed, len) == 0 && f->backup_exists)
		return; /* already in force */
	if (!ours) {
		p->save_backup = true; /* the first apply, or someone rewrote the file since */
		if (f->backup_exists)
			p->note =
				"resolv.conf was rewritten by another program: keeping that as the original";
	} else if (!f->backup_exists) {
		p->note = "resolv.conf is weft's and no backup exists: the original is lost";
	}
	p->write = true;
	p->content = managed;
	p->len = len;
}

void resolvconf_plan_restore(const struct resolvconf_files *f, struct resolvconf_plan *p)
{
	bool ours = f->cur_exists && resolvconf_is_managed(f->cur, f->cur_len);

	resolvconf_plan_clear(p);
	if (ours && f->backup_exists) {
		p->write = true;
		p->content = f->backup;
		p->len = f->backup_len;
		p->remove_backup = true;
	} else if (ours) {
		p->write = true;
		p->content = resolvconf_lost_original;
		p->len = strlen(resolvconf_lost_original);
		p->note = "no backup of the original resolv.conf: leaving one without nameservers";
	} else if (f->backup_exists) {
		p->remove_backup = true;
		p->note = "resolv.conf was changed by another program: leaving it as it is";
	}
}
