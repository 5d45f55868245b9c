/* SPDX-License-Identifier: ISC */
/*
 * hujson: HuJSON ("human JSON": JSON with // and block comments and trailing
 * commas, as Tailscale's policy files are written) to standard JSON. The
 * conversion keeps every byte offset, so a line:column found in the output is
 * the same place in the input; hujson_locate finds a value by its path.
 */
#ifndef WEFT_JSON_HUJSON_H
#define WEFT_JSON_HUJSON_H

#include <jansson.h>
#include <stddef.h>

/* Largest document accepted (policy files are a few hundred KiB at most). */
#define HUJSON_MAX_LEN (4u << 20)
/* Deepest nesting hujson_locate walks. */
#define HUJSON_MAX_DEPTH 64
#define HUJSON_ERR_LEN 160

/* Where a document is wrong: 1-based line and column (in bytes), and what is wrong. */
struct hujson_err {
	unsigned line;
	unsigned column;
	char msg[HUJSON_ERR_LEN];
};

/*
 * Writes a standard-JSON copy of in[0..len) to a new NUL-terminated heap
 * buffer (*out, free() it; same length): comments become spaces (newlines
 * kept), trailing commas before ] or } become spaces. Strings are left
 * alone. -EINVAL with err set on an unterminated comment or string, a NUL
 * byte, or a document over HUJSON_MAX_LEN; -ENOMEM.
 */
int hujson_standardize(const char *in, size_t len, char **out, struct hujson_err *err)
	__attribute__((warn_unused_result));

/*
 * Standardizes and parses one JSON value with jansson, refusing duplicate
 * keys and trailing data. *out is a new reference. On error err names the
 * line, column and problem.
 */
int hujson_load(const char *in, size_t len, json_t **out, struct hujson_err *err)
	__attribute__((warn_unused_result));

/* 1-based line and column of byte offset `off` in text[0..len). */
void hujson_position(const char *text, size_t len, size_t off, unsigned *line, unsigned *column);

/*
 * Finds the byte offset of the value at `path` in a standard-JSON document
 * (the output of hujson_standardize). A path is a sequence of `.name`,
 * `["name"]` and `[index]` steps, the first `.` optional: `acls[0].src[1]`,
 * `groups["group:eng"]`. An empty path is the whole document. -ENOENT if the
 * path is not there, -EINVAL if the path or document is malformed.
 */
int hujson_locate(const char *json, size_t len, const char *path, size_t *off)
	__attribute__((warn_unused_result));

#endif
