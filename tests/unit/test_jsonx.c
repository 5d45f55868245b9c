/* SPDX-License-Identifier: ISC */
/* test_jsonx: strict loading, field tables (unknown, missing, wrong type, bounds), times, escaping. */
#include <errno.h>

#include "core/buf.h"
#include "json/jsonx.h"
#include "testutil.h"

static void test_load(void **state)
{
	static const char *const bad[] = {
		"{\"a\":1,\"a\":2}", /* duplicate key */
		"{\"a\":1} x",	     /* trailing data */
		"{\"a\":\"\\u0000\"}",
		"{",
		"",
	};
	struct jsonx_err err;
	json_t *v;

	(void)state;
	assert_int_equal(jsonx_load("{\"a\":[1,2]}", 11, &v, &err), 0);
	json_decref(v);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(jsonx_load(bad[i], strlen(bad[i]), &v, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "malformed JSON"));
	}
}

enum { F_NAME, F_N, F_ID, F_ON, F_LIST, F_COUNT };
static const struct jsonx_field fields[F_COUNT] = {
	[F_NAME] = { "Name", JSONX_STRING, JSONX_F_REQUIRED, 5 },
	[F_N] = { "N", JSONX_INT, 0, 0 },
	[F_ID] = { "ID", JSONX_UINT, JSONX_F_STRNUM, 0 },
	[F_ON] = { "On", JSONX_BOOL, JSONX_F_NULL, 0 },
	[F_LIST] = { "List", JSONX_ARRAY, 0, 2 },
};

static int check(const char *text, const json_t **f, struct jsonx_err *err)
{
	json_t *v;
	int r;

	assert_int_equal(jsonx_load(text, strlen(text), &v, err), 0);
	r = jsonx_check(v, fields, F_COUNT, f, "Top", err);
	json_decref(v);
	return r;
}

static void test_check(void **state)
{
	static const struct {
		const char *text, *msg;
	} rejects[] = {
		{ "{\"N\":1}", "Top.Name: required field missing" },
		{ "{\"Name\":\"a\",\"Extra\":1}", "Top.Extra: unknown field" },
		{ "{\"Name\":1}", "Top.Name: expected string" },
		{ "{\"Name\":\"toolong\"}", "Top.Name: longer than 5 bytes" },
		{ "{\"Name\":\"a\",\"N\":1.5}", "Top.N: expected integer" },
		{ "{\"Name\":\"a\",\"ID\":-1}", "Top.ID: expected non-negative integer" },
		{ "{\"Name\":\"a\",\"ID\":\"12x\"}", "Top.ID: expected non-negative integer" },
		{ "{\"Name\":\"a\",\"List\":[1,2,3]}", "Top.List: more than 2 items" },
		{ "{\"Name\":null}", "Top.Name: expected string" },
		{ "[]", "Top: expected object" },
	};
	struct jsonx_err err;
	const json_t *f[F_COUNT];
	json_t *v;
	uint64_t id;

	(void)state;
	assert_int_equal(jsonx_load("{\"Name\":\"ab\",\"ID\":\"42\",\"On\":null}", 33, &v, &err), 0);
	assert_int_equal(jsonx_check(v, fields, F_COUNT, f, "", &err), 0);
	assert_string_equal(jsonx_str(f[F_NAME]), "ab");
	assert_null(f[F_ON]);
	assert_false(jsonx_bool(f[F_ON]));
	assert_int_equal(jsonx_uint(f[F_ID], &id), 0);
	assert_int_equal(id, 42);
	json_decref(v);
	for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		assert_int_equal(check(rejects[i].text, f, &err), -EINVAL);
		assert_string_equal(err.msg, rejects[i].msg);
	}
}

static void test_strv(void **state)
{
	struct jsonx_err err;
	char **v;
	size_t n;
	json_t *a;

	(void)state;
	a = json_pack("[s,s]", "tag:a", "tag:b");
	assert_int_equal(jsonx_strv(a, 10, &v, &n, "Tags", &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[1], "tag:b");
	assert_null(v[2]);
	jsonx_strv_free(v);
	json_decref(a);
	a = json_pack("[s,i]", "x", 1);
	assert_int_equal(jsonx_strv(a, 10, &v, &n, "Tags", &err), -EINVAL);
	assert_string_equal(err.msg, "Tags[1]: expected a string of 1-10 bytes");
	json_decref(a);
	assert_int_equal(jsonx_strv(NULL, 10, &v, &n, "Tags", &err), 0);
	assert_int_equal(n, 0);
	jsonx_strv_free(v);
}

static void test_time(void **state)
{
	static const char *const bad[] = { "2024-02-30T00:00:00Z", "2024-01-01 00:00:00Z",
					   "2024-01-01T00:00:00", "2024-1-01T00:00:00Z",
					   "2024-01-01T00:00:00.Z", "2024-01-01T25:00:00Z",
					   "2024-01-01T00:00:00+0100", "" };
	char buf[JSONX_TIME_LEN];
	int64_t t;

	(void)state;
	assert_int_equal(jsonx_time_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(jsonx_time_parse("2024-03-01T12:34:56.789Z", &t), 0);
	assert_int_equal(t, 1709296496);
	assert_int_equal(jsonx_time_parse("2024-03-01T13:34:56+01:00", &t), 0);
	assert_int_equal(t, 1709296496);
	assert_string_equal(jsonx_time_format(1709296496, buf), "2024-03-01T12:34:56Z");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(jsonx_time_parse(bad[i], &t), -EINVAL);
}

static void test_write_str(void **state)
{
	struct buf_writer w;
	json_t *v;
	struct jsonx_err err;

	(void)state;
	buf_writer_growable(&w, 1024);
	buf_put_u8(&w, '[');
	jsonx_write_str(&w, "a\"b\\c\n\x01é");
	buf_put_u8(&w, ']');
	assert_false(w.err);
	assert_int_equal(jsonx_load(w.p, w.len, &v, &err), 0);
	assert_string_equal(json_string_value(json_array_get(v, 0)), "a\"b\\c\n\x01é");
	json_decref(v);
	buf_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load), cmocka_unit_test(test_check),
		cmocka_unit_test(test_strv), cmocka_unit_test(test_time),
		cmocka_unit_test(test_write_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
