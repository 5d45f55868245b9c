/* SPDX-License-Identifier: ISC */
/* names: hostname sanitising and unique MagicDNS labels (see names.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "weft-server/names.h"

#define SRVNAME_TRIES 100000

void srvname_sanitize(const char *hostname, char out[static SRVNAME_MAX + 1])
{
	size_t n = 0;
	bool dash = false;

	/* Only the first label names the node: "spark.lan" is "spark". */
	for (const char *p = hostname; *p != '\0' && *p != '.' && n < SRVNAME_MAX; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (dash && n > 0) {
				/* A dash needs a character after it: no room for both, stop. */
				if (n + 2 > SRVNAME_MAX)
					break;
				out[n++] = '-';
			}
			dash = false;
			out[n++] = c;
		} else {
			/* Anything else ('-', '_', spaces, UTF-8) separates words with one '-'. */
			dash = true;
		}
	}
	out[n] = '\0';
	if (n == 0)
		strcpy(out, "node");
}

bool srvname_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SRVNAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

int srvname_unique(const char *base, bool (*taken)(const char *name, void *arg), void *arg,
		   char out[static SRVNAME_MAX + 1])
{
	char suffix[16];

	snprintf(out, SRVNAME_MAX + 1, "%s", base);
	if (!taken(out, arg))
		return 0;
	for (unsigned i = 1; i <= SRVNAME_TRIES; i++) {
		size_t sl = (size_t)snprintf(suffix, sizeof(suffix), "-%u", i);
		size_t bl = strlen(base);

		if (bl + sl > SRVNAME_MAX)
			bl = SRVNAME_MAX - sl;
		while (bl > 0 && base[bl - 1] == '-')
			bl--;
		snprintf(out, SRVNAME_MAX + 1, "%.*s%s", (int)bl, base, suffix);
		if (!taken(out, arg))
			return 0;
	}
	return -ENOSPC;
}
