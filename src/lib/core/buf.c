/* SPDX-License-Identifier: ISC */
/* buf: bounds-checked cursor and writer (see buf.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

size_t buf_remaining(const struct buf_cursor *c)
{
	return c->len - c->off;
}

static int buf_take(struct buf_cursor *c, size_t n, const uint8_t **out)
{
	if (c->err || n > c->len - c->off) {
		c->err = true;
		return -EMSGSIZE;
	}
	*out = c->p + c->off;
	c->off += n;
	return 0;
}

int buf_get_u8(struct buf_cursor *c, uint8_t *v)
{
	const uint8_t *p;

	if (buf_take(c, 1, &p) < 0)
		return -EMSGSIZE;
	*v = p[0];
	return 0;
}

int buf_get_be16(struct buf_cursor *c, uint16_t *v)
{
	const uint8_t *p;

	if (buf_take(c, 2, &p) < 0)
		return -EMSGSIZE;
	*v = buf_load_be16(p);
	return 0;
}

int buf_get_be32(struct buf_cursor *c, uint32_t *v)
{
	const uint8_t *p;

	if (buf_take(c, 4, &p) < 0)
		return -EMSGSIZE;
	*v = buf_load_be32(p);
	return 0;
}

int buf_get_be64(struct buf_cursor *c, uint64_t *v)
{
	const uint8_t *p;

	if (buf_take(c, 8, &p) < 0)
		return -EMSGSIZE;
	*v = (uint64_t)buf_load_be32(p) << 32 | buf_load_be32(p + 4);
	return 0;
}

int buf_get_le16(struct buf_cursor *c, uint16_t *v)
{
	const uint8_t *p;

	if (buf_take(c, 2, &p) < 0)
		return -EMSGSIZE;
	*v = (uint16_t)(p[0] | p[1] << 8);
	return 0;
}

int buf_get_le32(struct buf_cursor *c, uint32_t *v)
{
	const uint8_t *p;

	if (buf_take(c, 4, &p) < 0)
		return -EMSGSIZE;
	*v = buf_load_le32(p);
	return 0;
}

int buf_get_le64(struct buf_cursor *c, uint64_t *v)
{
	const uint8_t *p;

	if (buf_take(c, 8, &p) < 0)
		return -EMSGSIZE;
	*v = buf_load_le64(p);
	return 0;
}

int buf_get_bytes(struct buf_cursor *c, void *dst, size_t n)
{
	const uint8_t *p;

	if (buf_take(c, n, &p) < 0)
		return -EMSGSIZE;
	if (n > 0)
		memcpy(dst, p, n);
	return 0;
}

int buf_get_ref(struct buf_cursor *c, const uint8_t **out, size_t n)
{
	return buf_take(c, n, out);
}

int buf_skip(struct buf_cursor *c, size_t n)
{
	const uint8_t *p;

	return buf_take(c, n, &p);
}

void buf_writer_fixed(struct buf_writer *w, void *p, size_t cap)
{
	w->p = p;
	w->len = 0;
	w->cap = cap;
	w->max = cap;
	w->growable = false;
	w->err = false;
}

void buf_writer_growable(struct buf_writer *w, size_t max)
{
	w->p = NULL;
	w->len = 0;
	w->cap = 0;
	w->max = max;
	w->growable = true;
	w->err = false;
}

void buf_writer_free(struct buf_writer *w)
{
	if (w->growable) {
		free(w->p);
		w->p = NULL;
		w->cap = w->len = 0;
	}
}

uint8_t *buf_writer_steal(struct buf_writer *w, size_t *len)
{
	uint8_t *p = w->p;

	*len = w->len;
	w->p = NULL;
	w->cap = w->len = 0;
	return p;
}

static int buf_reserve(struct buf_writer *w, size_t n)
{
	size_t ncap;
	uint8_t *np;

	if (w->err)
		return -ENOSPC;
	if (n <= w->cap - w->len)
		return 0;
	if (!w->growable || n > w->max - w->len) {
		w->err = true;
		return -ENOSPC;
	}
	ncap = w->cap ? w->cap : 256;
	while (ncap - w->len < n)
		ncap = ncap > w->max / 2 ? w->max : ncap * 2;
	np = realloc(w->p, ncap);
	if (np == NULL) {
		w->err = true;
		return -ENOMEM;
	}
	w->p = np;
	w->cap = ncap;
	return 0;
}

int buf_put_bytes(struct buf_writer *w, const void *p, size_t n)
{
	int r = buf_reserve(w, n);

	if (r < 0)
		return r;
	if (n > 0)
		memcpy(w->p + w->len, p, n);
	w->len += n;
	return 0;
}

int buf_put_u8(struct buf_writer *w, uint8_t v)
{
	return buf_put_bytes(w, &v, 1);
}

int buf_put_be16(struct buf_writer *w, uint16_t v)
{
	uint8_t b[2];

	buf_store_be16(b, v);
	return buf_put_bytes(w, b, sizeof(b));
}

int buf_put_be32(struct buf_writer *w, uint32_t v)
{
	uint8_t b[4];

	buf_store_be32(b, v);
	return buf_put_bytes(w, b, sizeof(b));
}

int buf_put_be64(struct buf_writer *w, uint64_t v)
{
	uint8_t b[8];

	buf_store_be64(b, v);
	return buf_put_bytes(w, b, sizeof(b));
}

int buf_put_le32(struct buf_writer *w, uint32_t v)
{
	uint8_t b[4];

	buf_store_le32(b, v);
	return buf_put_bytes(w, b, sizeof(b));
}

int buf_put_le64(struct buf_writer *w, uint64_t v)
{
	uint8_t b[8];

	buf_store_le64(b, v);
	return buf_put_bytes(w, b, sizeof(b));
}

int buf_put_str(struct buf_writer *w, const char *s)
{
	return buf_put_bytes(w, s, strlen(s));
}

int buf_printf(struct buf_writer *w, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	if (w->err)
		return -ENOSPC;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		w->err = true;
		return -EINVAL;
	}
	/* +1 for vsnprintf's terminator, which is not counted in len. */
	r = buf_reserve(w, (size_t)n + 1);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)w->p + w->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	w->len += (size_t)n;
	return 0;
}
