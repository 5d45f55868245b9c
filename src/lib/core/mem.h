/* SPDX-License-Identifier: ISC */
/*
 * mem: secret wiping and overflow-checked allocation. Every key, shared secret
 * and chaining value is wiped through mem_wipe before its memory is reused.
 */
#ifndef WEFT_CORE_MEM_H
#define WEFT_CORE_MEM_H

#include <stddef.h>

/* Zeroes n bytes in a way the compiler may not elide (sodium_memzero). */
void mem_wipe(void *p, size_t n);

/* calloc/reallocarray that return NULL (errno ENOMEM) on overflow. */
void *mem_calloc(size_t nmemb, size_t size);
void *mem_reallocarray(void *p, size_t nmemb, size_t size);

/*
 * Grows *arr (of *cap elements of `size` bytes) so that it holds at least
 * `need` elements, doubling; new elements are zeroed. Returns 0 or -ENOMEM
 * (leaving *arr and *cap untouched).
 */
int mem_grow(void **arr, size_t *cap, size_t need, size_t size) __attribute__((warn_unused_result));

/* strdup that returns NULL on NULL. */
char *mem_strdup(const char *s);

#endif
