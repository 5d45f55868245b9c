/* SPDX-License-Identifier: ISC */
/*
 * arena: a bump allocator for per-request work (JSON decode, policy compile,
 * map build): many small allocations, one free. Not thread-safe.
 */
#ifndef WEFT_CORE_ARENA_H
#define WEFT_CORE_ARENA_H

#include <stddef.h>

struct arena;

int arena_new(size_t chunk, struct arena **out) __attribute__((warn_unused_result));
void arena_free(struct arena *a);
/* Zeroed, 16-byte aligned; NULL on overflow or ENOMEM. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t nmemb, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* Bytes handed out so far (for limits and metrics). */
size_t arena_used(const struct arena *a);

#endif
