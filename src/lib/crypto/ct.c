/* SPDX-License-Identifier: ISC */
/* ct: libsodium's constant-time compare and zero test. */
#include <sodium.h>

#include "crypto/ct.h"

bool ct_memeq(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

bool ct_is_zero(const void *p, size_t n)
{
	return sodium_is_zero(p, n) == 1;
}
