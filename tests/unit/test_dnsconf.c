/* SPDX-License-Identifier: ISC */
/*
 * test_dnsconf: weftd's resolv.conf handling on real files in a temporary
 * directory: apply keeps the original in the state directory and rewrites
 * the file in place (same inode, as a bind mount needs), re-apply and
 * restore, recovery after a simulated crash, a file another program rewrote
 * while weft ran, the host nameservers read from the right file, and a
 * symlinked resolv.conf left alone.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "dns/dnstable.h"
#include "weftd/dnsconf.h"
#include "testutil.h"

static char dir[] = "/tmp/weft-test-dnsconf.XXXXXX";
static char resolv[300], state[300], probe[300];
static const char orig[] = "# the host's own\nnameserver 192.168.1.1\nsearch lan\n";

static int setup(void **s)
{
	(void)s;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(resolv, sizeof(resolv), "%s/resolv.conf", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(probe, sizeof(probe), "%s/no-resolved", dir);
	return mkdir(state, 0700);
}

static int teardown(void **s)
{
	char cmd[400];

	(void)s;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
	uint8_t *p;
	size_t n;

	if (atomicfile_read(path, 1 << 16, &p, &n) < 0)
		return NULL;
	return (char *)p;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static ino_t inode(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return sb.st_ino;
}

static void cfg(struct resolvconf_config *c, const char **search, size_t n)
{
	c->ns = &dnstable_quad100_v4;
	c->n_ns = 1;
	c->search = search;
	c->n_search = n;
}

static void test_apply_restore(void **st)
{
	struct dnsconf d;
	struct resolvconf_config c;
	const char *search[] = { "ts.example", "corp.example" };
	char backup[400], *s;
	struct netendpoint ns[4];
	size_t n;
	ino_t ino;

	(void)st;
	put(resolv, orig);
	ino = inode(resolv);
	snprintf(backup, sizeof(backup), "%s/%s", state, DNSCONF_BACKUP_NAME);
	assert_int_equal(dnsconf_init(&d, resolv, state, probe), 0);
	assert_int_equal(dnsconf_probe(&d), 0);
	assert_int_equal(d.mode, RESOLVCONF_MODE_DIRECT);
	assert_int_equal(dnsconf_recover(&d), 0); /* nothing to do */
	cfg(&c, search, 2);
	assert_int_equal(dnsconf_apply(&d, &c), 0);
	assert_true(d.applied);
	assert_int_equal(inode(resolv), ino); /* rewritten in place */
	s = slurp(resolv);
	assert_true(resolvconf_is_managed(s, strlen(s)));
	assert_non_null(strstr(s, "nameserver 100.100.100.100\nsearch ts.example corp.example\n"));
	free(s);
	s = slurp(backup);
	assert_string_equal(s, orig);
	free(s);
	{
		struct stat sb;
		assert_int_equal(stat(backup, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	/* The host's nameservers come from the backup while ours is in force. */
	assert_int_equal(dnsconf_os_nameservers(&d, ns, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ns[0].addr.a[0], 192);
	/* New search domains: rewritten, the backup is still the original. */
	cfg(&c, search, 1);
	assert_int_equal(dnsconf_apply(&d, &c), 0);
	s = slurp(resolv);
	assert_non_null(strstr(s, "search ts.example\n"));
	free(s);
	s = slurp(backup);
	assert_string_equal(s, orig);
	free(s);
	/* Restore: the original, in place, and no backup left. */
	assert_int_equal(dnsconf_restore(&d), 0);
	assert_false(d.applied);
	s = slurp(resolv);
	assert_string_equal(s, orig);
	free(s);
	assert_int_equal(inode(resolv), ino);
	assert_int_equal(access(backup, F_OK), -1);
	/* Restoring twice does nothing. */
	assert_int_equal(dnsconf_restore(&d), 0);
	s = slurp(resolv);
	assert_string_equal(s, orig);
	free(s);
}

static void test_crash_and_trample(void **st)
{
	struct dnsconf d, e;
	struct resolvconf_config c;
	const char *search[] = { "ts.example" };
	char backup[400], *s;
	static const char dhcp[] = "nameserver 10.9.9.9\n";

	(void)st;
	put(resolv, orig);
	snprintf(backup, sizeof(backup), "%s/%s", state, DNSCONF_BACKUP_NAME);
	assert_int_equal(dnsconf_init(&d, resolv, state, probe), 0);
	assert_int_equal(dnsconf_probe(&d), 0);
	cfg(&c, search, 1);
	assert_int_equal(dnsconf_apply(&d, &c), 0);
	/* weftd is killed here; the next one starts and recovers. */
	assert_int_equal(dnsconf_init(&e, resolv, state, probe), 0);
	assert_int_equal(dnsconf_probe(&e), 0);
	assert_int_equal(e.mode, RESOLVCONF_MODE_DIRECT); /* its own file is still a plain file */
	assert_int_equal(dnsconf_recover(&e), 0);
	s = slurp(resolv);
	assert_string_equal(s, orig);
	free(s);
	assert_int_equal(access(backup, F_OK), -1);
	assert_true(e.note[0] != '\0');

	/* Another program rewrites the file while weft runs: that is the new original. */
	assert_int_equal(dnsconf_apply(&e, &c), 0);
	put(resolv, dhcp);
	assert_int_equal(dnsconf_apply(&e, &c), 0);
	s = slurp(backup);
	assert_string_equal(s, dhcp);
	free(s);
	assert_int_equal(dnsconf_restore(&e), 0);
	s = slurp(resolv);
	assert_string_equal(s, dhcp);
	free(s);

	/* Crash between saving the backup and rewriting: the next start drops the stale backup. */
	put(backup, orig);
	assert_int_equal(dnsconf_recover(&e), 0);
	assert_int_equal(access(backup, F_OK), -1);
	s = slurp(resolv);
	assert_string_equal(s, dhcp);
	free(s);
}

static void test_unmanaged(void **st)
{
	struct dnsconf d;
	struct resolvconf_config c;
	char target[400];

	(void)st;
	snprintf(target, sizeof(target), "%s/elsewhere.conf", dir);
	put(target, orig);
	unlink(resolv);
	assert_int_equal(symlink(target, resolv), 0);
	assert_int_equal(dnsconf_init(&d, resolv, state, probe), 0);
	assert_int_equal(dnsconf_probe(&d), 0);
	assert_int_equal(d.mode, RESOLVCONF_MODE_UNMANAGED);
	cfg(&c, NULL, 0);
	assert_int_equal(dnsconf_apply(&d, &c), -ENOTSUP);
	unlink(resolv);
	/* A symlink into systemd-resolved's directory while it runs: resolved mode. */
	assert_int_equal(symlink("/run/systemd/resolve/stub-resolv.conf", resolv), 0);
	put(probe, "");
	assert_int_equal(dnsconf_probe(&d), 0);
	assert_int_equal(d.mode, RESOLVCONF_MODE_RESOLVED);
	assert_int_equal(dnsconf_apply(&d, &c), -ENOTSUP);
	unlink(resolv);
	unlink(probe);
	put(resolv, orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_restore),
		cmocka_unit_test(test_crash_and_trample),
		cmocka_unit_test(test_unmanaged),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
