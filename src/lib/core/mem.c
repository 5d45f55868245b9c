/* SPDX-License-Identifier: ISC */
/* mem: wiping via libsodium, checked growth of arrays. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/mem.h"

void mem_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		sodium_memzero(p, n);
}

void *mem_calloc(size_t nmemb, size_t size)
{
	return calloc(nmemb, size);
}

void *mem_reallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, nmemb * size);
}

int mem_grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 8;
	void *n;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	n = mem_reallocarray(*arr, ncap, size);
	if (n == NULL)
		return -ENOMEM;
	memset((char *)n + *cap * size, 0, (ncap - *cap) * size);
	*arr = n;
	*cap = ncap;
	return 0;
}

char *mem_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}
