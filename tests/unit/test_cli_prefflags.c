/* SPDX-License-Identifier: ISC */
/*
 * test_cli_prefflags: preference flags to JSON (set's masked prefs, up's full prefs), each
 * value's validation with its message, up's refusal to reset unmentioned settings and the
 * command it suggests, and when up may just edit prefs.
 */
#include "testutil.h"
#include "weft/prefflags.h"

struct pf {
	struct cli_prefargs a;
	struct cli_flag f[CLI_PREF_COUNT];
	size_t n;
};

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (j == NULL)
		fail_msg("bad test JSON: %s", e.text);
	return j;
}

/* Parses argv as `weft up` would (every pref flag but --nickname, or all with login). */
static void parse(struct pf *p, unsigned mask, int argc, const char *const *words)
{
	char *argv[16], err[CLI_FLAGS_ERR_MAX];
	size_t npos;

	assert_true(argc <= 16);
	memset(p, 0, sizeof(*p));
	cli_prefargs_init(&p->a);
	cli_prefargs_flags(&p->a, mask, p->f, &p->n, CLI_PREF_COUNT);
	for (int i = 0; i < argc; i++)
		argv[i] = (char *)words[i];
	if (cli_flags_parse(p->f, p->n, argc, argv, &npos, err, sizeof(err)) != CLI_FLAGS_OK)
		fail_msg("parse: %s", err);
	assert_int_equal(npos, 0);
}

#define PARSE(p, mask, ...)                                            \
	do {                                                           \
		static const char *const w_[] = { __VA_ARGS__ };       \
		parse(p, mask, (int)(sizeof(w_) / sizeof(w_[0])), w_); \
	} while (0)

static void assert_json(const json_t *got, const char *want)
{
	json_t *w = J(want);
	char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);

	if (!json_equal(got, w))
		fail_msg("got %s, want %s", g, want);
	free(g);
	json_decref(w);
}

static void test_masked(void **state)
{
	struct pf p;
	char err[CLI_PREF_ERR_MAX];
	json_t *m;

	(void)state;
	PARSE(&p, CLI_PREFS_SET, "--hostname=spark", "--accept-dns=false");
	m = cli_prefargs_masked(&p.a, CLI_PREFS_SET, err, sizeof(err));
	assert_non_null(m);
	assert_json(m, "{\"Hostname\":\"spark\",\"HostnameSet\":true,\"CorpDNS\":false,"
		       "\"CorpDNSSet\":true}");
	json_decref(m);

	PARSE(&p, CLI_PREFS_SET, "--advertise-tags= web , tag:db", "--advertise-routes",
	      "10.1.0.0/24,FD00::/64", "--ssh", "--shields-up=false", "--nickname=work",
	      "--operator=root", "--accept-routes");
	m = cli_prefargs_masked(&p.a, CLI_PREFS_SET, err, sizeof(err));
	if (m == NULL)
		fail_msg("%s", err);
	assert_json(m, "{\"AdvertiseTags\":[\"tag:web\",\"tag:db\"],\"AdvertiseTagsSet\":true,"
		       "\"AdvertiseRoutes\":[\"10.1.0.0/24\",\"fd00::/64\"],"
		       "\"AdvertiseRoutesSet\":true,\"RunSSH\":true,\"RunSSHSet\":true,"
		       "\"ShieldsUp\":false,\"ShieldsUpSet\":true,\"ProfileName\":\"work\","
		       "\"ProfileNameSet\":true,\"OperatorUser\":\"root\",\"OperatorUserSet\":true,"
		       "\"RouteAll\":true,\"RouteAllSet\":true}");
	json_decref(m);

	/* empty values clear */
	PARSE(&p, CLI_PREFS_SET, "--advertise-tags=", "--operator=", "--hostname=");
	m = cli_prefargs_masked(&p.a, CLI_PREFS_SET, err, sizeof(err));
	assert_json(m, "{\"AdvertiseTags\":[],\"AdvertiseTagsSet\":true,\"OperatorUser\":\"\","
		       "\"OperatorUserSet\":true,\"Hostname\":\"\",\"HostnameSet\":true}");
	json_decref(m);

	/* set has no --login-server; up has no --nickname */
	for (size_t i = 0; i < p.n; i++)
		assert_string_not_equal(p.f[i].name, "login-server");
	PARSE(&p, CLI_PREFS_UP);
	for (size_t i = 0; i < p.n; i++)
		assert_string_not_equal(p.f[i].name, "nickname");
}

static void test_rejects(void **state)
{
	static const struct {
		const char *flag;
		const char *err;
	} cases[] = {
		{ "--hostname=a_b", "invalid --hostname: `a_b' is not a valid hostname" },
		{ "--hostname=-ab", "not a valid hostname" },
		{ "--hostname=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "not a valid hostname" },
		{ "--advertise-tags=tag:", "invalid --advertise-tags: `tag:' is not a valid tag" },
		{ "--advertise-tags=a_b", "`tag:a_b' is not a valid tag" },
		{ "--advertise-tags=a,,b", "invalid --advertise-tags `a,,b': an empty item" },
		{ "--advertise-tags=a,", "an empty item" },
		{ "--advertise-tags=,", "an empty item" },
		{ "--advertise-routes=10.1.0.1/24",
		  "invalid --advertise-routes `10.1.0.1/24': host bits are set (10.1.0.0/24?)" },
		{ "--advertise-routes=10.1.0.0/33",
		  "invalid --advertise-routes `10.1.0.0/33': prefix length must be 0-32" },
		{ "--advertise-routes=fd00::/129", "prefix length must be 0-128" },
		{ "--advertise-routes=10.1.0.0", "want a prefix such as 10.0.0.0/24" },
		{ "--advertise-routes=x", "want a prefix" },
		{ "--advertise-routes=10.0.0.0/8,10.1.0.0/08", "`10.1.0.0/08': want a prefix" },
		{ "--operator=no-such-user-weft-test", "no such user on this machine" },
		{ "--operator=bad name", "not a user name" },
		{ "--operator=../etc", "not a user name" },
		{ "--nickname=a\tb", "no control characters" },
		{ "--nickname=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "at most 64 characters" },
		{ "--login-server=ftp://ctl",
		  "invalid --login-server: `ftp://ctl' is not a valid server" },
		{ "--login-server=http://", "not a valid server URL" },
		{ "--login-server=ctl.example", "not a valid server URL" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *w[1] = { cases[i].flag };
		char err[CLI_PREF_ERR_MAX] = "";
		struct pf p;
		json_t *m;

		parse(&p, CLI_PREFS_LOGIN, 1, w);
		m = cli_prefargs_masked(&p.a, CLI_PREFS_LOGIN, err, sizeof(err));
		if (m != NULL || strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu (%s): `%s'", i, cases[i].flag, err);
		assert_null(strchr(err, '\n'));
		/* up builds its prefs through the same validation */
		assert_null(cli_up_prefs(NULL, &p.a, CLI_PREFS_LOGIN, false, err, sizeof(err)));
	}
}

static const char cur_json[] =
	"{\"ControlURL\":\"http://ctl:8080\",\"RouteAll\":false,\"CorpDNS\":false,"
	"\"WantRunning\":false,\"LoggedOut\":true,\"ShieldsUp\":false,\"RunSSH\":false,"
	"\"Hostname\":\"spark\",\"OperatorUser\":\"\",\"ProfileName\":\"work\","
	"\"AdvertiseTags\":[\"tag:web\"],\"AdvertiseRoutes\":[]}";

static void test_up_prefs(void **state)
{
	json_t *cur = J(cur_json), *want;
	char err[CLI_PREF_ERR_MAX];
	struct pf p;

	(void)state;
	/* bare up: everything kept, just running */
	PARSE(&p, CLI_PREFS_UP);
	want = cli_up_prefs(cur, &p.a, CLI_PREFS_UP, false, err, sizeof(err));
	assert_json(want,
		    "{\"ControlURL\":\"http://ctl:8080\",\"RouteAll\":false,\"CorpDNS\":false,"
		    "\"WantRunning\":true,\"LoggedOut\":false,\"ShieldsUp\":false,\"RunSSH\":false,"
		    "\"Hostname\":\"spark\",\"OperatorUser\":\"\",\"ProfileName\":\"work\","
		    "\"AdvertiseTags\":[\"tag:web\"],\"AdvertiseRoutes\":[]}");
	assert_int_equal(
		cli_up_check_reverts(cur, want, &p.a, CLI_PREFS_UP, "up", err, sizeof(err)), 0);
	json_decref(want);

	/* bare up --reset: defaults, but the profile keeps its name */
	want = cli_up_prefs(cur, &p.a, CLI_PREFS_UP, true, err, sizeof(err));
	assert_json(want,
		    "{\"ControlURL\":\"\",\"RouteAll\":false,\"CorpDNS\":true,"
		    "\"WantRunning\":true,\"LoggedOut\":false,\"ShieldsUp\":false,\"RunSSH\":false,"
		    "\"Hostname\":\"\",\"OperatorUser\":\"\",\"ProfileName\":\"work\","
		    "\"AdvertiseTags\":[],\"AdvertiseRoutes\":[]}");
	json_decref(want);

	/* flags: the defaults plus what is mentioned */
	PARSE(&p, CLI_PREFS_UP, "--login-server", "http://ctl:8080", "--accept-dns=false",
	      "--hostname=spark", "--advertise-tags=web");
	want = cli_up_prefs(cur, &p.a, CLI_PREFS_UP, false, err, sizeof(err));
	assert_json(want,
		    "{\"ControlURL\":\"http://ctl:8080\",\"RouteAll\":false,\"CorpDNS\":false,"
		    "\"WantRunning\":true,\"LoggedOut\":false,\"ShieldsUp\":false,\"RunSSH\":false,"
		    "\"Hostname\":\"spark\",\"OperatorUser\":\"\",\"ProfileName\":\"work\","
		    "\"AdvertiseTags\":[\"tag:web\"],\"AdvertiseRoutes\":[]}");
	/* ... which mentions every non-default setting: fine */
	assert_int_equal(
		cli_up_check_reverts(cur, want, &p.a, CLI_PREFS_UP, "up", err, sizeof(err)), 0);
	json_decref(want);
	json_decref(cur);
}

static void test_reverts(void **state)
{
	static const struct {
		const char *argv[4];
		int r;
		const char *names, *cmd;
	} cases[] = {
		{ { "--login-server=http://ctl:8080" },
		  -EEXIST,
		  "did not mention: --accept-dns, --hostname, --advertise-tags.",
		  "\tweft up --login-server=http://ctl:8080 --accept-dns=false --hostname=spark "
		  "--advertise-tags=tag:web\n" },
		/* mentioning one at its default counts: it is asked for */
		{ { "--hostname=", "--accept-dns", "--advertise-tags=" },
		  -EEXIST,
		  "did not mention: --login-server.",
		  "\tweft up --login-server=http://ctl:8080 --accept-dns --hostname= --advertise-tags=\n" },
		{ { "--hostname=x", "--accept-dns", "--advertise-tags=a" },
		  -EEXIST,
		  "did not mention: --login-server.",
		  "--hostname=x" },
		{ { "--login-server=http://ctl:8080", "--accept-dns=false", "--hostname=b",
		    "--advertise-tags=web" },
		  0,
		  NULL,
		  NULL },
		/* a bool mentioned alone: everything else set earlier is named */
		{ { "--accept-routes" },
		  -EEXIST,
		  "--login-server, --accept-dns, --hostname, "
		  "--advertise-tags.",
		  "--accept-routes --accept-dns=false" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *cur = J(cur_json), *want;
		char err[CLI_PREF_ERR_MAX], msg[CLI_PREF_ERR_MAX];
		int argc = 0, r;
		struct pf p;

		while (argc < 4 && cases[i].argv[argc] != NULL)
			argc++;
		parse(&p, CLI_PREFS_UP, argc, cases[i].argv);
		want = cli_up_prefs(cur, &p.a, CLI_PREFS_UP, false, err, sizeof(err));
		assert_non_null(want);
		r = cli_up_check_reverts(cur, want, &p.a, CLI_PREFS_UP, "up", msg, sizeof(msg));
		if (r != cases[i].r)
			fail_msg("case %zu: %d: %s", i, r, msg);
		if (cases[i].names != NULL &&
		    (strstr(msg, cases[i].names) == NULL || strstr(msg, cases[i].cmd) == NULL ||
		     strstr(msg, "--reset") == NULL))
			fail_msg("case %zu: `%s'", i, msg);
		json_decref(want);
		json_decref(cur);
	}
}

static void test_flag_text(void **state)
{
	static const struct {
		enum cli_pref p;
		const char *json;
		const char *want;
	} cases[] = {
		{ CLI_PREF_ACCEPT_DNS, "true", "--accept-dns" },
		{ CLI_PREF_ACCEPT_DNS, "false", "--accept-dns=false" },
		{ CLI_PREF_HOSTNAME, "\"spark\"", "--hostname=spark" },
		{ CLI_PREF_HOSTNAME, "\"\"", "--hostname=" },
		{ CLI_PREF_LOGIN_SERVER, "\"https://ctl.example/x?a=b&c=d\"",
		  "--login-server='https://ctl.example/x?a=b&c=d'" },
		{ CLI_PREF_NICKNAME, "\"it's\"", "--nickname='it'\\''s'" },
		{ CLI_PREF_ADVERTISE_TAGS, "[\"tag:a\",\"tag:b\"]",
		  "--advertise-tags=tag:a,tag:b" },
		{ CLI_PREF_ADVERTISE_ROUTES, "[]", "--advertise-routes=" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
		char buf[256];
		assert_non_null(v);
		cli_pref_flag_text(cases[i].p, v, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
		json_decref(v);
	}
}

static void test_just_edit(void **state)
{
	json_t *cur = J(cur_json), *same = J(cur_json), *server = J(cur_json), *tags = J(cur_json);
	json_t *m;

	(void)state;
	json_object_set_new(same, "Hostname", json_string("other"));
	json_object_set_new(server, "ControlURL", json_string("http://other"));
	json_object_set_new(tags, "AdvertiseTags", json_array());
	assert_true(cli_up_just_edit("Running", cur, same, false, false));
	assert_false(cli_up_just_edit("Starting", cur, same, false, false));
	assert_false(cli_up_just_edit("NeedsLogin", cur, same, false, false));
	assert_false(cli_up_just_edit("Running", cur, same, true, false));
	assert_false(cli_up_just_edit("Running", cur, same, false, true));
	assert_false(cli_up_just_edit("Running", cur, server, false, false));
	assert_false(cli_up_just_edit("Running", cur, tags, false, false));
	m = cli_prefs_mask_all(same);
	assert_int_equal(json_object_size(m), 2 * json_object_size(same));
	assert_true(json_is_true(json_object_get(m, "HostnameSet")));
	assert_string_equal(json_string_value(json_object_get(m, "Hostname")), "other");
	json_decref(m);
	json_decref(cur);
	json_decref(same);
	json_decref(server);
	json_decref(tags);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_masked),	  cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_up_prefs),  cmocka_unit_test(test_reverts),
		cmocka_unit_test(test_flag_text), cmocka_unit_test(test_just_edit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
