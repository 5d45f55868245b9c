/* SPDX-License-Identifier: ISC */
/* numparse: strict numbers, durations and booleans (see numparse.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/numparse.h"

int numparse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int numparse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int r = numparse_u64(s, min, max, &v);

	if (r == 0)
		*out = (uint32_t)v;
	return r;
}

int numparse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	long long v;
	char *end;
	const char *d = s;

	if (s == NULL)
		return -EINVAL;
	if (*d == '-')
		d++;
	if (!isdigit((unsigned char)*d))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

struct numparse_unit {
	const char *name;
	uint64_t ns;
};

static const struct numparse_unit numparse_units[] = {
	{ "ns", 1ULL },
	{ "us", 1000ULL },
	{ "\xc2\xb5s", 1000ULL },
	{ "ms", 1000000ULL },
	{ "s", 1000000000ULL },
	{ "m", 60ULL * 1000000000ULL },
	{ "h", 3600ULL * 1000000000ULL },
	{ "d", 86400ULL * 1000000000ULL },
	{ "w", 7ULL * 86400ULL * 1000000000ULL },
};

static const struct numparse_unit *numparse_unit_find(const char *s, size_t *len)
{
	const struct numparse_unit *best = NULL;
	size_t bestlen = 0;

	/* Longest match first so that "ms" is not read as "m" followed by "s". */
	for (size_t i = 0; i < sizeof(numparse_units) / sizeof(numparse_units[0]); i++) {
		size_t n = strlen(numparse_units[i].name);
		if (n > bestlen && strncmp(s, numparse_units[i].name, n) == 0) {
			best = &numparse_units[i];
			bestlen = n;
		}
	}
	*len = bestlen;
	return best;
}

int numparse_duration_ns(const char *s, uint64_t *out)
{
	uint64_t total = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	while (*s != '\0') {
		uint64_t whole = 0, frac = 0, fracdiv = 1, part;
		const struct numparse_unit *u;
		size_t ulen;
		bool digits = false;

		while (isdigit((unsigned char)*s)) {
			if (whole > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			whole = whole * 10 + (uint64_t)(*s++ - '0');
			digits = true;
		}
		if (*s == '.') {
			s++;
			while (isdigit((unsigned char)*s)) {
				if (fracdiv < 1000000000ULL) {
					frac = frac * 10 + (uint64_t)(*s - '0');
					fracdiv *= 10;
				}
				s++;
				digits = true;
			}
		}
		if (!digits)
			return -EINVAL;
		u = numparse_unit_find(s, &ulen);
		if (u == NULL)
			return -EINVAL;
		s += ulen;
		if (whole > UINT64_MAX / u->ns)
			return -ERANGE;
		part = whole * u->ns;
		/* frac < fracdiv <= 1e9: both products stay below 2^64. */
		part += frac * (u->ns / fracdiv) + (frac * (u->ns % fracdiv)) / fracdiv;
		if (part > UINT64_MAX - total)
			return -ERANGE;
		total += part;
	}
	*out = total;
	return 0;
}

int numparse_bool(const char *s, bool *out)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };

	if (s == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(s, t[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, f[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}
