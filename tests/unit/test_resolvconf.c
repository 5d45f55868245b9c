/* SPDX-License-Identifier: ISC */
/*
 * test_resolvconf: resolv.conf as glibc reads it (nameservers, the last
 * search/domain line, junk skipped), the managed file and its marker, the
 * mode for each kind of host, and the apply/restore/start plans for every
 * combination of (file is ours or not) x (backup or not).
 */
#include <errno.h>

#include "dns/dnstable.h"
#include "dns/resolvconf.h"
#include "testutil.h"

static void test_parse(void **state)
{
	struct resolvconf_parsed p;
	char a[NETENDPOINT_STRLEN];
	static const char text[] = "# comment\n"
				   "; also a comment\n"
				   "nameserver 192.168.1.1\n"
				   "  nameserver\t2001:db8::53  # trailing\n"
				   "nameserver fe80::1%eth0\n"
				   "nameserver not-an-address\n"
				   "nameserver\n"
				   "search a.example b.example\n"
				   "options edns0 ndots:2\n"
				   "domain last.example\r\n"
				   "nameserver 10.0.0.1";

	(void)state;
	resolvconf_parse(text, strlen(text), &p);
	assert_false(p.managed);
	assert_int_equal(p.n_ns, 3);
	assert_string_equal(netendpoint_format(&p.ns[0], a, sizeof(a)), "192.168.1.1:53");
	assert_string_equal(netendpoint_format(&p.ns[1], a, sizeof(a)), "[2001:db8::53]:53");
	assert_string_equal(netendpoint_format(&p.ns[2], a, sizeof(a)), "10.0.0.1:53");
	assert_int_equal(p.n_search, 1); /* the last of search/domain wins */
	assert_string_equal(p.search[0], "last.example");
	resolvconf_parse(NULL, 0, &p);
	assert_int_equal(p.n_ns, 0);
}

static void test_render(void **state)
{
	const char *search[] = { "ts.example", "corp.example" };
	struct resolvconf_config c = { &dnstable_quad100_v4, 1, search, 2 };
	struct resolvconf_parsed p;
	char buf[1024];
	int n;

	(void)state;
	n = resolvconf_render(&c, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(strncmp(buf, RESOLVCONF_MARKER "\n", strlen(RESOLVCONF_MARKER) + 1), 0);
	assert_non_null(
		strstr(buf, "\nnameserver 100.100.100.100\nsearch ts.example corp.example\n"));
	assert_true(resolvconf_is_managed(buf, (size_t)n));
	resolvconf_parse(buf, (size_t)n, &p);
	assert_true(p.managed);
	assert_int_equal(p.n_ns, 1);
	assert_int_equal(p.n_search, 2);
	assert_int_equal(resolvconf_render(&c, buf, 40), -ENOSPC);
	search[1] = "bad domain";
	assert_int_equal(resolvconf_render(&c, buf, sizeof(buf)), -EINVAL);
	/* The marker must be the whole first line. */
	assert_false(resolvconf_is_managed(RESOLVCONF_MARKER "X\n", strlen(RESOLVCONF_MARKER) + 2));
	assert_false(resolvconf_is_managed("nameserver 1.1.1.1\n" RESOLVCONF_MARKER "\n", 60));
}

static void test_mode(void **state)
{
	static const char resolved_stub[] =
		"# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\n"
		"nameserver 127.0.0.53\n";
	static const char plain[] = "nameserver 192.168.1.1\n";
	static const char ours[] = RESOLVCONF_MARKER "\nnameserver 100.100.100.100\n";
	const struct {
		struct resolvconf_probe p;
		enum resolvconf_mode want;
	} cases[] = {
		{ { true, false, NULL, plain, sizeof(plain) - 1, false }, RESOLVCONF_MODE_DIRECT },
		{ { true, false, NULL, plain, sizeof(plain) - 1, true }, RESOLVCONF_MODE_DIRECT },
		{ { true, false, NULL, ours, sizeof(ours) - 1, true }, RESOLVCONF_MODE_DIRECT },
		{ { true, true, "../run/systemd/resolve/stub-resolv.conf", resolved_stub,
		    sizeof(resolved_stub) - 1, true },
		  RESOLVCONF_MODE_RESOLVED },
		{ { true, false, NULL, resolved_stub, sizeof(resolved_stub) - 1, true },
		  RESOLVCONF_MODE_RESOLVED },
		/* resolved's file, but resolved is not running: a plain file. */
		{ { true, false, NULL, resolved_stub, sizeof(resolved_stub) - 1, false },
		  RESOLVCONF_MODE_DIRECT },
		{ { true, true, "/run/systemd/resolve/stub-resolv.conf", NULL, 0, false },
		  RESOLVCONF_MODE_UNMANAGED },
		{ { true, true, "/run/resolvconf/resolv.conf", plain, sizeof(plain) - 1, false },
		  RESOLVCONF_MODE_UNMANAGED },
		{ { false, false, NULL, NULL, 0, true }, RESOLVCONF_MODE_UNMANAGED },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		enum resolvconf_mode m = resolvconf_mode_choose(&cases[i].p, &why);
		if (m != cases[i].want)
			fail_msg("case %zu: %s, want %s", i, resolvconf_mode_name(m),
				 resolvconf_mode_name(cases[i].want));
		assert_non_null(why);
	}
}

static void test_plans(void **state)
{
	static const char orig[] = "nameserver 192.168.1.1\n";
	static const char ours[] = RESOLVCONF_MARKER "\nnameserver 100.100.100.100\n";
	static const char ours2[] = RESOLVCONF_MARKER "\nnameserver 100.100.100.100\nsearch x\n";
	static const char dhcp[] = "nameserver 10.9.9.9\n";
	struct resolvconf_plan p;
	/* (cur, backup) -> what start, apply(ours) and restore do */
	const struct {
		const char *cur, *backup;
		bool s_write, s_remove;
		const char *s_content;
		bool a_save, a_write;
		bool r_write, r_remove;
		const char *r_content;
	} cases[] = {
		/* first run: original in place, no backup */
		{ orig, NULL, false, false, NULL, true, true, false, false, NULL },
		/* running: ours in place, backup kept */
		{ ours, orig, true, true, orig, false, false, true, true, orig },
		/* ours with other search domains: rewrite, backup untouched */
		{ ours2, orig, true, true, orig, false, true, true, true, orig },
		/* DHCP rewrote it while we ran (or while we were down): its file is the new
		   original */
		{ dhcp, orig, false, true, NULL, true, true, false, true, NULL },
		/* ours and no backup: the original is lost */
		{ ours, NULL, true, false, resolvconf_lost_original, false, true, true, false,
		  resolvconf_lost_original },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct resolvconf_files f = { true,
					      cases[i].cur,
					      strlen(cases[i].cur),
					      cases[i].backup != NULL,
					      cases[i].backup,
					      cases[i].backup ? strlen(cases[i].backup) : 0 };

		resolvconf_plan_start(&f, &p);
		assert_int_equal(p.save_backup, false);
		if (p.write != cases[i].s_write || p.remove_backup != cases[i].s_remove)
			fail_msg("start %zu: write %d remove %d", i, p.write, p.remove_backup);
		if (p.write)
			assert_memory_equal(p.content, cases[i].s_content, p.len);
		resolvconf_plan_apply(&f, ours, strlen(ours), &p);
		if (p.save_backup != cases[i].a_save || p.write != cases[i].a_write)
			fail_msg("apply %zu: save %d write %d", i, p.save_backup, p.write);
		assert_false(p.remove_backup);
		if (p.write)
			assert_ptr_equal(p.content, ours);
		resolvconf_plan_restore(&f, &p);
		if (p.write != cases[i].r_write || p.remove_backup != cases[i].r_remove)
			fail_msg("restore %zu: write %d remove %d", i, p.write, p.remove_backup);
		if (p.write)
			assert_memory_equal(p.content, cases[i].r_content, p.len);
	}
	/* No resolv.conf: nothing to manage, nothing to restore. */
	{
		struct resolvconf_files f = { 0 };
		resolvconf_plan_apply(&f, ours, strlen(ours), &p);
		assert_false(p.write || p.save_backup);
		assert_non_null(p.note);
		resolvconf_plan_restore(&f, &p);
		assert_false(p.write || p.remove_backup);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_plans),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
