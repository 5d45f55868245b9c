/* SPDX-License-Identifier: ISC */
/*
 * names: MagicDNS names for nodes. A reported hostname becomes one DNS label
 * (lower case, letters, digits and '-', at most 63 bytes), and a label taken
 * by another node gets the first free suffix: host, host-1, host-2, ...
 */
#ifndef WEFT_SERVER_NAMES_H
#define WEFT_SERVER_NAMES_H

#include <stdbool.h>

#define SRVNAME_MAX 63

/* Sanitises a hostname into out (always a valid label; "node" when nothing is left). */
void srvname_sanitize(const char *hostname, char out[static SRVNAME_MAX + 1]);
/* Whether s is already a valid label (what an admin's `nodes rename` must give). */
bool srvname_is_valid(const char *s);
/*
 * The first of base, base-1, base-2, ... for which taken(name, arg) is false,
 * shortening base so the suffix fits. -ENOSPC after 100000 tries.
 */
int srvname_unique(const char *base, bool (*taken)(const char *name, void *arg), void *arg,
		   char out[static SRVNAME_MAX + 1]) __attribute__((warn_unused_result));

#endif
