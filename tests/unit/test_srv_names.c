/* SPDX-License-Identifier: ISC */
/*
 * test_srv_names: MagicDNS names: hostnames sanitised to one DNS label (case,
 * separators, UTF-8, length, dashes at the ends), label validity, and unique
 * names host, host-1, host-2, ... shortened so the suffix fits.
 */
#include "weft-server/names.h"
#include "testutil.h"

static void test_sanitize(void **state)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{ "spark", "spark" },
		{ "Spark", "spark" },
		{ "SPARK-01", "spark-01" },
		{ "spark.lan", "spark" },
		{ "spark.example.com", "spark" },
		{ "My Laptop", "my-laptop" },
		{ "my__laptop--2", "my-laptop-2" },
		{ "  padded  ", "padded" },
		{ "-lead", "lead" },
		{ "trail-", "trail" },
		{ "a_b c\td", "a-b-c-d" },
		{ "caf\xc3\xa9 bar", "caf-bar" },
		{ "\xc3\x84\xc3\x96", "node" },
		{ "", "node" },
		{ "...", "node" },
		{ ".hidden", "node" },
		{ "---", "node" },
		{ "123", "123" },
		{ "x", "x" },
	};
	char out[SRVNAME_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		srvname_sanitize(t[i].in, out);
		if (strcmp(out, t[i].want) != 0)
			fail_msg("sanitize(`%s') = `%s', want `%s'", t[i].in, out, t[i].want);
		assert_true(srvname_is_valid(out));
	}
}

static void test_sanitize_long(void **state)
{
	char in[300], out[SRVNAME_MAX + 1];

	(void)state;
	memset(in, 'a', 200);
	in[200] = '\0';
	srvname_sanitize(in, out);
	assert_int_equal(strlen(out), SRVNAME_MAX);
	assert_true(srvname_is_valid(out));

	/* A separator falling at the length limit must not leave a trailing dash. */
	for (size_t cut = SRVNAME_MAX - 4; cut <= SRVNAME_MAX + 2; cut++) {
		memset(in, 'a', cut);
		snprintf(in + cut, sizeof(in) - cut, "-bcdef_ghij");
		srvname_sanitize(in, out);
		if (!srvname_is_valid(out))
			fail_msg("sanitize of %zu a's then a dash gives invalid `%s'", cut, out);
		assert_true(strlen(out) <= SRVNAME_MAX);
	}
}

/* Every output of sanitize is a valid label, whatever the input bytes. */
static void test_sanitize_random(void **state)
{
	uint64_t rng = 0xd15c0ULL;
	char in[160], out[SRVNAME_MAX + 1];
	static const char alphabet[] = "aZ9-_. \t\x80\xc3\xff";

	(void)state;
	for (int i = 0; i < 200000; i++) {
		size_t n = tu_rng(&rng) % (sizeof(in) - 1);
		for (size_t j = 0; j < n; j++)
			in[j] = alphabet[tu_rng(&rng) % (sizeof(alphabet) - 1)];
		in[n] = '\0';
		srvname_sanitize(in, out);
		if (!srvname_is_valid(out))
			fail_msg("sanitize(`%s') = `%s' is not a valid label", in, out);
	}
}

static void test_is_valid(void **state)
{
	static const char *const ok[] = { "a", "host", "host-1", "a-b-c", "0", "x1y2" };
	static const char *const bad[] = { "", "-a", "a-", "Host", "a.b", "a_b", "a b", "\xc3\xa9",
					   "-" };
	char long_ok[SRVNAME_MAX + 1], too_long[SRVNAME_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(srvname_is_valid(ok[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (srvname_is_valid(bad[i]))
			fail_msg("`%s' accepted", bad[i]);
	memset(long_ok, 'a', SRVNAME_MAX);
	long_ok[SRVNAME_MAX] = '\0';
	assert_true(srvname_is_valid(long_ok));
	memset(too_long, 'a', SRVNAME_MAX + 1);
	too_long[SRVNAME_MAX + 1] = '\0';
	assert_false(srvname_is_valid(too_long));
}

/* A set of taken names for srvname_unique. */
struct taken {
	char names[16][SRVNAME_MAX + 1];
	size_t n;
	unsigned calls;
};

static bool is_taken(const char *name, void *arg)
{
	struct taken *t = arg;

	t->calls++;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->names[i], name) == 0)
			return true;
	return false;
}

static void take(struct taken *t, const char *name)
{
	assert_true(t->n < 16);
	snprintf(t->names[t->n++], SRVNAME_MAX + 1, "%s", name);
}

static bool always(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return true;
}

static void test_unique(void **state)
{
	struct taken t = { 0 };
	char out[SRVNAME_MAX + 1], base[SRVNAME_MAX + 1];

	(void)state;
	assert_int_equal(srvname_unique("host", is_taken, &t, out), 0);
	assert_string_equal(out, "host");
	take(&t, out);
	assert_int_equal(srvname_unique("host", is_taken, &t, out), 0);
	assert_string_equal(out, "host-1");
	take(&t, out);
	assert_int_equal(srvname_unique("host", is_taken, &t, out), 0);
	assert_string_equal(out, "host-2");
	take(&t, out);
	/* A freed name is given again, first free wins. */
	snprintf(t.names[1], sizeof(t.names[1]), "gone");
	assert_int_equal(srvname_unique("host", is_taken, &t, out), 0);
	assert_string_equal(out, "host-1");
	/* Other bases are independent. */
	assert_int_equal(srvname_unique("other", is_taken, &t, out), 0);
	assert_string_equal(out, "other");

	/* A full-length base is shortened so that the suffix fits. */
	memset(base, 'b', SRVNAME_MAX);
	base[SRVNAME_MAX] = '\0';
	t.n = 0;
	take(&t, base);
	assert_int_equal(srvname_unique(base, is_taken, &t, out), 0);
	assert_int_equal(strlen(out), SRVNAME_MAX);
	assert_string_equal(out + SRVNAME_MAX - 2, "-1");
	assert_true(srvname_is_valid(out));

	/* Shortening never leaves "x--1". */
	memset(base, 'c', SRVNAME_MAX);
	base[SRVNAME_MAX - 3] = '-';
	base[SRVNAME_MAX] = '\0';
	t.n = 0;
	take(&t, base);
	assert_int_equal(srvname_unique(base, is_taken, &t, out), 0);
	assert_true(srvname_is_valid(out));
	assert_null(strstr(out, "--"));

	/* Nothing free: an error, after a bounded number of tries. */
	assert_int_equal(srvname_unique("host", always, NULL, out), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize),	 cmocka_unit_test(test_sanitize_long),
		cmocka_unit_test(test_sanitize_random), cmocka_unit_test(test_is_valid),
		cmocka_unit_test(test_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
