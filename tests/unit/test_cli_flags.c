/* SPDX-License-Identifier: ISC */
/* test_cli_flags: the CLI's Go-style flag parser: every accepted form, every reject, help. */
#include <stdbool.h>

#include "testutil.h"
#include "cli/flags.h"

struct vals {
	bool b, t;
	const char *s, *k;
	int64_t c;
	uint64_t d;
};

#define NFLAGS 6

static void table(struct cli_flag f[NFLAGS], struct vals *v)
{
	memset(v, 0, sizeof(*v));
	v->t = true;
	v->c = 10;
	v->d = 5000000000ULL;
	f[0] = (struct cli_flag){
		.name = "b", .kind = CLI_FLAG_BOOL, .value = &v->b, .def = "false", .help = "a bool"
	};
	f[1] = (struct cli_flag){ .name = "accept-dns",
				  .kind = CLI_FLAG_BOOL,
				  .value = &v->t,
				  .def = "true",
				  .help = "a bool that defaults to true" };
	f[2] = (struct cli_flag){ .name = "hostname",
				  .kind = CLI_FLAG_STRING,
				  .value = &v->s,
				  .arg = "NAME",
				  .help = "a string" };
	f[3] = (struct cli_flag){ .name = "c",
				  .kind = CLI_FLAG_INT,
				  .value = &v->c,
				  .min = 0,
				  .max = 100,
				  .arg = "N",
				  .def = "10",
				  .help = "an int" };
	f[4] = (struct cli_flag){ .name = "timeout",
				  .kind = CLI_FLAG_DURATION,
				  .value = &v->d,
				  .arg = "DURATION",
				  .def = "5s",
				  .help = "a duration" };
	f[5] = (struct cli_flag){ .name = "auth-key",
				  .alias = "authkey",
				  .kind = CLI_FLAG_STRING,
				  .value = &v->k,
				  .arg = "KEY",
				  .help = "with an alias" };
}

struct ok_case {
	const char *argv[6];
	bool b, t;
	const char *s, *k;
	int64_t c;
	uint64_t d;
	const char *pos[3];
};

static const struct ok_case oks[] = {
	{ { NULL }, false, true, NULL, NULL, 10, 5000000000ULL, { NULL } },
	{ { "--b" }, true, true, NULL, NULL, 10, 5000000000ULL, { NULL } },
	{ { "-b" }, true, true, NULL, NULL, 10, 5000000000ULL, { NULL } },
	{ { "--b=true" }, true, true, NULL, NULL, 10, 5000000000ULL, { NULL } },
	{ { "--b=T" }, true, true, NULL, NULL, 10, 5000000000ULL, { NULL } },
	{ { "--b=1" }, true, true, NULL, NULL, 10, 5000000000ULL, { NULL } },
	{ { "--accept-dns=false" }, false, false, NULL, NULL, 10, 5000000000ULL, { NULL } },
	{ { "-accept-dns=0" }, false, false, NULL, NULL, 10, 5000000000ULL, { NULL } },
	{ { "--accept-dns=FALSE" }, false, false, NULL, NULL, 10, 5000000000ULL, { NULL } },
	{ { "--hostname", "spark" }, false, true, "spark", NULL, 10, 5000000000ULL, { NULL } },
	{ { "--hostname=spark" }, false, true, "spark", NULL, 10, 5000000000ULL, { NULL } },
	{ { "-hostname", "spark" }, false, true, "spark", NULL, 10, 5000000000ULL, { NULL } },
	{ { "--hostname=" }, false, true, "", NULL, 10, 5000000000ULL, { NULL } },
	{ { "--hostname=a=b" }, false, true, "a=b", NULL, 10, 5000000000ULL, { NULL } },
	/* Go takes the next word as the value, whatever it looks like */
	{ { "--hostname", "-x" }, false, true, "-x", NULL, 10, 5000000000ULL, { NULL } },
	{ { "-c", "3" }, false, true, NULL, NULL, 3, 5000000000ULL, { NULL } },
	{ { "--c=0" }, false, true, NULL, NULL, 0, 5000000000ULL, { NULL } },
	{ { "-c=100" }, false, true, NULL, NULL, 100, 5000000000ULL, { NULL } },
	{ { "--timeout=1m30s" }, false, true, NULL, NULL, 10, 90000000000ULL, { NULL } },
	{ { "--timeout", "0" }, false, true, NULL, NULL, 10, 0, { NULL } },
	{ { "--timeout=250ms" }, false, true, NULL, NULL, 10, 250000000ULL, { NULL } },
	{ { "--authkey=k1" }, false, true, NULL, "k1", 10, 5000000000ULL, { NULL } },
	{ { "--auth-key", "file:/x" }, false, true, NULL, "file:/x", 10, 5000000000ULL, { NULL } },
	/* positional words anywhere, kept in order */
	{ { "peer", "-c", "2" }, false, true, NULL, NULL, 2, 5000000000ULL, { "peer" } },
	{ { "a", "--b", "c" }, true, true, NULL, NULL, 10, 5000000000ULL, { "a", "c" } },
	{ { "--", "--b", "x" }, false, true, NULL, NULL, 10, 5000000000ULL, { "--b", "x" } },
	{ { "-b", "--", "-c" }, true, true, NULL, NULL, 10, 5000000000ULL, { "-c" } },
	{ { "-" }, false, true, NULL, NULL, 10, 5000000000ULL, { "-" } },
};

static void test_accepts(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(oks) / sizeof(oks[0]); i++) {
		const struct ok_case *k = &oks[i];
		struct cli_flag f[NFLAGS];
		struct vals v;
		char *argv[6], err[CLI_FLAGS_ERR_MAX];
		int argc = 0;
		size_t npos = 99;

		table(f, &v);
		while (argc < 6 && k->argv[argc] != NULL) {
			argv[argc] = (char *)k->argv[argc];
			argc++;
		}
		if (cli_flags_parse(f, NFLAGS, argc, argv, &npos, err, sizeof(err)) != CLI_FLAGS_OK)
			fail_msg("case %zu: %s", i, err);
		assert_int_equal(v.b, k->b);
		assert_int_equal(v.t, k->t);
		if (k->s == NULL)
			assert_null(v.s);
		else
			assert_string_equal(v.s, k->s);
		if (k->k == NULL)
			assert_null(v.k);
		else
			assert_string_equal(v.k, k->k);
		assert_int_equal(v.c, k->c);
		assert_int_equal(v.d, k->d);
		for (size_t p = 0; p < 3 && k->pos[p] != NULL; p++)
			assert_string_equal(argv[p], k->pos[p]);
		{
			size_t want = 0;
			while (want < 3 && k->pos[want] != NULL)
				want++;
			assert_int_equal(npos, want);
		}
		/* `set` records what was given */
		assert_int_equal(f[2].set, k->s != NULL);
	}
}

struct bad_case {
	const char *argv[4];
	const char *err; /* a substring of the message */
};

static const struct bad_case bads[] = {
	{ { "--nope" }, "unknown flag --nope" },
	{ { "--nope=1" }, "unknown flag --nope" },
	{ { "-x" }, "unknown flag -x" },
	{ { "---b" }, "bad flag syntax: ---b" },
	{ { "--=x" }, "bad flag syntax" },
	{ { "-=x" }, "bad flag syntax" },
	{ { "--b=maybe" }, "invalid -b `maybe': want true or false" },
	{ { "--b=" }, "want true or false" },
	{ { "--b", "false" }, "write -b=false" },
	{ { "--accept-dns", "true" }, "write --accept-dns=true" },
	{ { "--hostname" }, "flag --hostname needs a value (--hostname=NAME)" },
	{ { "-c" }, "needs a value" },
	{ { "-c", "101" }, "want a whole number from 0 to 100" },
	{ { "-c", "-1" }, "want a whole number" },
	{ { "-c", "x" }, "invalid -c `x'" },
	{ { "-c", "1.5" }, "want a whole number" },
	{ { "-c", "" }, "want a whole number" },
	{ { "-c", " 1" }, "want a whole number" },
	{ { "--timeout=5" }, "want a duration" },
	{ { "--timeout=5x" }, "want a duration" },
	{ { "--timeout=-1s" }, "want a duration" },
	{ { "--b", "--b" }, "flag -b given more than once" },
	{ { "--hostname=a", "--hostname", "b" }, "flag --hostname given more than once" },
	{ { "--authkey=a", "--auth-key=b" }, "flag --auth-key given more than once" },
};

static void test_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct cli_flag f[NFLAGS];
		struct vals v;
		char *argv[4], err[CLI_FLAGS_ERR_MAX];
		int argc = 0;
		size_t npos;

		table(f, &v);
		while (argc < 4 && bads[i].argv[argc] != NULL) {
			argv[argc] = (char *)bads[i].argv[argc];
			argc++;
		}
		assert_int_equal(cli_flags_parse(f, NFLAGS, argc, argv, &npos, err, sizeof(err)),
				 CLI_FLAGS_ERROR);
		if (strstr(err, bads[i].err) == NULL)
			fail_msg("case %zu: `%s' lacks `%s'", i, err, bads[i].err);
		assert_null(strchr(err, '\n')); /* one line */
	}
}

static void test_help(void **state)
{
	static const char *const helps[] = { "-h", "--h", "-help", "--help" };
	struct cli_flag f[NFLAGS];
	struct vals v;
	char err[CLI_FLAGS_ERR_MAX], *buf = NULL;
	size_t npos, len = 0;
	FILE *fp;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		char *argv[2] = { (char *)"--b", (char *)helps[i] };
		table(f, &v);
		assert_int_equal(cli_flags_parse(f, NFLAGS, 2, argv, &npos, err, sizeof(err)),
				 CLI_FLAGS_HELP);
	}
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	cli_flags_usage(fp, f, NFLAGS);
	fclose(fp);
	assert_non_null(strstr(buf, "  --accept-dns, --accept-dns=false\n        a bool that "
				    "defaults to true (default true)\n"));
	assert_non_null(strstr(buf, "  -c N\n        an int (default 10)\n"));
	assert_non_null(strstr(buf, "  --auth-key KEY\n        with an alias (also --authkey)\n"));
	free(buf);
}

static void test_head(void **state)
{
	const char *socket = NULL;
	bool ver = false;
	struct cli_flag g[] = {
		{ .name = "socket", .kind = CLI_FLAG_STRING, .value = &socket, .arg = "PATH" },
		{ .name = "version", .kind = CLI_FLAG_BOOL, .value = &ver },
	};
	char *a1[] = { (char *)"--socket", (char *)"/s", (char *)"status", (char *)"--json" };
	char *a2[] = { (char *)"status", (char *)"--socket=/x" };
	char *a3[] = { (char *)"--socket=/y", (char *)"--", (char *)"up" };
	char *a4[] = { (char *)"--json", (char *)"status" };
	char err[CLI_FLAGS_ERR_MAX];
	size_t used;

	(void)state;
	assert_int_equal(cli_flags_parse_head(g, 2, 4, a1, &used, err, sizeof(err)), CLI_FLAGS_OK);
	assert_int_equal(used, 2);
	assert_string_equal(socket, "/s");
	assert_string_equal(a1[2], "status"); /* not reordered */
	socket = NULL;
	assert_int_equal(cli_flags_parse_head(g, 2, 2, a2, &used, err, sizeof(err)), CLI_FLAGS_OK);
	assert_int_equal(used, 0);
	assert_null(socket); /* the subcommand's words are its own */
	assert_int_equal(cli_flags_parse_head(g, 2, 3, a3, &used, err, sizeof(err)), CLI_FLAGS_OK);
	assert_int_equal(used, 2);
	assert_string_equal(socket, "/y");
	assert_int_equal(cli_flags_parse_head(g, 2, 2, a4, &used, err, sizeof(err)),
			 CLI_FLAGS_ERROR);
	assert_string_equal(err, "unknown flag --json");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_head),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
