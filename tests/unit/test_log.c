/* SPDX-License-Identifier: ISC */
/* test_log: logfmt shape, quoting, levels, and the per-site rate limit. */
#include <errno.h>

#include "core/log.h"
#include "testutil.h"

static char *capture(void (*fn)(void))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	log_set_stream(fp);
	fn();
	log_set_stream(NULL);
	fclose(fp);
	return buf;
}

static void emit_basic(void)
{
	log_info("hello \"world\"\nline2");
	log_debug("hidden");
	errno = ENOENT;
	log_warn("open %s", "/x");
}

static void test_format(void **state)
{
	char *out;

	(void)state;
	log_init("/usr/sbin/weftd", LOG_LEVEL_INFO);
	out = capture(emit_basic);
	assert_non_null(strstr(out, "level=info prog=weftd msg=\"hello \\\"world\\\"\\nline2\""));
	assert_null(strstr(out, "hidden"));
	assert_non_null(strstr(out, "level=warn prog=weftd msg=\"open /x\" error=\"No such file"));
	assert_int_equal(strncmp(out, "ts=", 3), 0);
	free(out);
}

static void emit_flood(void)
{
	for (int i = 0; i < 100; i++)
		log_warnx_rl("flood %d", i);
}

static void test_ratelimit(void **state)
{
	char *out;
	int lines = 0;

	(void)state;
	out = capture(emit_flood);
	for (char *p = out; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, LOG_RL_BURST);
	free(out);
}

static void test_levels(void **state)
{
	enum log_level l;

	(void)state;
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("trace", &l), 0);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("loud", &l), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
