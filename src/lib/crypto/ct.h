/* SPDX-License-Identifier: ISC */
/*
 * ct: constant-time comparisons for MACs, keys and tags. Never use memcmp on
 * secret or attacker-influenced authenticators.
 */
#ifndef WEFT_CRYPTO_CT_H
#define WEFT_CRYPTO_CT_H

#include <stdbool.h>
#include <stddef.h>

/* True when the n bytes at a and b are equal; time depends only on n. */
bool ct_memeq(const void *a, const void *b, size_t n);
/* True when all n bytes are zero; time depends only on n. */
bool ct_is_zero(const void *p, size_t n);

#endif
