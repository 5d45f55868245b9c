/* SPDX-License-Identifier: ISC */
/*
 * dnsresolved: weftd's hands on systemd-resolved (the privileged part a later
 * privilege split moves to the parent). It brings weft's link to the settings
 * lib/dns/resolved decided, by running resolvectl(1) with fixed argv lists (no
 * shell), remembers what is in force so an unchanged map runs nothing, gives
 * the link back on revert, and logs each distinct failure once.
 */
#ifndef WEFT_WEFTD_DNSRESOLVED_H
#define WEFT_WEFTD_DNSRESOLVED_H

#include <stdbool.h>
#include <stddef.h>

#include "dns/resolved.h"

#define DNSRESOLVED_PROG "/usr/bin/resolvectl" /* Debian's systemd-resolved package */
#define DNSRESOLVED_TIMEOUT_MS 5000	       /* per command; resolvectl's own is 25 s */

struct dnsresolved;

/*
 * Runs one command: `argv` is NULL-terminated, argv[0] the program's path.
 * Returns 0 when it exited 0, else a negative errno with `err` saying why.
 * The default forks and execs; tests inject their own (systemd does not run
 * on the build machines).
 */
struct dnsresolved_runner {
	int (*run)(void *arg, const char *const *argv, char *err, size_t errlen);
	void *arg;
};

struct dnsresolved_config {
	const char *prog;			 /* NULL = DNSRESOLVED_PROG */
	unsigned timeout_ms;			 /* 0 = DNSRESOLVED_TIMEOUT_MS */
	const struct dnsresolved_runner *runner; /* NULL = fork and exec `prog` */
};

int dnsresolved_new(const struct dnsresolved_config *c, struct dnsresolved **out)
	__attribute__((warn_unused_result));
void dnsresolved_free(struct dnsresolved *r);

/*
 * Brings the link to `l` (RESOLVED_SET or RESOLVED_REVERT). Nothing runs when
 * `l` is already in force. On failure the link may be half set: it counts as
 * ours until a revert succeeds, and the next apply runs everything again.
 */
int dnsresolved_apply(struct dnsresolved *r, const struct resolved_link *l)
	__attribute__((warn_unused_result));
/* Gives the link back if anything of ours may be on it (a link that is gone took it along). */
int dnsresolved_revert(struct dnsresolved *r) __attribute__((warn_unused_result));

bool dnsresolved_in_force(const struct dnsresolved *r);	     /* the last SET went through */
bool dnsresolved_failed(const struct dnsresolved *r);	     /* the last apply or revert failed */
const char *dnsresolved_ifname(const struct dnsresolved *r); /* "" before the first apply */
/* What is in force, as resolvectl command lines ("" when nothing is). */
const char *dnsresolved_settings(const struct dnsresolved *r);
const char *dnsresolved_error(const struct dnsresolved *r); /* the last failure, "" */

#endif
