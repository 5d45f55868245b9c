/* SPDX-License-Identifier: ISC */
/*
 * jsonx: jansson helpers for untrusted JSON. Strict loading (no duplicate keys,
 * no trailing data, bounded size), declarative field tables that refuse unknown
 * fields and wrong types with the field's path in the message, typed getters,
 * RFC 3339 times, and a string escaper for writers that build JSON text directly.
 */
#ifndef WEFT_JSON_JSONX_H
#define WEFT_JSON_JSONX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf_writer;

#define JSONX_ERR_LEN 192
#define JSONX_PATH_LEN 96
/* "2006-01-02T15:04:05Z" and a terminator. */
#define JSONX_TIME_LEN 21

/* An error message naming the offending field: `Peers[3].Key: expected string`. */
struct jsonx_err {
	char msg[JSONX_ERR_LEN];
};

enum jsonx_type {
	JSONX_ANY = 0,
	JSONX_STRING,
	JSONX_BOOL,
	JSONX_INT,    /* a JSON integer */
	JSONX_UINT,   /* a non-negative JSON integer, or (JSONX_F_STRNUM) a decimal string */
	JSONX_ARRAY,
	JSONX_OBJECT,
};

enum {
	JSONX_F_REQUIRED = 1U << 0, /* absent is an error */
	JSONX_F_NULL = 1U << 1,	    /* null is accepted (and reads as absent) */
	JSONX_F_STRNUM = 1U << 2,   /* JSONX_UINT may be a decimal string (protobuf JSON's uint64) */
};

/*
 * One entry of a field table. `max` bounds a string's byte length or an
 * array's item count (0: JSONX_DEFAULT_MAX).
 */
struct jsonx_field {
	const char *name;
	uint8_t type;
	uint8_t flags;
	uint32_t max;
};
#define JSONX_DEFAULT_MAX 4096

/*
 * Parses `len` bytes as one JSON value: duplicate keys, NUL in strings and
 * trailing data are errors. *out is a new reference.
 */
int jsonx_load(const void *buf, size_t len, json_t **out, struct jsonx_err *err)
	__attribute__((warn_unused_result));

/*
 * Checks `obj` against `fields`: it must be an object, every key must be in
 * the table, required fields present, types and bounds as declared. On
 * success out[i] is field i's value (borrowed) or NULL when absent or null.
 * `path` prefixes error messages ("" at the top).
 */
int jsonx_check(const json_t *obj, const struct jsonx_field *fields, size_t n, const json_t **out,
		const char *path, struct jsonx_err *err) __attribute__((warn_unused_result));

/* Sets err to "path.name: message" (path may be empty). Returns -EINVAL. */
int jsonx_fail(struct jsonx_err *err, const char *path, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Joins path and a field name ("a.b") or an index ("a[3]") into out. */
void jsonx_path_field(char out[static JSONX_PATH_LEN], const char *path, const char *name);
void jsonx_path_index(char out[static JSONX_PATH_LEN], const char *path, size_t i);

/* Getters for values already checked by jsonx_check (v may be NULL: defaults). */
const char *jsonx_str(const json_t *v); /* NULL when absent */
bool jsonx_bool(const json_t *v);	/* false when absent */
int64_t jsonx_int(const json_t *v);	/* 0 when absent */
/* A JSONX_UINT value; a decimal string is parsed strictly. -EINVAL if malformed. */
int jsonx_uint(const json_t *v, uint64_t *out) __attribute__((warn_unused_result));

/*
 * Copies an array of strings (each at most `max` bytes, not empty) into a
 * new NULL-terminated heap array; *n gets the count. Absent v gives n = 0.
 */
int jsonx_strv(const json_t *v, size_t max, char ***out, size_t *n, const char *path,
	       struct jsonx_err *err) __attribute__((warn_unused_result));
void jsonx_strv_free(char **v);
char **jsonx_strv_dup(char *const *v, size_t n);

/* RFC 3339 <-> unix seconds. Parse accepts fractions (dropped) and offsets. */
int jsonx_time_parse(const char *s, int64_t *out) __attribute__((warn_unused_result));
char *jsonx_time_format(int64_t unix_sec, char out[static JSONX_TIME_LEN]);

/* Writes s as a JSON string literal (quotes included), escaping as RFC 8259 requires. */
int jsonx_write_str(struct buf_writer *w, const char *s);
/* Writes `"key":` (key is a trusted literal, not escaped). */
int jsonx_write_key(struct buf_writer *w, const char *key);

#endif
