/* SPDX-License-Identifier: ISC */
/* test_atomicfile: replace, mode 0600, capped reads, in-place rewrite, mkdirs. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "core/atomicfile.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/weft-test-atomicfile.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_write_read(void **state)
{
	char path[256];
	uint8_t *data;
	size_t len;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/state.json", tmpdir);
	assert_int_equal(atomicfile_write(path, "hello", 5, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(atomicfile_write(path, "goodbye", 7, 0600), 0);
	assert_int_equal(atomicfile_read(path, 100, &data, &len), 0);
	assert_int_equal(len, 7);
	assert_string_equal((char *)data, "goodbye");
	free(data);
	/* Only the target remains: no temp files left behind. */
	assert_int_equal(count_entries(tmpdir), 1);
	/* Cap. */
	assert_int_equal(atomicfile_read(path, 6, &data, &len), -EFBIG);
	assert_null(data);
	assert_int_equal(atomicfile_read(path, 7, &data, &len), 0);
	free(data);
	/* Empty file. */
	assert_int_equal(atomicfile_write(path, "", 0, 0600), 0);
	assert_int_equal(atomicfile_read(path, 7, &data, &len), 0);
	assert_int_equal(len, 0);
	free(data);
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	assert_int_equal(atomicfile_read(path, 7, &data, &len), -ENOENT);
	snprintf(path, sizeof(path), "%s/nodir/x", tmpdir);
	assert_int_equal(atomicfile_write(path, "x", 1, 0600), -ENOENT);
}

static void test_large(void **state)
{
	char path[256];
	uint8_t *big = malloc(100000), *data;
	size_t len;

	(void)state;
	for (size_t i = 0; i < 100000; i++)
		big[i] = (uint8_t)(i * 13);
	snprintf(path, sizeof(path), "%s/big", tmpdir);
	assert_int_equal(atomicfile_write(path, big, 100000, 0644), 0);
	assert_int_equal(atomicfile_read(path, 100000, &data, &len), 0);
	assert_int_equal(len, 100000);
	assert_memory_equal(data, big, 100000);
	free(data);
	assert_int_equal(atomicfile_read(path, 99999, &data, &len), -EFBIG);
	free(big);
}

static void test_inplace(void **state)
{
	char path[256];
	struct stat before, after;
	uint8_t *data;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/resolv.conf", tmpdir);
	assert_int_equal(atomicfile_write(path, "nameserver 1.1.1.1\n", 19, 0644), 0);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(atomicfile_rewrite_inplace(path, "nameserver 100.100.100.100\n", 27), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(after.st_mode & 0777, 0644);
	assert_int_equal(atomicfile_read(path, 100, &data, &len), 0);
	assert_string_equal((char *)data, "nameserver 100.100.100.100\n");
	free(data);
}

static void test_mkdirs(void **state)
{
	char path[256];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/a/b/c", tmpdir);
	assert_int_equal(atomicfile_mkdirs(path, 0700), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(atomicfile_mkdirs(path, 0700), 0);
	assert_int_equal(atomicfile_mkdirs("", 0700), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_inplace),
		cmocka_unit_test(test_mkdirs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
