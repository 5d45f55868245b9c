/* SPDX-License-Identifier: ISC */
/*
 * cmd_up: `weft up` and `weft login`, as Tailscale's: send the prefs (and
 * an auth key) to weftd with /start, then follow watch-ipn-bus until the
 * node is Running, printing the approval URL if the server wants one, and
 * failing on the daemon's ErrMessage or at --timeout.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomicfile.h"
#include "core/clock.h"
#include "core/mem.h"
#include "weft/cli.h"
#include "weft/client.h"
#include "weft/localapi.h"
#include "weft/output.h"
#include "weft/prefflags.h"

#define CLI_AUTHKEY_MAX 4096
#define CLI_FIRST_NOTIFY_MS 10000
#define CLI_UP_FLAGS_MAX (CLI_PREF_COUNT + 8)

/*
 * The approval URL, and for a weft-server (whose URLs end in /register/ID)
 * the command an admin runs instead of opening it.
 */
static void cli_up_print_url(struct cli_ctx *ctx, const char *url)
{
	const char *id = strstr(url, "/register/");

	fprintf(ctx->err, "\nTo authenticate, visit:\n\n\t%s\n\n", url);
	if (id != NULL && id[10] != '\0' && strchr(id + 10, '/') == NULL)
		fprintf(ctx->err,
			"or have an admin of the server run:\n\n\tweft-server nodes register "
			"--key %s --user USER\n\n",
			id + 10);
}

static const char *const cli_state_names[] = {
	"NoState", "InUseOtherUser", "NeedsLogin", "NeedsMachineAuth",
	"Stopped", "Starting",	     "Running",
};

struct cli_up {
	const char *cmdname;
	struct cli_prefargs pa;
	unsigned mask;
	const char *authkey_arg;
	char *authkey; /* the key itself (from the flag or its file), wiped at the end */
	bool reset, force_reauth, json;
	uint64_t timeout_ns;
	struct cli_flag flags[CLI_UP_FLAGS_MAX];
	size_t nflags;
};

static void cli_up_flags(struct cli_up *u, bool is_up)
{
	struct cli_flag *f;

	cli_prefargs_init(&u->pa);
	cli_prefargs_flags(&u->pa, u->mask, u->flags, &u->nflags, CLI_UP_FLAGS_MAX);
	f = &u->flags[u->nflags++];
	*f = (struct cli_flag){ .name = "auth-key",
				.alias = "authkey",
				.kind = CLI_FLAG_STRING,
				.value = &u->authkey_arg,
				.arg = "KEY",
				.help = "a pre-auth key (or file:PATH to read it from a file); "
					"without one, weft prints the URL where an admin approves "
					"this node" };
	f = &u->flags[u->nflags++];
	*f = (struct cli_flag){ .name = "timeout",
				.kind = CLI_FLAG_DURATION,
				.value = &u->timeout_ns,
				.arg = "DURATION",
				.def = "0s, wait for ever",
				.help = "give up if the node is not Running after this long" };
	if (!is_up)
		return;
	f = &u->flags[u->nflags++];
	*f = (struct cli_flag){ .name = "reset",
				.kind = CLI_FLAG_BOOL,
				.value = &u->reset,
				.def = "false",
				.help = "reset every setting not mentioned to its default" };
	f = &u->flags[u->nflags++];
	*f = (struct cli_flag){ .name = "force-reauth",
				.kind = CLI_FLAG_BOOL,
				.value = &u->force_reauth,
				.def = "false",
				.help = "log in again even if this node is logged in" };
	f = &u->flags[u->nflags++];
	*f = (struct cli_flag){ .name = "json",
				.kind = CLI_FLAG_BOOL,
				.value = &u->json,
				.def = "false",
				.help = "print the approval URL and the result as JSON" };
}

/* --auth-key KEY or file:PATH, trimmed of the newline a file usually ends with. */
static int cli_up_authkey(struct cli_ctx *ctx, struct cli_up *u)
{
	uint8_t *data = NULL;
	size_t len;
	int r;

	if (u->authkey_arg == NULL || u->authkey_arg[0] == '\0')
		return 0;
	if (strncmp(u->authkey_arg, "file:", 5) != 0) {
		u->authkey = strdup(u->authkey_arg);
		return u->authkey != NULL ? 0 : cli_fail(ctx, "out of memory");
	}
	r = atomicfile_read(u->authkey_arg + 5, CLI_AUTHKEY_MAX, &data, &len);
	if (r < 0)
		return cli_fail(ctx, "cannot read the auth key from %s: %s", u->authkey_arg + 5,
				r == -EFBIG ? "larger than 4 KiB, is it the right file?" :
					      strerror(-r));
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
		len--;
	if (len == 0 || memchr(data, '\0', len) != NULL) {
		mem_wipe(data, len);
		free(data);
		return cli_fail(ctx, "%s holds no auth key", u->authkey_arg + 5);
	}
	u->authkey = malloc(len + 1);
	if (u->authkey != NULL) {
		memcpy(u->authkey, data, len);
		u->authkey[len] = '\0';
	}
	mem_wipe(data, len);
	free(data);
	return u->authkey != NULL ? 0 : cli_fail(ctx, "out of memory");
}

static const char *cli_state_name(json_int_t s)
{
	return s >= 0 && s < (json_int_t)(sizeof(cli_state_names) / sizeof(cli_state_names[0])) ?
		       cli_state_names[s] :
		       "NoState";
}

static void cli_up_json(struct cli_ctx *ctx, const char *url, const char *state, const char *err)
{
	json_t *j = json_object();

	if (j == NULL)
		return;
	if (url != NULL)
		json_object_set_new(j, "AuthURL", json_string(url));
	json_object_set_new(j, "BackendState", json_string(state));
	if (err != NULL)
		json_object_set_new(j, "Error", json_string(err));
	cli_out_json(ctx->out, j);
	fflush(ctx->out);
	json_decref(j);
}

static int cli_up_failed(struct cli_ctx *ctx, const struct cli_up *u, const char *state,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int cli_up_failed(struct cli_ctx *ctx, const struct cli_up *u, const char *state,
			 const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (u->json)
		cli_up_json(ctx, NULL, state, msg);
	return cli_fail(ctx, "%s", msg);
}

/* Follows the watch stream after /start until Running, an error, or the deadline. */
static int cli_up_wait(struct cli_ctx *ctx, struct cli_up *u, struct cli_watch *w,
		       const char *server, const char *state)
{
	uint64_t deadline = u->timeout_ns > 0 ? clock_mono_ns() + u->timeout_ns : 0;
	char url[2048] = "", err[CLI_CLIENT_ERR_MAX], dur[32];
	bool said_approve = false;

	for (;;) {
		const char *e, *b;
		json_t *n, *sv;
		int r = cli_watch_next(w, deadline, &n, err, sizeof(err));

		if (r == -ETIMEDOUT) {
			cli_out_duration_ms(u->timeout_ns / CLOCK_NS_PER_MS, dur, sizeof(dur));
			if (strcmp(state, LOCALAPI_STATE_STARTING) == 0)
				return cli_up_failed(
					ctx, u, state,
					"timed out after %s waiting for weftd to be "
					"Running: it is still Starting (is the server at "
					"%s reachable?); see weft status",
					dur, server);
			return cli_up_failed(ctx, u, state,
					     "timed out after %s waiting for weftd to be Running "
					     "(it is %s); see weft status",
					     dur, state);
		}
		if (r < 0)
			return cli_up_failed(ctx, u, state, "%s", err);
		e = json_string_value(json_object_get(n, "ErrMessage"));
		b = json_string_value(json_object_get(n, "BrowseToURL"));
		sv = json_object_get(n, "State");
		if (e != NULL && e[0] != '\0') {
			r = cli_up_failed(ctx, u, state, "backend error: %s", e);
			json_decref(n);
			return r;
		}
		if (b != NULL && b[0] != '\0' && strcmp(b, url) != 0) {
			snprintf(url, sizeof(url), "%s", b);
			if (u->json)
				cli_up_json(ctx, url, LOCALAPI_STATE_NEEDS_LOGIN, NULL);
			else
				cli_up_print_url(ctx, url);
			fflush(ctx->err);
		}
		if (json_is_integer(sv)) {
			state = cli_state_name(json_integer_value(sv));
			if (strcmp(state, LOCALAPI_STATE_RUNNING) == 0) {
				json_decref(n);
				if (u->json)
					cli_up_json(ctx, NULL, state, NULL);
				else if (url[0] != '\0' || said_approve)
					fprintf(ctx->err, "Success.\n");
				return CLI_EXIT_OK;
			}
			if (strcmp(state, LOCALAPI_STATE_NEEDS_MACHINE_AUTH) == 0 &&
			    !said_approve) {
				said_approve = true;
				fprintf(ctx->err,
					"\nThis node is registered and waits for an admin "
					"to approve it on the server.\n\n");
			}
		}
		json_decref(n);
	}
}

/* /start with prefs and the key; the body is wiped after sending (it carries the key). */
static int cli_up_start(struct cli_ctx *ctx, struct cli_up *u, const json_t *want)
{
	json_t *body = json_pack("{s:O}", "UpdatePrefs", want), *ans = NULL, *k;
	int r;

	if (body == NULL)
		return -ENOMEM;
	if (u->authkey != NULL) {
		k = json_string(u->authkey);
		json_object_set_new(body, "AuthKey", k);
	}
	r = cli_call(ctx, "POST", LOCALAPI_START, body, 0, &ans);
	k = json_object_get(body, "AuthKey");
	if (k != NULL) /* jansson keeps its own copy of the string: wipe that too */
		mem_wipe((char *)json_string_value(k), json_string_length(k));
	json_decref(body);
	json_decref(ans);
	/* An auth key re-authenticates by itself; without one, ask for a login. */
	if (r == 0 && u->force_reauth && (u->authkey == NULL || u->authkey[0] == '\0'))
		r = cli_call(ctx, "POST", LOCALAPI_LOGIN_INTERACTIVE, NULL, 0, &ans);
	json_decref(ans);
	return r;
}

/* Opens the watch, reads the state before our change, starts, and waits. */
static int cli_up_go(struct cli_ctx *ctx, struct cli_up *u, const json_t *want)
{
	struct cli_client *c = cli_client(ctx);
	struct cli_watch *w = NULL;
	char err[CLI_CLIENT_ERR_MAX];
	const char *server = json_string_value(json_object_get(want, "ControlURL"));
	json_t *first = NULL;
	int r;

	if (c == NULL)
		return CLI_EXIT_FAIL;
	if (cli_watch_open(c, &w) < 0)
		return cli_fail(ctx, "out of memory");
	/* Watch first, then start, so that nothing the start causes goes unseen. */
	r = cli_watch_next(w, clock_mono_ns() + CLI_FIRST_NOTIFY_MS * CLOCK_NS_PER_MS, &first, err,
			   sizeof(err));
	if (r < 0) {
		cli_watch_free(w);
		return cli_fail(ctx, "%s", err);
	}
	json_decref(first); /* the state before /start: old news */
	r = cli_up_start(ctx, u, want) < 0 ?
		    CLI_EXIT_FAIL :
		    cli_up_wait(ctx, u, w, server != NULL ? server : "", LOCALAPI_STATE_STARTING);
	cli_watch_free(w);
	return r;
}

static int cli_up_validate(struct cli_ctx *ctx, const struct cli_command *cmd, struct cli_up *u)
{
	char err[CLI_PREF_ERR_MAX];
	json_t *m = cli_prefargs_masked(&u->pa, u->mask, err, sizeof(err));

	if (m == NULL)
		return cli_usage_error(ctx, cmd, "%s", err);
	json_decref(m);
	return CLI_CONTINUE;
}

static void cli_up_free(struct cli_up *u)
{
	if (u->authkey != NULL) {
		mem_wipe(u->authkey, strlen(u->authkey));
		free(u->authkey);
		u->authkey = NULL;
	}
}

int cli_cmd_up(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	struct cli_up u = { .cmdname = "up", .mask = CLI_PREFS_UP };
	json_t *cur = NULL, *st = NULL, *want = NULL, *ans = NULL, *edit;
	char err[CLI_PREF_ERR_MAX];
	const char *state;
	size_t npos;
	int rc;

	cli_up_flags(&u, true);
	rc = cli_parse(ctx, cmd, u.flags, u.nflags, argc, argv, 0, 0, &npos);
	if (rc == CLI_CONTINUE)
		rc = cli_up_validate(ctx, cmd, &u);
	if (rc == CLI_CONTINUE && cli_up_authkey(ctx, &u) != 0)
		rc = CLI_EXIT_FAIL;
	if (rc != CLI_CONTINUE)
		goto out;
	rc = CLI_EXIT_FAIL;
	if (cli_call(ctx, "GET", LOCALAPI_PREFS, NULL, 0, &cur) < 0 ||
	    cli_call(ctx, "GET", LOCALAPI_STATUS "?peers=false", NULL, 0, &st) < 0)
		goto out;
	state = json_string_value(json_object_get(st, "BackendState"));
	want = cli_up_prefs(cur, &u.pa, u.mask, u.reset, err, sizeof(err));
	if (want == NULL) {
		rc = cli_usage_error(ctx, cmd, "%s", err);
		goto out;
	}
	if (!u.reset &&
	    cli_up_check_reverts(cur, want, &u.pa, u.mask, "up", err, sizeof(err)) == -EEXIST) {
		fprintf(ctx->err, "weft: %s", err);
		goto out;
	}
	if (cli_up_just_edit(state != NULL ? state : "", cur, want, u.force_reauth,
			     u.authkey != NULL)) {
		edit = cli_prefs_mask_all(want);
		if (edit != NULL && cli_call(ctx, "PATCH", LOCALAPI_PREFS, edit, 0, &ans) == 0) {
			if (u.json)
				cli_up_json(ctx, NULL, LOCALAPI_STATE_RUNNING, NULL);
			rc = CLI_EXIT_OK;
		}
		json_decref(edit);
		goto out;
	}
	rc = cli_up_go(ctx, &u, want);
out:
	json_decref(ans);
	json_decref(want);
	json_decref(st);
	json_decref(cur);
	cli_up_free(&u);
	return rc;
}

int cli_cmd_login(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv)
{
	struct cli_up u = { .cmdname = "login", .mask = CLI_PREFS_LOGIN };
	json_t *cur = NULL, *prof = NULL, *want = NULL, *ans = NULL;
	char err[CLI_PREF_ERR_MAX];
	const char *login, *server;
	size_t npos;
	int rc;

	cli_up_flags(&u, false);
	rc = cli_parse(ctx, cmd, u.flags, u.nflags, argc, argv, 0, 0, &npos);
	if (rc == CLI_CONTINUE)
		rc = cli_up_validate(ctx, cmd, &u);
	if (rc == CLI_CONTINUE && cli_up_authkey(ctx, &u) != 0)
		rc = CLI_EXIT_FAIL;
	if (rc != CLI_CONTINUE)
		goto out;
	rc = CLI_EXIT_FAIL;
	if (cli_call(ctx, "GET", LOCALAPI_PREFS, NULL, 0, &cur) < 0 ||
	    cli_call(ctx, "GET", LOCALAPI_PROFILES "current", NULL, 0, &prof) < 0)
		goto out;
	/* A new login gets a new profile, unless the current one has never logged in. */
	login = json_string_value(
		json_object_get(json_object_get(prof, "UserProfile"), "LoginName"));
	if (login != NULL && login[0] != '\0' &&
	    cli_call(ctx, "PUT", LOCALAPI_PROFILES, NULL, 0, &ans) < 0)
		goto out;
	want = cli_up_prefs(NULL, &u.pa, u.mask, true, err, sizeof(err));
	if (want == NULL) {
		rc = cli_usage_error(ctx, cmd, "%s", err);
		goto out;
	}
	/* Without --login-server, the server of the profile we were on. */
	server = json_string_value(json_object_get(cur, "ControlURL"));
	if (!cli_prefargs_mentioned(&u.pa, CLI_PREF_LOGIN_SERVER) && server != NULL)
		json_object_set_new(want, "ControlURL", json_string(server));
	if (!cli_prefargs_mentioned(&u.pa, CLI_PREF_NICKNAME) &&
	    (login == NULL || login[0] == '\0'))
		json_object_set(want, "ProfileName", json_object_get(cur, "ProfileName"));
	rc = cli_up_go(ctx, &u, want);
out:
	json_decref(ans);
	json_decref(want);
	json_decref(prof);
	json_decref(cur);
	cli_up_free(&u);
	return rc;
}
