/* SPDX-License-Identifier: ISC */
/*
 * dnsconf: weftd's hands on the host's DNS (the privileged part a later
 * privilege split moves to the parent). It carries out lib/dns/resolvconf's
 * plans on the files: resolv.conf rewritten in place (it may be a bind
 * mount), the original kept in weftd's state directory, put back on restore
 * and, after a crash, at the next start.
 */
#ifndef WEFT_WEFTD_DNSCONF_H
#define WEFT_WEFTD_DNSCONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/netaddr.h"
#include "dns/resolvconf.h"

#define DNSCONF_RESOLV_CONF "/etc/resolv.conf"
#define DNSCONF_BACKUP_NAME "resolv.conf.pre-weft"
/* systemd-resolved's varlink socket: present while it runs. */
#define DNSCONF_RESOLVED_PROBE "/run/systemd/resolve/io.systemd.Resolve"

struct dnsresolved;

struct dnsconf {
	char resolv[PATH_MAX];
	char backup[PATH_MAX];
	char resolved_probe[PATH_MAX];
	enum resolvconf_mode mode;
	const char *why;
	bool applied;	/* our file is in force */
	char note[256]; /* what the last call did that the log should say */
	/* Resolved mode: weft's link in systemd-resolved (dnsresolved.h); owned by the user. */
	struct dnsresolved *resolved;
};

/* Paths only; nothing is touched. `resolved_probe` NULL = the default. */
int dnsconf_init(struct dnsconf *d, const char *resolv_path, const char *statedir,
		 const char *resolved_probe) __attribute__((warn_unused_result));

/* Looks at the host and picks the mode (d->mode, d->why). */
int dnsconf_probe(struct dnsconf *d) __attribute__((warn_unused_result));

/* At start: puts back what a crashed run left (whatever the mode is now). */
int dnsconf_recover(struct dnsconf *d) __attribute__((warn_unused_result));

/* The host's own nameservers: from the backup while ours is in force, else from the file. */
int dnsconf_os_nameservers(struct dnsconf *d, struct netendpoint *out, size_t cap, size_t *n)
	__attribute__((warn_unused_result));

/*
 * Direct mode: writes the managed file for `c` (no-op when it is already in
 * force; a file another program rewrote becomes the new original).
 * -ENOTSUP in the other modes.
 */
int dnsconf_apply(struct dnsconf *d, const struct resolvconf_config *c)
	__attribute__((warn_unused_result));

/* Puts the original back (weft down, exit, --accept-dns=false). */
int dnsconf_restore(struct dnsconf *d) __attribute__((warn_unused_result));

#endif
