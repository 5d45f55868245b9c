/* SPDX-License-Identifier: ISC */
/* yamlx: libyaml events folded into a bounded tree with positions (see yamlx.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/mem.h"
#include "yaml/yamlx.h"

struct yamlx_parse_ctx {
	yaml_parser_t parser;
	struct yamlx_err *err;
	size_t nodes;
};

static int yamlx_fail(struct yamlx_err *err, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int yamlx_fail(struct yamlx_err *err, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	err->line = line;
	err->col = col;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void yamlx_free(struct yamlx_node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++) {
		yamlx_free(n->items[i]);
		if (n->keys != NULL)
			free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->key_lines);
	free(n->str);
	free(n);
}

static struct yamlx_node *yamlx_node_new(struct yamlx_parse_ctx *c, enum yamlx_kind kind,
					 const yaml_mark_t *m)
{
	struct yamlx_node *n;

	if (++c->nodes > YAMLX_MAX_NODES) {
		yamlx_fail(c->err, (unsigned)m->line + 1, (unsigned)m->column + 1,
			   "document too large (more than %d nodes)", YAMLX_MAX_NODES);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		yamlx_fail(c->err, 0, 0, "out of memory");
		return NULL;
	}
	n->kind = kind;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	return n;
}

/* Appends child (and, for a mapping, its key) to parent; consumes child and key. */
static int yamlx_append(struct yamlx_parse_ctx *c, struct yamlx_node *parent, char *key,
			unsigned key_line, struct yamlx_node *child)
{
	size_t cap = parent->cap;

	if (parent->n == cap) {
		size_t ncap = cap;
		if (mem_grow((void **)&parent->items, &ncap, cap + 1, sizeof(*parent->items)) < 0)
			goto oom;
		if (parent->kind == YAMLX_MAP) {
			size_t kc = cap, lc = cap;
			if (mem_grow((void **)&parent->keys, &kc, ncap, sizeof(*parent->keys)) < 0 ||
			    mem_grow((void **)&parent->key_lines, &lc, ncap,
				     sizeof(*parent->key_lines)) < 0)
				goto oom;
		}
		parent->cap = ncap;
	}
	parent->items[parent->n] = child;
	if (parent->kind == YAMLX_MAP) {
		parent->keys[parent->n] = key;
		parent->key_lines[parent->n] = key_line;
	}
	parent->n++;
	return 0;
oom:
	free(key);
	yamlx_free(child);
	return yamlx_fail(c->err, 0, 0, "out of memory");
}

static int yamlx_next(struct yamlx_parse_ctx *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->parser, ev)) {
		const yaml_mark_t *m = &c->parser.problem_mark;
		return yamlx_fail(c->err, (unsigned)m->line + 1, (unsigned)m->column + 1, "%s%s%s",
				  c->parser.problem ? c->parser.problem : "invalid YAML",
				  c->parser.context ? " " : "",
				  c->parser.context ? c->parser.context : "");
	}
	return 0;
}

static int yamlx_value(struct yamlx_parse_ctx *c, yaml_event_t *ev, unsigned depth,
		       struct yamlx_node **out);

static int yamlx_collection(struct yamlx_parse_ctx *c, struct yamlx_node *n, unsigned depth)
{
	yaml_event_type_t end = n->kind == YAMLX_MAP ? YAML_MAPPING_END_EVENT
						     : YAML_SEQUENCE_END_EVENT;
	yaml_event_t ev;
	int r;

	for (;;) {
		char *key = NULL;
		unsigned key_line = 0;
		struct yamlx_node *child = NULL;

		if ((r = yamlx_next(c, &ev)) < 0)
			return r;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (n->kind == YAMLX_MAP) {
			if (ev.type != YAML_SCALAR_EVENT) {
				r = yamlx_fail(c->err, (unsigned)ev.start_mark.line + 1,
					       (unsigned)ev.start_mark.column + 1,
					       "mapping keys must be plain strings");
				yaml_event_delete(&ev);
				return r;
			}
			size_t klen = ev.data.scalar.length;

			if (n->n >= YAMLX_MAX_KEYS) {
				r = yamlx_fail(c->err, (unsigned)ev.start_mark.line + 1, 0,
					       "mapping has more than %d keys", YAMLX_MAX_KEYS);
				yaml_event_delete(&ev);
				return r;
			}
			key_line = (unsigned)ev.start_mark.line + 1;
			key = strndup((const char *)ev.data.scalar.value, klen);
			yaml_event_delete(&ev);
			if (key == NULL)
				return yamlx_fail(c->err, 0, 0, "out of memory");
			if (strlen(key) != klen || yamlx_get(n, key) != NULL) {
				r = yamlx_fail(c->err, key_line, 0, "duplicate or invalid key `%s'",
					       key);
				free(key);
				return r;
			}
			if ((r = yamlx_next(c, &ev)) < 0) {
				free(key);
				return r;
			}
		}
		r = yamlx_value(c, &ev, depth + 1, &child);
		yaml_event_delete(&ev);
		if (r < 0) {
			free(key);
			return r;
		}
		if ((r = yamlx_append(c, n, key, key_line, child)) < 0)
			return r;
	}
}

/* Builds the node that starts with `ev` (which the caller deletes). */
static int yamlx_value(struct yamlx_parse_ctx *c, yaml_event_t *ev, unsigned depth,
		       struct yamlx_node **out)
{
	struct yamlx_node *n = NULL;
	int r;

	*out = NULL;
	if (depth > YAMLX_MAX_DEPTH)
		return yamlx_fail(c->err, (unsigned)ev->start_mark.line + 1,
				  (unsigned)ev->start_mark.column + 1, "nested too deeply");
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if ((n = yamlx_node_new(c, YAMLX_SCALAR, &ev->start_mark)) == NULL)
			return -EINVAL;
		n->str = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (n->str == NULL || strlen(n->str) != ev->data.scalar.length) {
			yamlx_free(n);
			return yamlx_fail(c->err, (unsigned)ev->start_mark.line + 1,
					  (unsigned)ev->start_mark.column + 1,
					  "strings may not contain NUL");
		}
		*out = n;
		return 0;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		n = yamlx_node_new(c, ev->type == YAML_MAPPING_START_EVENT ? YAMLX_MAP : YAMLX_SEQ,
				   &ev->start_mark);
		if (n == NULL)
			return -EINVAL;
		if ((r = yamlx_collection(c, n, depth)) < 0) {
			yamlx_free(n);
			return r;
		}
		*out = n;
		return 0;
	case YAML_ALIAS_EVENT:
		return yamlx_fail(c->err, (unsigned)ev->start_mark.line + 1,
				  (unsigned)ev->start_mark.column + 1,
				  "aliases (*name) are not supported: write the value out");
	case YAML_NO_EVENT:
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		break;
	}
	return yamlx_fail(c->err, (unsigned)ev->start_mark.line + 1,
			  (unsigned)ev->start_mark.column + 1, "unexpected YAML structure");
}

static int yamlx_expect(struct yamlx_parse_ctx *c, yaml_event_type_t t, const char *what)
{
	yaml_event_t ev;
	int r;

	if ((r = yamlx_next(c, &ev)) < 0)
		return r;
	if (ev.type != t)
		r = yamlx_fail(c->err, (unsigned)ev.start_mark.line + 1,
			       (unsigned)ev.start_mark.column + 1, "%s", what);
	yaml_event_delete(&ev);
	return r;
}

int yamlx_parse(const void *buf, size_t len, struct yamlx_node **out, struct yamlx_err *err)
{
	struct yamlx_parse_ctx c = { .err = err };
	struct yamlx_node *root = NULL;
	yaml_event_t ev;
	yaml_mark_t zero = { 0 };
	int r;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	if (len > YAMLX_MAX_INPUT)
		return yamlx_fail(err, 0, 0, "file too large (more than %u bytes)",
				  YAMLX_MAX_INPUT);
	if (memchr(buf, '\0', len) != NULL)
		return yamlx_fail(err, 0, 0, "file contains a NUL byte: is it a text file?");
	if (!yaml_parser_initialize(&c.parser))
		return yamlx_fail(err, 0, 0, "out of memory");
	yaml_parser_set_input_string(&c.parser, buf, len);
	if ((r = yamlx_expect(&c, YAML_STREAM_START_EVENT, "expected a YAML stream")) < 0)
		goto out;
	if ((r = yamlx_next(&c, &ev)) < 0)
		goto out;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		root = yamlx_node_new(&c, YAMLX_MAP, &zero);
		r = root ? 0 : -EINVAL;
		goto out;
	}
	if (ev.type != YAML_DOCUMENT_START_EVENT) {
		r = yamlx_fail(err, 0, 0, "expected a YAML document");
		yaml_event_delete(&ev);
		goto out;
	}
	yaml_event_delete(&ev);
	if ((r = yamlx_next(&c, &ev)) < 0)
		goto out;
	r = yamlx_value(&c, &ev, 0, &root);
	yaml_event_delete(&ev);
	if (r < 0)
		goto out;
	if (root->kind == YAMLX_SCALAR && yamlx_is_null(root)) {
		yamlx_free(root);
		root = yamlx_node_new(&c, YAMLX_MAP, &zero);
		if (root == NULL) {
			r = -EINVAL;
			goto out;
		}
	}
	if ((r = yamlx_expect(&c, YAML_DOCUMENT_END_EVENT, "expected the end of the document")) < 0)
		goto out;
	r = yamlx_expect(&c, YAML_STREAM_END_EVENT, "only one YAML document is allowed");
out:
	yaml_parser_delete(&c.parser);
	if (r < 0) {
		yamlx_free(root);
		return r;
	}
	*out = root;
	return 0;
}

const struct yamlx_node *yamlx_get(const struct yamlx_node *map, const char *key)
{
	if (map == NULL || map->kind != YAMLX_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->items[i];
	return NULL;
}

bool yamlx_is_null(const struct yamlx_node *n)
{
	if (n == NULL || n->kind != YAMLX_SCALAR || !n->plain)
		return false;
	return n->str[0] == '\0' || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
	       strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}
