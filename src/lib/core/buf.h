/* SPDX-License-Identifier: ISC */
/*
 * buf: a bounds-checked read cursor over untrusted bytes and a writer into a
 * fixed or growable buffer. Every getter fails (and latches the cursor's error)
 * instead of reading past the end, so parsers check once at the end if they like.
 */
#ifndef WEFT_CORE_BUF_H
#define WEFT_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf_cursor {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool err;
};

static inline void buf_cursor_init(struct buf_cursor *c, const void *p, size_t len)
{
	c->p = p;
	c->len = len;
	c->off = 0;
	c->err = false;
}

size_t buf_remaining(const struct buf_cursor *c);
int buf_get_u8(struct buf_cursor *c, uint8_t *v) __attribute__((warn_unused_result));
int buf_get_be16(struct buf_cursor *c, uint16_t *v) __attribute__((warn_unused_result));
int buf_get_be32(struct buf_cursor *c, uint32_t *v) __attribute__((warn_unused_result));
int buf_get_be64(struct buf_cursor *c, uint64_t *v) __attribute__((warn_unused_result));
int buf_get_le16(struct buf_cursor *c, uint16_t *v) __attribute__((warn_unused_result));
int buf_get_le32(struct buf_cursor *c, uint32_t *v) __attribute__((warn_unused_result));
int buf_get_le64(struct buf_cursor *c, uint64_t *v) __attribute__((warn_unused_result));
int buf_get_bytes(struct buf_cursor *c, void *dst, size_t n) __attribute__((warn_unused_result));
/* Borrows n bytes in place (no copy); *out points into the cursor's buffer. */
int buf_get_ref(struct buf_cursor *c, const uint8_t **out, size_t n)
	__attribute__((warn_unused_result));
int buf_skip(struct buf_cursor *c, size_t n) __attribute__((warn_unused_result));

/*
 * Writer. With `growable`, the buffer is heap-owned and reallocated up to
 * `max` bytes; otherwise it writes into caller memory of `cap` bytes. Errors
 * latch: once a put fails, w->err stays set and later puts do nothing.
 */
struct buf_writer {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max;
	bool growable;
	bool err;
};

void buf_writer_fixed(struct buf_writer *w, void *p, size_t cap);
void buf_writer_growable(struct buf_writer *w, size_t max);
/* Frees a growable writer's buffer; no-op for fixed ones. */
void buf_writer_free(struct buf_writer *w);
/* Takes ownership of a growable writer's buffer (caller frees). */
uint8_t *buf_writer_steal(struct buf_writer *w, size_t *len);

int buf_put_u8(struct buf_writer *w, uint8_t v);
int buf_put_be16(struct buf_writer *w, uint16_t v);
int buf_put_be32(struct buf_writer *w, uint32_t v);
int buf_put_be64(struct buf_writer *w, uint64_t v);
int buf_put_le32(struct buf_writer *w, uint32_t v);
int buf_put_le64(struct buf_writer *w, uint64_t v);
int buf_put_bytes(struct buf_writer *w, const void *p, size_t n);
int buf_put_str(struct buf_writer *w, const char *s);
int buf_printf(struct buf_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Unaligned little/big-endian loads and stores for hot paths. */
static inline uint32_t buf_load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t buf_load_le64(const uint8_t *p)
{
	return (uint64_t)buf_load_le32(p) | (uint64_t)buf_load_le32(p + 4) << 32;
}
static inline void buf_store_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
static inline void buf_store_le64(uint8_t *p, uint64_t v)
{
	buf_store_le32(p, (uint32_t)v);
	buf_store_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint16_t buf_load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t buf_load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static inline void buf_store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void buf_store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void buf_store_be64(uint8_t *p, uint64_t v)
{
	buf_store_be32(p, (uint32_t)(v >> 32));
	buf_store_be32(p + 4, (uint32_t)v);
}

#endif
