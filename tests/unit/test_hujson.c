/* SPDX-License-Identifier: ISC */
/* test_hujson: comments and trailing commas to JSON keeping offsets, error positions, locate. */
#include <errno.h>

#include "json/hujson.h"
#include "testutil.h"

static void test_standardize(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{"{}", "{}"},
		{"// c\n{}", "    \n{}"},
		{"{/* x */}", "{       }"},
		{"[1,2,]", "[1,2 ]"},
		{"{\"a\":1,}", "{\"a\":1 }"},
		{"[1, // c\n]", "[1      \n]"},
		{"[1,/*\n*/]", "[1   \n  ]"},
		{"\"a//b,]\"", "\"a//b,]\""},
		{"\"\\\"//\"", "\"\\\"//\""},
		{"{\"a\":[1,],}", "{\"a\":[1 ] }"},
		{"", ""},
	};
	static const struct {
		const char *in;
		unsigned line, column;
		const char *msg;
	} bad[] = {
		{"{/* open", 1, 2, "unterminated /* comment"},
		{"\n\n  \"abc", 3, 3, "unterminated string"},
		{"\"a\nb\"", 1, 1, "unterminated string"},
	};
	struct hujson_err err;
	char *out;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(hujson_standardize(ok[i].in, strlen(ok[i].in), &out, &err), 0);
		assert_string_equal(out, ok[i].out);
		free(out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hujson_standardize(bad[i].in, strlen(bad[i].in), &out, &err),
				 -EINVAL);
		assert_null(out);
		assert_int_equal(err.line, bad[i].line);
		assert_int_equal(err.column, bad[i].column);
		assert_string_equal(err.msg, bad[i].msg);
	}
	/* A NUL byte is refused where it is. */
	assert_int_equal(hujson_standardize("{\n \0}", 4, &out, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.column, 2);
}

static void test_load(void **state)
{
	static const char *const ok[] = {
		"{\n  // groups\n  \"groups\": {\"group:a\": [\"x@y\",],},\n}\n",
		"[1, 2, /* three */ 3,]",
		"{\"a\": \"// not a comment\"}",
	};
	static const struct {
		const char *in;
		unsigned line;
	} bad[] = {
		{"{\"a\": 1 \"b\": 2}", 1},
		{"{\n\"a\": 1,\n\"a\": 2}", 3},     /* duplicate key */
		{"[1,,2]", 1},                      /* only one trailing comma is forgiven */
		{"{} {}", 1},                       /* trailing data */
		{"{\n\n  \"a\": tru }", 3},
		{"[1,]]", 1},
	};
	struct hujson_err err;
	json_t *v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(hujson_load(ok[i], strlen(ok[i]), &v, &err), 0);
		json_decref(v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hujson_load(bad[i].in, strlen(bad[i].in), &v, &err), -EINVAL);
		assert_null(v);
		assert_int_equal(err.line, bad[i].line);
		assert_true(err.column >= 1);
		assert_true(err.msg[0] != '\0');
	}
}

static void test_locate(void **state)
{
	static const char doc[] = "{\n"
				  "  \"acls\": [\n"
				  "    {\"src\": [\"a\", \"b\"], \"dst\": [\"c:22\"]},\n"
				  "    {\"src\": [{\"x\": [1, {\"y\": 2}]}]}\n"
				  "  ],\n"
				  "  \"groups\": {\"group:eng\": [\"z@w\"]}\n"
				  "}";
	static const struct {
		const char *path;
		unsigned line, column;
	} ok[] = {
		{"", 1, 1},
		{"acls", 2, 11},
		{"acls[0].src[1]", 3, 19},
		{".acls[0].dst[0]", 3, 33},
		{"acls[1].src[0].x[1].y", 4, 30},
		{"groups[\"group:eng\"]", 6, 27},
		{"groups[\"group:eng\"][0]", 6, 28},
	};
	static const struct {
		const char *path;
		int rc;
	} bad[] = {
		{"acls[2]", -ENOENT},   {"nope", -ENOENT},	 {"acls.x", -ENOENT},
		{"acls[x]", -EINVAL},   {"groups[\"open", -EINVAL}, {"acls[0]..src", -EINVAL},
	};
	unsigned line, col;
	size_t off;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(hujson_locate(doc, strlen(doc), ok[i].path, &off), 0);
		hujson_position(doc, strlen(doc), off, &line, &col);
		assert_int_equal(line, ok[i].line);
		assert_int_equal(col, ok[i].column);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hujson_locate(doc, strlen(doc), bad[i].path, &off), bad[i].rc);
	/* Malformed documents do not run away. */
	assert_true(hujson_locate("{\"a\": [1, 2", 11, "a[5]", &off) < 0);
	assert_true(hujson_locate("[[[[[[", 6, "[0][0][0][0][0][0][0]", &off) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standardize),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_locate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
