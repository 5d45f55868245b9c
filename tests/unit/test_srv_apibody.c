/* SPDX-License-Identifier: ISC */
/*
 * test_srv_apibody: weft-server's REST bodies (api_body.c): every endpoint's
 * table takes Headscale's field names, and refuses unknown or mistyped
 * fields, non-objects, malformed JSON and oversized bodies, naming the field.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "weft-server/api_body.h"

static int decode(const struct jsonx_field *f, size_t n, const char *s, struct jsonx_err *err)
{
	json_t *j = NULL;
	int r = api_body_decode(s, strlen(s), f, n, &j, err);

	if (r == 0)
		json_decref(j);
	else
		assert_null(j);
	return r;
}

static void test_accepts(void **state)
{
	struct jsonx_err err;
	json_t *j;

	(void)state;
	assert_int_equal(decode(api_f_user_create, api_f_user_create_n,
				"{\"name\":\"ops\",\"displayName\":null,\"email\":\"a@b\"}", &err),
			 0);
	assert_int_equal(decode(api_f_pak_create, api_f_pak_create_n,
				"{\"user\":\"1\",\"reusable\":true,\"ephemeral\":false,"
				"\"expiration\":\"2027-01-01T00:00:00Z\",\"aclTags\":[\"tag:a\"]}",
				&err),
			 0);
	assert_int_equal(decode(api_f_pak_create, api_f_pak_create_n, "{\"user\":7}", &err), 0);
	assert_int_equal(decode(api_f_node_tags, api_f_node_tags_n,
				"{\"nodeId\":\"3\",\"tags\":[\"tag:web\"]}", &err),
			 0);
	assert_int_equal(decode(api_f_apikey_create, api_f_apikey_create_n,
				"{\"expiration\":null}", &err),
			 0);
	/* no body at all */
	assert_int_equal(api_body_decode("", 0, api_f_user_create, api_f_user_create_n, &j, &err),
			 0);
	assert_null(j);
}

static void test_refuses(void **state)
{
	struct jsonx_err err;
	char *big;

	(void)state;
	assert_int_equal(decode(api_f_pak_create, api_f_pak_create_n,
				"{\"user\":\"1\",\"reuseable\":true}", &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "reuseable"));
	assert_int_equal(decode(api_f_pak_create, api_f_pak_create_n,
				"{\"user\":\"1\",\"reusable\":\"yes\"}", &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "reusable"));
	assert_int_equal(decode(api_f_user_create, api_f_user_create_n, "[\"ops\"]", &err),
			 -EINVAL);
	assert_int_equal(decode(api_f_user_create, api_f_user_create_n, "{\"name\":", &err),
			 -EINVAL);
	assert_int_equal(decode(api_f_user_create, api_f_user_create_n,
				"{\"name\":\"a\",\"name\":\"b\"}", &err),
			 -EINVAL);
	assert_int_equal(decode(api_f_node_tags, api_f_node_tags_n, "{\"nodeId\":-1}", &err),
			 -EINVAL);
	big = malloc(API_BODY_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', API_BODY_MAX + 1);
	big[0] = '{';
	big[API_BODY_MAX] = '}';
	big[API_BODY_MAX + 1] = '\0';
	assert_int_equal(decode(api_f_user_create, api_f_user_create_n, big, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "too large"));
	free(big);
}

static void test_kinds(void **state)
{
	(void)state;
	assert_true(api_body_nkinds >= 8);
	for (size_t i = 0; i < api_body_nkinds; i++) {
		assert_true(api_body_kinds[i].n > 0);
		assert_true(api_body_kinds[i].n <= API_BODY_FIELDS_MAX);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
