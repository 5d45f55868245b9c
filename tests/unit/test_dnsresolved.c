/* SPDX-License-Identifier: ISC */
/*
 * test_dnsresolved: weftd carrying out systemd-resolved link settings. The
 * build machines run no systemd, so resolvectl itself cannot be exercised:
 * this is the one place weft's tests use a fake, a runner injected in place
 * of fork+exec that records every argv and fails on demand. With it: the
 * commands for a set, nothing run for an unchanged plan, a failure returned,
 * logged once and retried, revert (also of a half-set link, not of a link
 * that is gone), a change of interface. The real runner is then driven with
 * small shell scripts standing in for resolvectl: argv passed verbatim
 * without a shell, exit status and output in the error, a missing program,
 * and a hung one killed at its deadline.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "dns/dnstable.h"
#include "dns/resolved.h"
#include "weftd/dnsresolved.h"
#include "testutil.h"

/* ---- the fake runner ------------------------------------------------------------------ */

struct fake {
	char log[16384]; /* one line per command run, argv joined by spaces */
	size_t calls;
	size_t fail_at; /* 1-based call number that fails; 0 = none */
	int fail_rc;
};

static int fake_run(void *arg, const char *const *argv, char *err, size_t errlen)
{
	struct fake *f = arg;
	size_t o = strlen(f->log);

	for (size_t i = 0; argv[i] != NULL; i++)
		o += (size_t)snprintf(f->log + o, sizeof(f->log) - o, "%s%s", i > 0 ? " " : "",
				      argv[i]);
	snprintf(f->log + o, sizeof(f->log) - o, "\n");
	if (++f->calls == f->fail_at) {
		snprintf(err, errlen,
			 "%s %s failed (exit 1): Failed to set DNS configuration: "
			 "Link %s not known",
			 argv[0], argv[2], argv[3]);
		return f->fail_rc;
	}
	return 0;
}

static FILE *logf_;

static int setup(void **s)
{
	(void)s;
	logf_ = tmpfile();
	if (logf_ == NULL)
		return -1;
	log_set_stream(logf_);
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	log_set_stream(NULL);
	fclose(logf_);
	return 0;
}

/* How often `needle` was logged since the last call. */
static int logged(const char *needle)
{
	static char buf[65536];
	size_t n;
	int count = 0;

	fflush(logf_);
	rewind(logf_);
	n = fread(buf, 1, sizeof(buf) - 1, logf_);
	buf[n] = '\0';
	for (const char *p = buf; (p = strstr(p, needle)) != NULL; p++)
		count++;
	assert_int_equal(ftruncate(fileno(logf_), 0), 0);
	rewind(logf_);
	return count;
}

static struct resolved_link lk; /* large */

static const struct resolved_link *mklink(const char *ifname, bool override)
{
	memset(&lk, 0, sizeof(lk));
	lk.action = RESOLVED_SET;
	snprintf(lk.ifname, sizeof(lk.ifname), "%s", ifname);
	lk.dns[0] = dnstable_quad100_v4;
	lk.n_dns = 1;
	snprintf(lk.domains[0].name, sizeof(lk.domains[0].name), "ts.example");
	snprintf(lk.domains[1].name, sizeof(lk.domains[1].name), "corp.example");
	lk.domains[1].route_only = true;
	lk.n_domains = 2;
	if (override) {
		snprintf(lk.domains[2].name, sizeof(lk.domains[2].name), ".");
		lk.domains[2].route_only = true;
		lk.n_domains = 3;
		lk.default_route = true;
	}
	return &lk;
}

static struct dnsresolved *mk(struct fake *f)
{
	struct dnsresolved_runner run = { fake_run, f };
	struct dnsresolved_config c = { .runner = &run };
	struct dnsresolved *r;

	memset(f, 0, sizeof(*f));
	assert_int_equal(dnsresolved_new(&c, &r), 0);
	return r;
}

static void test_set(void **s)
{
	struct fake f;
	struct dnsresolved *r = mk(&f);

	(void)s;
	assert_false(dnsresolved_in_force(r));
	assert_string_equal(dnsresolved_settings(r), "");
	assert_int_equal(dnsresolved_apply(r, mklink("lo", false)), 0);
	assert_string_equal(f.log, "/usr/bin/resolvectl -- dns lo 100.100.100.100\n"
				   "/usr/bin/resolvectl -- domain lo ts.example ~corp.example\n"
				   "/usr/bin/resolvectl -- default-route lo no\n"
				   "/usr/bin/resolvectl -- llmnr lo no\n"
				   "/usr/bin/resolvectl -- mdns lo no\n"
				   "/usr/bin/resolvectl -- flush-caches\n");
	assert_true(dnsresolved_in_force(r));
	assert_false(dnsresolved_failed(r));
	assert_string_equal(dnsresolved_ifname(r), "lo");
	assert_non_null(
		strstr(dnsresolved_settings(r), "resolvectl domain lo ts.example ~corp.example\n"));
	assert_int_equal(logged("lo set: 1 servers, 2 domains, default route no"), 1);

	/* The same plan again (every map that changes nothing for DNS): nothing runs. */
	f.log[0] = '\0';
	assert_int_equal(dnsresolved_apply(r, mklink("lo", false)), 0);
	assert_string_equal(f.log, "");
	/* A change (the server now overrides the host's DNS): everything is set again. */
	assert_int_equal(dnsresolved_apply(r, mklink("lo", true)), 0);
	assert_non_null(strstr(f.log, "-- domain lo ts.example ~corp.example ~.\n"));
	assert_non_null(strstr(f.log, "-- default-route lo yes\n"));
	assert_int_equal(f.calls, 12);

	/* Revert gives the link back, once. */
	f.log[0] = '\0';
	assert_int_equal(dnsresolved_revert(r), 0);
	assert_string_equal(f.log, "/usr/bin/resolvectl -- revert lo\n");
	assert_false(dnsresolved_in_force(r));
	assert_string_equal(dnsresolved_settings(r), "");
	assert_int_equal(logged("lo reverted"), 1);
	f.log[0] = '\0';
	assert_int_equal(dnsresolved_revert(r), 0);
	assert_string_equal(f.log, "");
	dnsresolved_free(r);
}

static void test_failure(void **s)
{
	struct fake f;
	struct dnsresolved *r = mk(&f);

	(void)s;
	/* The second command fails: the error comes back, the rest is not run. */
	f.fail_at = 2;
	f.fail_rc = -EIO;
	assert_int_equal(dnsresolved_apply(r, mklink("lo", false)), -EIO);
	assert_int_equal(f.calls, 2);
	assert_false(dnsresolved_in_force(r));
	assert_true(dnsresolved_failed(r));
	assert_non_null(strstr(dnsresolved_error(r), "domain failed (exit 1)"));
	assert_int_equal(logged("Link lo not known"), 1);
	/* Retried on the next apply, and the same failure is not logged again. */
	f.calls = 0;
	f.fail_at = 2;
	assert_int_equal(dnsresolved_apply(r, mklink("lo", false)), -EIO);
	assert_int_equal(f.calls, 2);
	assert_int_equal(logged("Link lo not known"), 0);
	/* A half-set link is still ours: revert runs. */
	f.log[0] = '\0';
	f.fail_at = 0;
	assert_int_equal(dnsresolved_revert(r), 0);
	assert_string_equal(f.log, "/usr/bin/resolvectl -- revert lo\n");
	assert_false(dnsresolved_failed(r));
	/* Then success: in force, the error gone; a later failure is logged afresh. */
	assert_int_equal(dnsresolved_apply(r, mklink("lo", false)), 0);
	assert_true(dnsresolved_in_force(r));
	assert_string_equal(dnsresolved_error(r), "");
	f.calls = 0;
	f.fail_at = 1;
	f.fail_rc = -EIO;
	assert_int_equal(dnsresolved_revert(r), -EIO);
	assert_int_equal(logged("Link lo not known"), 1);
	dnsresolved_free(r);
}

static int silent_run(void *arg, const char *const *argv, char *err, size_t errlen)
{
	(void)arg;
	(void)argv;
	(void)err;
	(void)errlen;
	return -EPERM;
}

static void test_silent_failure(void **s)
{
	struct dnsresolved_runner run = { silent_run, NULL };
	struct dnsresolved_config c = { .runner = &run };
	struct dnsresolved *r;

	(void)s;
	/* A runner failing without saying why still leaves a message naming the command. */
	assert_int_equal(dnsresolved_new(&c, &r), 0);
	assert_int_equal(dnsresolved_apply(r, mklink("lo", false)), -EPERM);
	assert_string_equal(dnsresolved_error(r),
			    "/usr/bin/resolvectl dns: Operation not permitted");
	assert_int_equal(logged("Operation not permitted"), 1);
	dnsresolved_free(r);
}

static void test_revert_cases(void **s)
{
	struct fake f;
	struct dnsresolved *r = mk(&f);
	struct resolved_link rv = { .action = RESOLVED_REVERT };

	(void)s;
	/* Nothing of ours on the link: a revert plan runs nothing. */
	snprintf(rv.ifname, sizeof(rv.ifname), "lo");
	assert_int_equal(dnsresolved_apply(r, &rv), 0);
	assert_int_equal(f.calls, 0);
	/* Set, then a revert plan (--accept-dns=false): resolvectl revert. */
	assert_int_equal(dnsresolved_apply(r, mklink("lo", false)), 0);
	f.log[0] = '\0';
	assert_int_equal(dnsresolved_apply(r, &rv), 0);
	assert_string_equal(f.log, "/usr/bin/resolvectl -- revert lo\n");
	/* A link that is gone (the TUN deleted at exit) took its settings along: nothing runs. */
	f.fail_at = 1; /* any command run would fail */
	f.fail_rc = -EIO;
	f.calls = 0;
	assert_int_equal(dnsresolved_apply(r, mklink("weftgone9", false)), -EIO);
	assert_int_equal(logged("weftgone9 not known"), 1);
	assert_int_equal(dnsresolved_revert(r), 0);
	assert_int_equal(f.calls, 1);
	assert_false(dnsresolved_failed(r));
	dnsresolved_free(r);
}

static void test_ifname_change(void **s)
{
	struct fake f;
	struct dnsresolved *r = mk(&f);

	(void)s;
	assert_int_equal(dnsresolved_apply(r, mklink("lo", false)), 0);
	f.log[0] = '\0';
	/* Another TUN name (a restart with --tun): the old link is given back first. */
	assert_int_equal(dnsresolved_apply(r, mklink("weftgone9", false)), 0);
	assert_non_null(strstr(f.log, "/usr/bin/resolvectl -- revert lo\n"
				      "/usr/bin/resolvectl -- dns weftgone9 100.100.100.100\n"));
	dnsresolved_free(r);
}

static void test_config(void **s)
{
	struct dnsresolved_config c = { .prog = "resolvectl" };
	struct dnsresolved *r;

	(void)s;
	/* No PATH search as root. */
	assert_int_equal(dnsresolved_new(&c, &r), -EINVAL);
	assert_null(r);
	assert_int_equal(dnsresolved_new(NULL, &r), 0);
	dnsresolved_free(r);
	dnsresolved_free(NULL);
}

/* ---- the real runner, with scripts in place of resolvectl ------------------------------- */

static char dir[] = "/tmp/weft-test-dnsresolved.XXXXXX";

static void script(const char *path, const char *body)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_true(fprintf(fp, "#!/bin/sh\n%s\n", body) > 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0700), 0);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void test_exec(void **s)
{
	char prog[256], out[256], body[600];
	struct dnsresolved_config c = { .prog = prog, .timeout_ms = 300 };
	struct dnsresolved *r;
	uint64_t t0;

	(void)s;
	assert_non_null(mkdtemp(dir));
	snprintf(prog, sizeof(prog), "%s/resolvectl", dir);
	snprintf(out, sizeof(out), "%s/argv", dir);
	/* Each argument on its own line: a shell splitting or expanding them would show. */
	snprintf(body, sizeof(body),
		 "for a in \"$@\"; do printf '%%s|' \"$a\" >> '%s'; done\n"
		 "echo >> '%s'",
		 out, out);
	script(prog, body);
	assert_int_equal(dnsresolved_new(&c, &r), 0);
	assert_int_equal(dnsresolved_apply(r, mklink("lo", false)), 0);
	assert_string_equal(slurp(out), "--|dns|lo|100.100.100.100|\n"
					"--|domain|lo|ts.example|~corp.example|\n"
					"--|default-route|lo|no|\n"
					"--|llmnr|lo|no|\n"
					"--|mdns|lo|no|\n"
					"--|flush-caches|\n");

	/* A failing command: its exit status and first line of output in the error. */
	script(prog, "echo 'Failed to revert interface configuration: Access denied' >&2\nexit 4");
	assert_int_equal(dnsresolved_revert(r), -EIO);
	assert_non_null(strstr(dnsresolved_error(r),
			       "revert failed (exit 4): Failed to revert interface configuration: "
			       "Access denied"));
	assert_int_equal(logged("Access denied"), 1);

	/* Hung (resolved not answering D-Bus): killed at the deadline. */
	script(prog, "exec tail -f /dev/null");
	t0 = clock_mono_ns();
	assert_int_equal(dnsresolved_revert(r), -ETIMEDOUT);
	assert_true(clock_mono_ns() - t0 < 5000000000ULL);
	assert_non_null(strstr(dnsresolved_error(r), "no answer within 300 ms"));
	dnsresolved_free(r);

	/* Not installed. */
	snprintf(prog, sizeof(prog), "%s/missing", dir);
	assert_int_equal(dnsresolved_new(&c, &r), 0);
	assert_int_equal(dnsresolved_apply(r, mklink("lo", false)), -ENOENT);
	assert_non_null(strstr(dnsresolved_error(r), "cannot run"));
	assert_non_null(strstr(dnsresolved_error(r), "No such file"));
	dnsresolved_free(r);

	snprintf(body, sizeof(body), "rm -rf '%s'", dir);
	assert_int_equal(system(body), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_failure),
		cmocka_unit_test(test_revert_cases),
		cmocka_unit_test(test_ifname_change),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_silent_failure),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
