/* SPDX-License-Identifier: ISC */
/* jsonx: strict JSON loading, field tables, typed getters and RFC 3339 times (see jsonx.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/numparse.h"
#include "json/jsonx.h"

int jsonx_fail(struct jsonx_err *err, const char *path, const char *name, const char *fmt, ...)
{
	char where[JSONX_PATH_LEN];
	size_t n = 0;
	va_list ap;

	if (err == NULL)
		return -EINVAL;
	jsonx_path_field(where, path ? path : "", name ? name : "");
	err->msg[0] = '\0';
	if (where[0] != '\0')
		n = (size_t)snprintf(err->msg, sizeof(err->msg), "%.*s: ", JSONX_PATH_LEN, where);
	if (n >= sizeof(err->msg))
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void jsonx_path_field(char out[static JSONX_PATH_LEN], const char *path, const char *name)
{
	if (path[0] == '\0' || name[0] == '\0')
		snprintf(out, JSONX_PATH_LEN, "%s%s", path, name);
	else
		snprintf(out, JSONX_PATH_LEN, "%s.%s", path, name);
}

void jsonx_path_index(char out[static JSONX_PATH_LEN], const char *path, size_t i)
{
	snprintf(out, JSONX_PATH_LEN, "%s[%zu]", path, i);
}

int jsonx_load(const void *buf, size_t len, json_t **out, struct jsonx_err *err)
{
	json_error_t je;

	*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (*out == NULL)
		return jsonx_fail(err, "", "", "malformed JSON at line %d column %d: %s", je.line,
				  je.column, je.text);
	return 0;
}

static const char *jsonx_type_name(uint8_t t)
{
	switch ((enum jsonx_type)t) {
	case JSONX_STRING:
		return "string";
	case JSONX_BOOL:
		return "boolean";
	case JSONX_INT:
		return "integer";
	case JSONX_UINT:
		return "non-negative integer";
	case JSONX_ARRAY:
		return "array";
	case JSONX_OBJECT:
		return "object";
	case JSONX_ANY:
		break;
	}
	return "value";
}

static bool jsonx_uint_ok(const json_t *v, uint8_t flags)
{
	uint64_t u;

	if (json_is_integer(v))
		return json_integer_value(v) >= 0;
	if ((flags & JSONX_F_STRNUM) && json_is_string(v))
		return numparse_u64(json_string_value(v), 0, UINT64_MAX, &u) == 0;
	return false;
}

static bool jsonx_type_ok(const json_t *v, const struct jsonx_field *f)
{
	switch ((enum jsonx_type)f->type) {
	case JSONX_ANY:
		return true;
	case JSONX_STRING:
		return json_is_string(v);
	case JSONX_BOOL:
		return json_is_boolean(v);
	case JSONX_INT:
		return json_is_integer(v);
	case JSONX_UINT:
		return jsonx_uint_ok(v, f->flags);
	case JSONX_ARRAY:
		return json_is_array(v);
	case JSONX_OBJECT:
		return json_is_object(v);
	}
	return false;
}

static int jsonx_check_one(const json_t *v, const struct jsonx_field *f, const char *path,
			   struct jsonx_err *err)
{
	size_t max = f->max ? f->max : JSONX_DEFAULT_MAX;

	if (!jsonx_type_ok(v, f))
		return jsonx_fail(err, path, f->name, "expected %s", jsonx_type_name(f->type));
	if (json_is_string(v) && json_string_length(v) > max)
		return jsonx_fail(err, path, f->name, "longer than %zu bytes", max);
	if (json_is_array(v) && json_array_size(v) > max)
		return jsonx_fail(err, path, f->name, "more than %zu items", max);
	return 0;
}

static const struct jsonx_field *jsonx_find(const struct jsonx_field *fields, size_t n,
					    const char *key, size_t *idx)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(fields[i].name, key) == 0) {
			*idx = i;
			return &fields[i];
		}
	}
	return NULL;
}

int jsonx_check(const json_t *obj, const struct jsonx_field *fields, size_t n, const json_t **out,
		const char *path, struct jsonx_err *err)
{
	const char *key;
	json_t *v;
	size_t i;
	int r;

	if (!json_is_object(obj))
		return jsonx_fail(err, path, "", "expected object");
	for (i = 0; i < n; i++)
		out[i] = NULL;
	json_object_foreach((json_t *)obj, key, v) {
		const struct jsonx_field *f = jsonx_find(fields, n, key, &i);
		if (f == NULL)
			return jsonx_fail(err, path, key, "unknown field");
		if (json_is_null(v) && (f->flags & JSONX_F_NULL))
			continue;
		if ((r = jsonx_check_one(v, f, path, err)) < 0)
			return r;
		out[i] = v;
	}
	for (i = 0; i < n; i++) {
		if ((fields[i].flags & JSONX_F_REQUIRED) && out[i] == NULL &&
		    json_object_get(obj, fields[i].name) == NULL)
			return jsonx_fail(err, path, fields[i].name, "required field missing");
	}
	return 0;
}

const char *jsonx_str(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : NULL;
}

bool jsonx_bool(const json_t *v)
{
	return json_is_true(v);
}

int64_t jsonx_int(const json_t *v)
{
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

int jsonx_uint(const json_t *v, uint64_t *out)
{
	*out = 0;
	if (v == NULL)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return numparse_u64(json_string_value(v), 0, UINT64_MAX, out) == 0 ? 0 : -EINVAL;
	return -EINVAL;
}

void jsonx_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

char **jsonx_strv_dup(char *const *v, size_t n)
{
	char **out = mem_calloc(n + 1, sizeof(*out));

	for (size_t i = 0; out != NULL && i < n; i++) {
		if ((out[i] = strdup(v[i])) == NULL) {
			jsonx_strv_free(out);
			out = NULL;
		}
	}
	return out;
}

int jsonx_strv(const json_t *v, size_t max, char ***out, size_t *n, const char *path,
	       struct jsonx_err *err)
{
	char where[JSONX_PATH_LEN];
	size_t i, count = v ? json_array_size(v) : 0;
	char **a;

	*out = NULL;
	*n = 0;
	if ((a = mem_calloc(count + 1, sizeof(*a))) == NULL)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		const json_t *s = json_array_get(v, i);
		jsonx_path_index(where, path, i);
		if (!json_is_string(s) || json_string_length(s) == 0 ||
		    json_string_length(s) > max) {
			jsonx_strv_free(a);
			return jsonx_fail(err, where, "", "expected a string of 1-%zu bytes", max);
		}
		if ((a[i] = strdup(json_string_value(s))) == NULL) {
			jsonx_strv_free(a);
			return -ENOMEM;
		}
	}
	*out = a;
	*n = count;
	return 0;
}

/* Reads exactly n digits. */
static bool jsonx_digits(const char **s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return true;
}

static bool jsonx_expect(const char **s, char c)
{
	if (**s != c && !(c == 'T' && **s == 't'))
		return false;
	(*s)++;
	return true;
}

/* "Z" or "+hh:mm"/"-hh:mm" into seconds east of UTC. */
static bool jsonx_offset(const char *s, long *off)
{
	int hh, mm, sign;

	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
		*off = 0;
		return true;
	}
	if (s[0] != '+' && s[0] != '-')
		return false;
	sign = s[0] == '-' ? -1 : 1;
	s++;
	if (!jsonx_digits(&s, 2, &hh) || !jsonx_expect(&s, ':') || !jsonx_digits(&s, 2, &mm) ||
	    *s != '\0' || hh > 23 || mm > 59)
		return false;
	*off = sign * (hh * 3600L + mm * 60L);
	return true;
}

int jsonx_time_parse(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec;
	long off;
	time_t t;

	if (!jsonx_digits(&s, 4, &y) || !jsonx_expect(&s, '-') || !jsonx_digits(&s, 2, &mo) ||
	    !jsonx_expect(&s, '-') || !jsonx_digits(&s, 2, &d) || !jsonx_expect(&s, 'T') ||
	    !jsonx_digits(&s, 2, &h) || !jsonx_expect(&s, ':') || !jsonx_digits(&s, 2, &mi) ||
	    !jsonx_expect(&s, ':') || !jsonx_digits(&s, 2, &sec))
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (!jsonx_offset(s, &off) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (tm.tm_mday != d) /* timegm normalised an impossible date such as 02-31 */
		return -EINVAL;
	*out = (int64_t)t - off;
	return 0;
}

char *jsonx_time_format(int64_t unix_sec, char out[static JSONX_TIME_LEN])
{
	time_t t = (time_t)unix_sec;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
		snprintf(out, JSONX_TIME_LEN, "1970-01-01T00:00:00Z");
	else
		strftime(out, JSONX_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

int jsonx_write_str(struct buf_writer *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	buf_put_u8(w, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_put_bytes(w, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			buf_put_bytes(w, esc, 2);
		} else {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			buf_put_bytes(w, esc, 6);
		}
	}
	buf_put_bytes(w, run, (size_t)(s - run));
	return buf_put_u8(w, '"');
}

int jsonx_write_key(struct buf_writer *w, const char *key)
{
	buf_put_u8(w, '"');
	buf_put_str(w, key);
	return buf_put_bytes(w, "\":", 2);
}
