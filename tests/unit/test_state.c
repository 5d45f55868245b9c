/* SPDX-License-Identifier: ISC */
/*
 * test_state: weftd's state file: a fresh state, save and reload with every
 * field, profiles added, switched and removed, 0600 on disk, and refusal of
 * damaged files (weftd must not silently start a new identity over them).
 */
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "crypto/ct.h"
#include "weftd/state.h"
#include "testutil.h"

static char dir[] = "/tmp/weft-test-state.XXXXXX";
static char path[256];

static int setup(void **s)
{
	(void)s;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/state.json", dir);
	return 0;
}

static int teardown(void **s)
{
	char cmd[300];

	(void)s;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_fresh_save_reload(void **st)
{
	struct state *s, *t;
	struct state_profile *p, *q;
	char err[256];
	struct stat sb;

	(void)st;
	unlink(path);
	assert_int_equal(state_load(path, &s, err, sizeof(err)), 0);
	assert_int_equal(s->nprofiles, 1);
	p = state_current(s);
	assert_string_equal(p->name, "default");
	assert_int_equal(strlen(p->id), 4);
	assert_false(ct_is_zero(s->machine_key.b, 32));
	snprintf(p->prefs.control_url, sizeof(p->prefs.control_url), "http://ctl:8080");
	p->prefs.want_running = true;
	p->node_id = 7;
	p->user_id = 3;
	snprintf(p->user_login, sizeof(p->user_login), "ops@example.com");
	p->has_server_key = true;
	memset(p->server_key.b, 0x42, 32);
	p->has_old_node_key = true;
	keys_generate(p->old_node_key.b);
	assert_int_equal(state_profile_add(s, "work", &q), 0);
	assert_int_equal(state_profile_switch(s, q), 0);
	assert_int_equal(state_save(s), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(state_load(path, &t, err, sizeof(err)), 0);
	assert_int_equal(t->nprofiles, 2);
	assert_memory_equal(t->machine_key.b, s->machine_key.b, 32);
	assert_string_equal(state_current(t)->name, "work");
	p = state_find(s, "default");
	q = state_find(t, "default");
	assert_non_null(q);
	assert_memory_equal(q->node_key.b, p->node_key.b, 32);
	assert_memory_equal(q->old_node_key.b, p->old_node_key.b, 32);
	assert_true(q->has_server_key);
	assert_memory_equal(q->server_key.b, p->server_key.b, 32);
	assert_int_equal(q->node_id, 7);
	assert_string_equal(q->user_login, "ops@example.com");
	assert_true(ipn_prefs_equal(&q->prefs, &p->prefs));
	assert_non_null(state_find(t, state_current(t)->id));
	/* Removing: not the current one. */
	assert_int_equal(state_profile_remove(t, state_current(t)), -EBUSY);
	assert_int_equal(state_profile_remove(t, q), 0);
	assert_int_equal(t->nprofiles, 1);
	assert_string_equal(state_current(t)->name, "work");
	state_free(t);
	state_free(s);
}

static void test_damaged(void **st)
{
	static const char *const bad[] = {
		"",
		"{",
		"{\"Version\":2}",
		"{\"Version\":1,\"MachineKey\":\"nope\"}",
		"{\"Version\":1,\"MachineKey\":\"privkey:00\",\"CurrentProfile\":\"abcd\",\"Profiles\":{}}",
		"{\"Version\":1,\"MachineKey\":\"privkey:0000000000000000000000000000000000000000000000000000000000000001\",\"CurrentProfile\":\"zzzz\",\"Profiles\":{\"abcd\":{\"Name\":\"x\",\"NodeKey\":\"privkey:0000000000000000000000000000000000000000000000000000000000000001\"}}}",
		"{\"Version\":1,\"MachineKey\":\"privkey:0000000000000000000000000000000000000000000000000000000000000001\",\"CurrentProfile\":\"abcd\",\"Profiles\":{\"abcd\":{\"Name\":\"x\"}}}",
		"{\"Version\":1,\"Version\":1}",
	};
	struct state *s;
	char err[256];

	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(atomicfile_write(path, bad[i], strlen(bad[i]), 0600), 0);
		err[0] = '\0';
		assert_int_not_equal(state_load(path, &s, err, sizeof(err)), 0);
		assert_null(s);
		assert_true(err[0] != '\0');
	}
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_save_reload),
		cmocka_unit_test(test_damaged),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
