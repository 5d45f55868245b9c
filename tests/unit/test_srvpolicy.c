/* SPDX-License-Identifier: ISC */
/*
 * test_srvpolicy: the server's policy over a real state (SQLite in a
 * temporary directory): without a policy (tags), database mode (set with
 * tests against the live tailnet, refusals with line:column or the failing
 * assertion, the previous policy kept, persistence), the compilation from
 * the state (logins, tagged nodes without a user, gone nodes left out, the
 * per-node changed flags after a change), tag ownership for admins and
 * nodes, and file mode (reload on change, a broken file ignored, set
 * refused).
 */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "crypto/keys.h"
#include "weft-server/config.h"
#include "weft-server/srvpolicy.h"
#include "weft-server/state.h"

struct fx {
	char dir[64];
	struct srv_config *cfg;
	struct srv_state *st;
	struct srv_policy *p;
	struct srv_user *dev, *ops;
	struct srv_node *n_dev, *n_web, *n_ops;
};

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = v != NULL ? strdup(v) : NULL;
}

static struct srv_node *add_node(struct fx *f, struct srv_user *u, const char *host, uint8_t seed)
{
	struct srv_registration r = { 0 };
	struct srv_node *n;
	char err[SRV_ERR_LEN];

	memset(r.machine.b, seed, sizeof(r.machine.b));
	memset(r.key.b, seed + 100, sizeof(r.key.b));
	snprintf(r.hostname, sizeof(r.hostname), "%s", host);
	if (srv_node_register_user(f->st, &r, u, &n, err, sizeof(err)) < 0)
		fail_msg("register %s: %s", host, err);
	return n;
}

static void fx_open(struct fx *f, enum srv_policy_mode mode, const char *path)
{
	struct machine_private key;
	char err[SRV_POLICY_ERR_LEN], db[128];

	assert_int_equal(srv_config_defaults(&f->cfg), 0);
	snprintf(db, sizeof(db), "%s/db.sqlite", f->dir);
	set_str(&f->cfg->sqlite_path, db);
	set_str(&f->cfg->server_url, "https://weft.example");
	set_str(&f->cfg->policy_path, path);
	f->cfg->policy_mode = mode;
	memset(key.b, 7, sizeof(key.b));
	if (srv_state_open(&f->st, f->cfg, &key, err, sizeof(err)) < 0)
		fail_msg("state: %s", err);
	if (srv_policy_new(f->st, f->cfg, &f->p, err, sizeof(err)) < 0)
		fail_msg("policy: %s", err);
}

static void fx_close(struct fx *f)
{
	srv_policy_free(f->p);
	srv_state_close(f->st);
	srv_config_free(f->cfg);
	f->p = NULL;
	f->st = NULL;
	f->cfg = NULL;
}

/* dev (no email: "dev@") with dev-laptop and web (tagged tag:web), ops@example.com with one. */
static void fx_tailnet(struct fx *f)
{
	char err[SRV_ERR_LEN];
	char *web[] = { (char *)"tag:web" };

	assert_int_equal(srv_user_create(f->st, "dev", NULL, NULL, &f->dev, err, sizeof(err)), 0);
	assert_int_equal(
		srv_user_create(f->st, "ops", NULL, "ops@example.com", &f->ops, err, sizeof(err)),
		0);
	f->n_dev = add_node(f, f->dev, "dev-laptop", 1);
	f->n_web = add_node(f, f->dev, "web", 2);
	f->n_ops = add_node(f, f->ops, "ops-box", 3);
	assert_int_equal(srv_node_set_tags(f->st, f->n_web, web, 1, err, sizeof(err)), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/weft-srvpolicy.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	fx_close(f);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

#define POLICY                                                                                 \
	"{\n"                                                                                  \
	"  // dev may reach tag:web on 80; ops may reach everything\n"                         \
	"  \"groups\": {\"group:dev\": [\"dev@\"]},\n"                                         \
	"  \"tagOwners\": {\"tag:web\": [\"group:dev\"], \"tag:db\": [],"                      \
	" \"tag:job\": [\"tag:web\"]},\n"                                                      \
	"  \"acls\": [\n"                                                                      \
	"    {\"action\": \"accept\", \"src\": [\"group:dev\"], \"dst\": [\"tag:web:80\"]},\n" \
	"    {\"action\": \"accept\", \"src\": [\"ops@example.com\"], \"dst\": [\"*:*\"]},\n"  \
	"  ],\n"                                                                               \
	"  \"tests\": [{\"src\": \"dev@\", \"accept\": [\"tag:web:80\"], \"deny\": "           \
	"[\"tag:web:22\"]}],\n"                                                                \
	"}\n"

static void test_none(void **state)
{
	struct fx *f = *state;
	char err[SRV_POLICY_ERR_LEN];
	char *tags[] = { (char *)"tag:any" };
	struct srv_compiled *prev = (struct srv_compiled *)1;
	int64_t upd;

	fx_open(f, SRV_POLICY_DATABASE, NULL);
	assert_false(srv_policy_active(f->p));
	assert_string_equal(srv_policy_text(f->p, &upd), "");
	assert_null(srv_policy_compiled(f->p));
	srv_policy_mark_dirty(f->p); /* nothing to compile */
	assert_int_equal(srv_policy_sync(f->p, &prev), 0);
	assert_null(prev);
	/* Without a policy the admin may tag freely, but no one owns a tag. */
	assert_int_equal(srv_policy_tags_allowed(f->p, tags, 1, NULL, err, sizeof(err)), 0);
	assert_int_equal(srv_policy_tags_allowed(f->p, tags, 1, "dev@", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "no policy is set"));
}

static void test_database(void **state)
{
	struct fx *f = *state;
	char err[SRV_POLICY_ERR_LEN];
	struct srv_compiled *prev, *c;
	size_t nt, ns, len, idev, iweb, iops;
	const char *text;
	int64_t upd;

	fx_open(f, SRV_POLICY_DATABASE, NULL);
	fx_tailnet(f);
	/* Refusals: syntax with line:column, a failing test with its assertion. */
	text = "{\n  \"acls\": [{\"action\": \"deny\"}]}";
	assert_int_equal(srv_policy_set(f->p, text, strlen(text), err, sizeof(err)), -EINVAL);
	if (strstr(err, "acls[0].action") == NULL || strncmp(err, "2:", 2) != 0)
		fail_msg("refusal: %s", err);
	text = "{\"groups\": {\"group:dev\": [\"dev@\"]}, \"tagOwners\": {\"tag:web\": []},"
	       " \"acls\": [], \"tests\": [{\"src\": \"dev@\", \"accept\": [\"tag:web:80\"]}]}";
	assert_int_equal(srv_policy_check(f->p, text, strlen(text), NULL, NULL, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "tests[0].accept[0]"));
	assert_non_null(strstr(err, "expected accept, got deny"));
	assert_false(srv_policy_active(f->p));
	assert_int_equal(srv_policy_check(f->p, POLICY, strlen(POLICY), &nt, &ns, err, sizeof(err)),
			 0);
	assert_int_equal(nt, 1);
	assert_int_equal(ns, 0);
	assert_false(srv_policy_active(f->p)); /* check sets nothing */
	assert_int_equal(srv_policy_set(f->p, POLICY, strlen(POLICY), err, sizeof(err)), 0);
	assert_true(srv_policy_active(f->p));
	assert_string_equal(srv_policy_text(f->p, &upd), POLICY);
	assert_true(upd > 0);
	/* A refused policy leaves the one in force. */
	assert_int_equal(srv_policy_set(f->p, text, strlen(text), err, sizeof(err)), -EINVAL);
	assert_string_equal(srv_policy_text(f->p, &upd), POLICY);

	/* The compilation: web is tagged (no user), dev-laptop may reach it on 80. */
	assert_true(srv_policy_is_dirty(f->p));
	assert_int_equal(srv_policy_sync(f->p, &prev), 1);
	assert_null(prev);
	assert_false(srv_policy_is_dirty(f->p));
	assert_int_equal(srv_policy_sync(f->p, &prev), 0);
	c = srv_policy_compiled(f->p);
	assert_int_equal(srv_compiled_count(c), 3);
	idev = srv_compiled_index(c, f->n_dev->rec.id);
	iweb = srv_compiled_index(c, f->n_web->rec.id);
	iops = srv_compiled_index(c, f->n_ops->rec.id);
	assert_true(idev != SIZE_MAX && iweb != SIZE_MAX && iops != SIZE_MAX);
	assert_int_equal(srv_compiled_index(c, 999), SIZE_MAX);
	assert_true(srv_compiled_can_see(c, idev, iweb));
	assert_true(srv_compiled_can_see(c, iweb, idev));
	assert_true(srv_compiled_can_see(c, iops, idev));
	text = srv_compiled_filter(c, iweb, &len);
	assert_non_null(strstr(text, "\"First\":80"));
	assert_int_equal(len, strlen(text));
	text = srv_compiled_filter(c, idev, &len);
	assert_null(strstr(text, "\"First\":80")); /* dev-laptop only gets ops's rule */

	/* Tagging dev-laptop as well changes what web and dev-laptop get; ops-box keeps its. */
	{
		char *web[] = { (char *)"tag:web" };
		char serr[SRV_ERR_LEN];

		assert_int_equal(srv_node_set_tags(f->st, f->n_dev, web, 1, serr, sizeof(serr)), 0);
	}
	srv_policy_mark_dirty(f->p);
	assert_int_equal(srv_policy_sync(f->p, &prev), 1);
	assert_non_null(prev);
	c = srv_policy_compiled(f->p);
	assert_true(srv_compiled_changed(c, srv_compiled_index(c, f->n_dev->rec.id)));
	assert_true(srv_compiled_changed(c, srv_compiled_index(c, f->n_web->rec.id)));
	assert_false(srv_compiled_changed(c, srv_compiled_index(c, f->n_ops->rec.id)));
	srv_compiled_free(prev);
	assert_int_equal(srv_policy_get_stats(f->p)->compiles, 2);
	assert_int_equal(srv_policy_get_stats(f->p)->affected_last, 2);

	/* A gone (expired) node leaves the compilation. */
	{
		char serr[SRV_ERR_LEN];

		assert_int_equal(srv_node_expire(f->st, f->n_ops, 0, serr, sizeof(serr)), 0);
	}
	srv_policy_mark_dirty(f->p);
	assert_int_equal(srv_policy_sync(f->p, &prev), 1);
	srv_compiled_free(prev);
	assert_int_equal(srv_compiled_index(srv_policy_compiled(f->p), f->n_ops->rec.id), SIZE_MAX);

	/* The stored policy is the one in force after a restart. */
	fx_close(f);
	fx_open(f, SRV_POLICY_DATABASE, NULL);
	assert_true(srv_policy_active(f->p));
	assert_string_equal(srv_policy_text(f->p, &upd), POLICY);
}

static void test_tags(void **state)
{
	struct fx *f = *state;
	char err[SRV_POLICY_ERR_LEN], login[64];
	char *web[] = { (char *)"tag:web" }, *db[] = { (char *)"tag:db" },
	     *nope[] = { (char *)"tag:web", (char *)"tag:nope" };

	fx_open(f, SRV_POLICY_DATABASE, NULL);
	fx_tailnet(f);
	assert_int_equal(srv_policy_set(f->p, POLICY, strlen(POLICY), err, sizeof(err)), 0);
	/* Admins: any tag the policy defines. */
	assert_int_equal(srv_policy_tags_allowed(f->p, db, 1, NULL, err, sizeof(err)), 0);
	assert_int_equal(srv_policy_tags_allowed(f->p, nope, 2, NULL, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "tag:nope is not defined"));
	/* Nodes: only tags their user owns (dev through group:dev; tag:db is admin-only). */
	assert_int_equal(srv_policy_tags_allowed(f->p, web, 1, "dev@", err, sizeof(err)), 0);
	assert_int_equal(srv_policy_tags_allowed(f->p, db, 1, "dev@", err, sizeof(err)), -EPERM);
	assert_int_equal(srv_policy_tags_allowed(f->p, web, 1, "ops@example.com", err, sizeof(err)),
			 -EPERM);
	assert_non_null(strstr(err, "ops@example.com is not among its tagOwners"));
	assert_int_equal(srv_policy_tags_allowed(f->p, nope, 2, "dev@", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "tag:nope"));
	/* A node already tagged tag:web may apply the tags tag:web owns. */
	assert_int_equal(srv_policy_tags_allowed_by(f->p, db, 1, "ops@example.com", web, 1, err,
						    sizeof(err)),
			 -EPERM); /* tag:db: admins only */
	{
		char *job[] = { (char *)"tag:job" };

		assert_int_equal(
			srv_policy_tags_allowed(f->p, job, 1, "ops@example.com", err, sizeof(err)),
			-EPERM);
		assert_int_equal(srv_policy_tags_allowed_by(f->p, job, 1, "ops@example.com", web, 1,
							    err, sizeof(err)),
				 0);
	}
	/* Logins: the email, else the name with "@" (names with one are logins already). */
	srv_policy_user_login("dev", "", login, sizeof(login));
	assert_string_equal(login, "dev@");
	srv_policy_user_login("ops", "ops@example.com", login, sizeof(login));
	assert_string_equal(login, "ops@example.com");
	srv_policy_user_login("a@b.c", NULL, login, sizeof(login));
	assert_string_equal(login, "a@b.c");
}

static void write_file(const char *path, const char *text)
{
	char tmp[256];
	FILE *fp;

	/* Replaced by rename, as editors and config management do. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_non_null(fp = fopen(tmp, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(rename(tmp, path), 0);
}

static void test_file(void **state)
{
	static const char v2[] = "{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], "
				 "\"dst\": [\"*:443\"]}]}";
	struct fx *f = *state;
	char path[128], err[SRV_POLICY_ERR_LEN];
	int64_t upd;

	snprintf(path, sizeof(path), "%s/policy.hujson", f->dir);
	write_file(path, POLICY);
	/* Tests need the tailnet: create it in a first run without the file. */
	fx_open(f, SRV_POLICY_FILE, NULL);
	fx_tailnet(f);
	fx_close(f);
	fx_open(f, SRV_POLICY_FILE, path);
	assert_true(srv_policy_active(f->p));
	assert_true(srv_policy_is_file_mode(f->p));
	assert_string_equal(srv_policy_text(f->p, &upd), POLICY);
	assert_int_equal(srv_policy_set(f->p, v2, strlen(v2), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "policy.mode is file"));
	srv_policy_tick(f->p); /* unchanged */
	assert_int_equal(srv_policy_get_stats(f->p)->reloads, 1);
	write_file(path, v2);
	srv_policy_tick(f->p);
	assert_string_equal(srv_policy_text(f->p, &upd), v2);
	assert_true(srv_policy_is_dirty(f->p));
	/* A broken file is refused and the policy in force stays; so does a deleted one. */
	write_file(path, "{\"acls\": [}");
	srv_policy_tick(f->p);
	assert_string_equal(srv_policy_text(f->p, &upd), v2);
	assert_int_equal(srv_policy_get_stats(f->p)->refused, 1);
	assert_int_equal(unlink(path), 0);
	srv_policy_tick(f->p);
	assert_string_equal(srv_policy_text(f->p, &upd), v2);
	/* A broken file at start-up stops the server with the reason. */
	write_file(path, "{\"acls\": [}");
	fx_close(f);
	{
		struct machine_private key;
		struct srv_policy *p = NULL;

		fx_open(f, SRV_POLICY_DATABASE, NULL);
		f->cfg->policy_mode = SRV_POLICY_FILE;
		set_str(&f->cfg->policy_path, path);
		memset(key.b, 7, sizeof(key.b));
		assert_true(srv_policy_new(f->st, f->cfg, &p, err, sizeof(err)) < 0);
		assert_null(p);
		assert_non_null(strstr(err, "policy.hujson:1:"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
