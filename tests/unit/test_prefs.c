/* SPDX-License-Identifier: ISC */
/* test_prefs: JSON round trip, masked patches, and every validation refusal leaving prefs unchanged. */
#include "ipn/prefs.h"
#include "testutil.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	assert_non_null(j);
	return j;
}

static void test_defaults_and_roundtrip(void **state)
{
	struct ipn_prefs p, q;
	char err[256];
	json_t *j;

	(void)state;
	ipn_prefs_init(&p);
	assert_true(p.corp_dns);
	assert_false(p.want_running);
	j = J("{\"ControlURL\":\"http://ctl.example:8080\",\"WantRunning\":true,"
	      "\"Hostname\":\"spark\",\"AdvertiseTags\":[\"tag:a\",\"tag:b-2\"],"
	      "\"AdvertiseRoutes\":[\"10.1.0.0/24\",\"fd00::/64\"],\"CorpDNS\":false}");
	assert_int_equal(ipn_prefs_from_json(&p, j, err, sizeof(err)), 0);
	json_decref(j);
	assert_string_equal(p.control_url, "http://ctl.example:8080");
	assert_int_equal(p.ntags, 2);
	assert_string_equal(p.tags[1], "tag:b-2");
	assert_int_equal(p.nroutes, 2);
	assert_false(p.corp_dns);
	j = ipn_prefs_to_json(&p);
	assert_non_null(j);
	ipn_prefs_init(&q);
	assert_int_equal(ipn_prefs_from_json(&q, j, err, sizeof(err)), 0);
	json_decref(j);
	assert_true(ipn_prefs_equal(&p, &q));
	ipn_prefs_free(&q);
	assert_int_equal(ipn_prefs_copy(&q, &p), 0);
	assert_true(ipn_prefs_equal(&p, &q));
	q.route_all = true;
	assert_false(ipn_prefs_equal(&p, &q));
	ipn_prefs_free(&q);
	ipn_prefs_free(&p);
}

static void test_masked(void **state)
{
	struct ipn_prefs p;
	char err[256];
	json_t *j;

	(void)state;
	ipn_prefs_init(&p);
	/* Only fields marked Set change. */
	j = J("{\"CorpDNS\":false,\"CorpDNSSet\":true,\"Hostname\":\"x\",\"RouteAll\":true,"
	      "\"RouteAllSet\":true}");
	assert_int_equal(ipn_prefs_apply_masked(&p, j, err, sizeof(err)), 0);
	json_decref(j);
	assert_false(p.corp_dns);
	assert_true(p.route_all);
	assert_string_equal(p.hostname, "");
	j = J("{\"AdvertiseTags\":[\"tag:x\"],\"AdvertiseTagsSet\":true}");
	assert_int_equal(ipn_prefs_apply_masked(&p, j, err, sizeof(err)), 0);
	json_decref(j);
	assert_int_equal(p.ntags, 1);
	ipn_prefs_free(&p);
}

static void test_rejects(void **state)
{
	static const char *const bad[] = {
		"{\"Hostname\":\"a_b\",\"HostnameSet\":true}",
		"{\"Hostname\":\"-ab\",\"HostnameSet\":true}",
		"{\"AdvertiseTags\":[\"spark\"],\"AdvertiseTagsSet\":true}",
		"{\"AdvertiseTags\":[\"tag:\"],\"AdvertiseTagsSet\":true}",
		"{\"AdvertiseTags\":\"tag:a\",\"AdvertiseTagsSet\":true}",
		"{\"AdvertiseRoutes\":[\"10.1.0.1/24\"],\"AdvertiseRoutesSet\":true}",
		"{\"AdvertiseRoutes\":[\"10.1.0.0/33\"],\"AdvertiseRoutesSet\":true}",
		"{\"ControlURL\":\"ctl.example\",\"ControlURLSet\":true}",
		"{\"ControlURL\":\"http://\",\"ControlURLSet\":true}",
		"{\"RouteAll\":\"yes\",\"RouteAllSet\":true}",
		"{\"Bogus\":1}",
		"{\"BogusSet\":true}",
		"{\"RouteAllSet\":1}",
		"{\"OperatorUser\":\"a b\",\"OperatorUserSet\":true}",
		"[1]",
	};
	struct ipn_prefs p;
	char err[256];

	(void)state;
	ipn_prefs_init(&p);
	snprintf(p.hostname, sizeof(p.hostname), "keep");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = J(bad[i]);
		err[0] = '\0';
		assert_int_equal(ipn_prefs_apply_masked(&p, j, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != '\0');
		json_decref(j);
		assert_string_equal(p.hostname, "keep");
		assert_true(p.corp_dns);
	}
	json_t *j = J("{\"Nope\":true}");
	assert_int_equal(ipn_prefs_from_json(&p, j, err, sizeof(err)), -EINVAL);
	json_decref(j);
	ipn_prefs_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_roundtrip),
		cmocka_unit_test(test_masked),
		cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
