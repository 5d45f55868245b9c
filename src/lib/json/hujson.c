/* SPDX-License-Identifier: ISC */
/* hujson: HuJSON to standard JSON keeping offsets, and value lookup by path (see hujson.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/hujson.h"

__attribute__((format(printf, 5, 6))) static int fail(struct hujson_err *err, const char *text,
						      size_t len, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		hujson_position(text, len, off, &err->line, &err->column);
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void hujson_position(const char *text, size_t len, size_t off, unsigned *line, unsigned *column)
{
	unsigned l = 1, c = 1;
	size_t i;

	if (off > len)
		off = len;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*column = c;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int hujson_standardize(const char *in, size_t len, char **out, struct hujson_err *err)
{
	size_t i = 0, comma = 0, start;
	bool pending = false;
	char *o;

	*out = NULL;
	if (len > HUJSON_MAX_LEN)
		return fail(err, in, len, 0, "document is %zu bytes, over the limit of %u", len,
			    HUJSON_MAX_LEN);
	o = malloc(len + 1);
	if (o == NULL)
		return -ENOMEM;
	memcpy(o, in, len);
	o[len] = '\0';
	while (i < len) {
		char c = o[i];

		if (c == '\0') {
			free(o);
			return fail(err, in, len, i, "NUL byte in document");
		}
		if (c == '"') {
			start = i++;
			while (i < len && o[i] != '"') {
				if (o[i] == '\\' && i + 1 < len)
					i++;
				else if (o[i] == '\n' || o[i] == '\0')
					break;
				i++;
			}
			if (i >= len || o[i] != '"') {
				free(o);
				return fail(err, in, len, start, "unterminated string");
			}
			i++;
			pending = false;
			continue;
		}
		if (c == '/' && i + 1 < len && o[i + 1] == '/') {
			while (i < len && o[i] != '\n')
				o[i++] = ' ';
			continue;
		}
		if (c == '/' && i + 1 < len && o[i + 1] == '*') {
			start = i;
			o[i] = o[i + 1] = ' ';
			i += 2;
			while (i + 1 < len && !(o[i] == '*' && o[i + 1] == '/')) {
				if (o[i] != '\n')
					o[i] = ' ';
				i++;
			}
			if (i + 1 >= len) {
				free(o);
				return fail(err, in, len, start, "unterminated /* comment");
			}
			o[i] = o[i + 1] = ' ';
			i += 2;
			continue;
		}
		if (is_ws(c)) {
			i++;
			continue;
		}
		if ((c == ']' || c == '}') && pending)
			o[comma] = ' ';
		pending = c == ',';
		comma = i;
		i++;
	}
	*out = o;
	return 0;
}

int hujson_load(const char *in, size_t len, json_t **out, struct hujson_err *err)
{
	json_error_t jerr;
	char *std = NULL;
	size_t off;
	int rc;

	*out = NULL;
	rc = hujson_standardize(in, len, &std, err);
	if (rc < 0)
		return rc;
	*out = json_loadb(std, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL) {
		off = jerr.position > 0 ? (size_t)jerr.position - 1 : 0;
		rc = fail(err, in, len, off, "%s", jerr.text);
	}
	free(std);
	return rc;
}

/* A cursor over standard JSON for hujson_locate. */
struct scan {
	const char *s;
	size_t len;
	size_t i;
};

static void skip_ws(struct scan *sc)
{
	while (sc->i < sc->len && is_ws(sc->s[sc->i]))
		sc->i++;
}

/* Skips a string at sc->i; copies its raw bytes (escapes kept) to key if given. */
static int skip_string(struct scan *sc, char *key, size_t keylen)
{
	size_t start, n;

	if (sc->i >= sc->len || sc->s[sc->i] != '"')
		return -EINVAL;
	start = ++sc->i;
	while (sc->i < sc->len && sc->s[sc->i] != '"') {
		if (sc->s[sc->i] == '\\')
			sc->i++;
		sc->i++;
	}
	if (sc->i >= sc->len)
		return -EINVAL;
	n = sc->i - start;
	if (key != NULL) {
		if (n >= keylen)
			n = keylen - 1;
		memcpy(key, sc->s + start, n);
		key[n] = '\0';
	}
	sc->i++;
	return 0;
}

static int skip_value(struct scan *sc, unsigned depth)
{
	char c;
	int rc;

	if (depth > HUJSON_MAX_DEPTH)
		return -EINVAL;
	skip_ws(sc);
	if (sc->i >= sc->len)
		return -EINVAL;
	c = sc->s[sc->i];
	if (c == '"')
		return skip_string(sc, NULL, 0);
	if (c == '{' || c == '[') {
		char close = c == '{' ? '}' : ']';

		sc->i++;
		skip_ws(sc);
		if (sc->i < sc->len && sc->s[sc->i] == close) {
			sc->i++;
			return 0;
		}
		for (;;) {
			if (c == '{') {
				skip_ws(sc);
				if ((rc = skip_string(sc, NULL, 0)) < 0)
					return rc;
				skip_ws(sc);
				if (sc->i >= sc->len || sc->s[sc->i] != ':')
					return -EINVAL;
				sc->i++;
			}
			if ((rc = skip_value(sc, depth + 1)) < 0)
				return rc;
			skip_ws(sc);
			if (sc->i >= sc->len)
				return -EINVAL;
			if (sc->s[sc->i] == close) {
				sc->i++;
				return 0;
			}
			if (sc->s[sc->i] != ',')
				return -EINVAL;
			sc->i++;
		}
	}
	/* number, true, false, null */
	while (sc->i < sc->len && !is_ws(sc->s[sc->i]) && strchr(",]}", sc->s[sc->i]) == NULL)
		sc->i++;
	return 0;
}

/* Moves sc to the member `name` of the object at sc->i. */
static int enter_key(struct scan *sc, const char *name)
{
	char key[256];
	int rc;

	skip_ws(sc);
	if (sc->i >= sc->len || sc->s[sc->i] != '{')
		return -ENOENT;
	sc->i++;
	for (;;) {
		skip_ws(sc);
		if (sc->i < sc->len && sc->s[sc->i] == '}')
			return -ENOENT;
		if ((rc = skip_string(sc, key, sizeof(key))) < 0)
			return rc;
		skip_ws(sc);
		if (sc->i >= sc->len || sc->s[sc->i] != ':')
			return -EINVAL;
		sc->i++;
		if (strcmp(key, name) == 0) {
			skip_ws(sc);
			return 0;
		}
		if ((rc = skip_value(sc, 1)) < 0)
			return rc;
		skip_ws(sc);
		if (sc->i < sc->len && sc->s[sc->i] == ',')
			sc->i++;
	}
}

static int enter_index(struct scan *sc, size_t index)
{
	size_t n;
	int rc;

	skip_ws(sc);
	if (sc->i >= sc->len || sc->s[sc->i] != '[')
		return -ENOENT;
	sc->i++;
	for (n = 0;; n++) {
		skip_ws(sc);
		if (sc->i < sc->len && sc->s[sc->i] == ']')
			return -ENOENT;
		if (n == index)
			return 0;
		if ((rc = skip_value(sc, 1)) < 0)
			return rc;
		skip_ws(sc);
		if (sc->i < sc->len && sc->s[sc->i] == ',')
			sc->i++;
	}
}

int hujson_locate(const char *json, size_t len, const char *path, size_t *off)
{
	struct scan sc = { .s = json, .len = len, .i = 0 };
	char name[256];
	const char *p = path;
	size_t n;
	int rc;

	while (*p != '\0') {
		if (*p == '[' && p[1] == '"') {
			const char *e = strstr(p + 2, "\"]");

			if (e == NULL || (size_t)(e - (p + 2)) >= sizeof(name))
				return -EINVAL;
			n = (size_t)(e - (p + 2));
			memcpy(name, p + 2, n);
			name[n] = '\0';
			p = e + 2;
			if ((rc = enter_key(&sc, name)) < 0)
				return rc;
		} else if (*p == '[') {
			char *end;
			unsigned long v = strtoul(p + 1, &end, 10);

			if (end == p + 1 || *end != ']')
				return -EINVAL;
			p = end + 1;
			if ((rc = enter_index(&sc, v)) < 0)
				return rc;
		} else {
			if (*p == '.')
				p++;
			n = strcspn(p, ".[");
			if (n == 0 || n >= sizeof(name))
				return -EINVAL;
			memcpy(name, p, n);
			name[n] = '\0';
			p += n;
			if ((rc = enter_key(&sc, name)) < 0)
				return rc;
		}
	}
	skip_ws(&sc);
	*off = sc.i;
	return 0;
}
