/* SPDX-License-Identifier: ISC */
/* dnsconf: resolv.conf managed in place with a backup in the state directory (see dnsconf.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "weftd/dnsconf.h"

int dnsconf_init(struct dnsconf *d, const char *resolv_path, const char *statedir,
		 const char *resolved_probe)
{
	memset(d, 0, sizeof(*d));
	if (snprintf(d->resolv, sizeof(d->resolv), "%s", resolv_path) >= (int)sizeof(d->resolv) ||
	    snprintf(d->backup, sizeof(d->backup), "%s/%s", statedir, DNSCONF_BACKUP_NAME) >=
		    (int)sizeof(d->backup) ||
	    snprintf(d->resolved_probe, sizeof(d->resolved_probe), "%s",
		     resolved_probe != NULL ? resolved_probe : DNSCONF_RESOLVED_PROBE) >=
		    (int)sizeof(d->resolved_probe))
		return -ENAMETOOLONG;
	d->mode = RESOLVCONF_MODE_UNMANAGED;
	d->why = "not probed yet";
	return 0;
}

/* A file's content, or exists = false; errors other than ENOENT are returned. */
static int dnsconf_read(const char *path, bool *exists, char **out, size_t *len)
{
	uint8_t *p = NULL;
	int r = atomicfile_read(path, RESOLVCONF_FILE_MAX, &p, len);

	*out = NULL;
	*exists = r == 0;
	if (r == -ENOENT) {
		*len = 0;
		return 0;
	}
	if (r < 0)
		return r;
	*out = (char *)p;
	return 0;
}

struct dnsconf_files {
	struct resolvconf_files f;
	char *cur, *backup;
};

static int dnsconf_files_read(const struct dnsconf *d, struct dnsconf_files *x)
{
	int r;

	memset(x, 0, sizeof(*x));
	if ((r = dnsconf_read(d->resolv, &x->f.cur_exists, &x->cur, &x->f.cur_len)) < 0 ||
	    (r = dnsconf_read(d->backup, &x->f.backup_exists, &x->backup, &x->f.backup_len)) < 0) {
		free(x->cur);
		return r;
	}
	x->f.cur = x->cur;
	x->f.backup = x->backup;
	return 0;
}

static void dnsconf_files_free(struct dnsconf_files *x)
{
	free(x->cur);
	free(x->backup);
}

/* Carries out a plan in its crash-safe order. */
static int dnsconf_run(struct dnsconf *d, const struct dnsconf_files *x,
		       const struct resolvconf_plan *p)
{
	int r;

	snprintf(d->note, sizeof(d->note), "%s", p->note != NULL ? p->note : "");
	if (p->save_backup && (r = atomicfile_write(d->backup, x->f.cur, x->f.cur_len, 0600)) < 0)
		return r;
	if (p->write && (r = atomicfile_rewrite_inplace(d->resolv, p->content, p->len)) < 0)
		return r;
	if (p->remove_backup && unlink(d->backup) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int dnsconf_probe(struct dnsconf *d)
{
	struct resolvconf_probe p = { 0 };
	struct stat sb;
	char target[PATH_MAX], *content = NULL;
	size_t len = 0;
	bool exists;
	int r;

	if (lstat(d->resolv, &sb) == 0) {
		p.exists = true;
		if (S_ISLNK(sb.st_mode)) {
			ssize_t n = readlink(d->resolv, target, sizeof(target) - 1);
			p.is_symlink = true;
			if (n >= 0) {
				target[n] = '\0';
				p.link_target = target;
			}
		}
	} else if (errno != ENOENT) {
		return -errno;
	}
	if (p.exists && (r = dnsconf_read(d->resolv, &exists, &content, &len)) < 0 && r != -ENOENT)
		return r;
	p.content = content;
	p.len = len;
	p.resolved_running = access(d->resolved_probe, F_OK) == 0;
	d->mode = resolvconf_mode_choose(&p, &d->why);
	free(content);
	return 0;
}

int dnsconf_recover(struct dnsconf *d)
{
	struct dnsconf_files x;
	struct resolvconf_plan p;
	int r;

	if ((r = dnsconf_files_read(d, &x)) < 0)
		return r;
	resolvconf_plan_start(&x.f, &p);
	r = dnsconf_run(d, &x, &p);
	dnsconf_files_free(&x);
	d->applied = false;
	return r;
}

int dnsconf_os_nameservers(struct dnsconf *d, struct netendpoint *out, size_t cap, size_t *n)
{
	struct dnsconf_files x;
	struct resolvconf_parsed ps;
	int r;

	*n = 0;
	if ((r = dnsconf_files_read(d, &x)) < 0)
		return r;
	if (x.f.backup_exists && resolvconf_is_managed(x.f.cur, x.f.cur_len))
		resolvconf_parse(x.f.backup, x.f.backup_len, &ps);
	else
		resolvconf_parse(x.f.cur, x.f.cur_len, &ps);
	for (size_t i = 0; i < ps.n_ns && *n < cap; i++)
		out[(*n)++] = ps.ns[i];
	dnsconf_files_free(&x);
	return 0;
}

int dnsconf_apply(struct dnsconf *d, const struct resolvconf_config *c)
{
	struct dnsconf_files x;
	struct resolvconf_plan p;
	char buf[8192];
	int len, r;

	if (d->mode != RESOLVCONF_MODE_DIRECT)
		return -ENOTSUP;
	if ((len = resolvconf_render(c, buf, sizeof(buf))) < 0)
		return len;
	if ((r = dnsconf_files_read(d, &x)) < 0)
		return r;
	resolvconf_plan_apply(&x.f, buf, (size_t)len, &p);
	r = dnsconf_run(d, &x, &p);
	if (r == 0 && x.f.cur_exists)
		d->applied = true;
	dnsconf_files_free(&x);
	return r;
}

int dnsconf_restore(struct dnsconf *d)
{
	struct dnsconf_files x;
	struct resolvconf_plan p;
	int r;

	if ((r = dnsconf_files_read(d, &x)) < 0)
		return r;
	resolvconf_plan_restore(&x.f, &p);
	r = dnsconf_run(d, &x, &p);
	if (r == 0)
		d->applied = false;
	dnsconf_files_free(&x);
	return r;
}
