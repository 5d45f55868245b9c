/* SPDX-License-Identifier: ISC */
/*
 * yamlx: a YAML document (through libyaml's event parser) as a small tree of
 * scalars, sequences and mappings that remember their line and column, so a
 * configuration loader can name the key and line of every error. Untrusted
 * input: depth, size and node count are bounded, duplicate keys and aliases
 * (the "billion laughs" expansion) are refused.
 */
#ifndef WEFT_YAML_YAMLX_H
#define WEFT_YAML_YAMLX_H

#include <stdbool.h>
#include <stddef.h>

#define YAMLX_ERR_LEN 256
#define YAMLX_MAX_DEPTH 32
#define YAMLX_MAX_NODES 100000
#define YAMLX_MAX_KEYS 4096 /* per mapping: keys are checked for duplicates */
#define YAMLX_MAX_INPUT (4u << 20)

enum yamlx_kind {
	YAMLX_SCALAR = 1,
	YAMLX_SEQ = 2,
	YAMLX_MAP = 3,
};

struct yamlx_node {
	enum yamlx_kind kind;
	unsigned line; /* 1-based */
	unsigned col;
	/* SCALAR: the text; `plain` when it was unquoted (so `null`, `~`, `` mean null). */
	char *str;
	bool plain;
	/* SEQ: items; MAP: values, with keys[i] naming items[i]. */
	struct yamlx_node **items;
	char **keys;
	unsigned *key_lines;
	size_t n;
	size_t cap;
};

struct yamlx_err {
	unsigned line;
	unsigned col;
	char msg[YAMLX_ERR_LEN];
};

/*
 * Parses one document. An empty document gives an empty mapping. *out is
 * a new tree (yamlx_free). -EINVAL with err filled on any error.
 */
int yamlx_parse(const void *buf, size_t len, struct yamlx_node **out, struct yamlx_err *err)
	__attribute__((warn_unused_result));
void yamlx_free(struct yamlx_node *n);

/* A mapping's value by key, or NULL. */
const struct yamlx_node *yamlx_get(const struct yamlx_node *map, const char *key);
/* A plain scalar that YAML reads as null: "", "~", "null", "Null", "NULL". */
bool yamlx_is_null(const struct yamlx_node *n);

#endif
