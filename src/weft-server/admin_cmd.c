/* SPDX-License-Identifier: ISC */
/*
 * admin_cmd: `weft-server users|preauthkeys|nodes|apikeys ...`, the admin
 * CLI. Each command is one REST call (admin_client.c) to the server found
 * from the same --config as `serve`: its local admin socket, or a remote
 * server with an API key. Names and flags follow Headscale's CLI; lists
 * print a table, or with --output json the API's objects.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/flags.h"
#include "core/mem.h"
#include "core/numparse.h"
#include "json/jsonx.h"
#include "weft-server/admin_client.h"
#include "weft-server/admin_cmd.h"
#include "weft-server/config.h"

enum adm_output {
	ADM_OUT_TABLE,
	ADM_OUT_JSON,
	ADM_OUT_JSONLINE,
};

struct adm {
	const char *group;
	const char *cmd;
	const char *config_path;
	enum adm_output output;
	struct srv_config *cfg;
	struct admin_client *client;
	char err[512];
};

/* Flags every command takes besides its own. */
#define ADM_COMMON_FLAGS(a_config, a_output)                                                      \
	{ .name = "config", .alias = "c", .kind = CLI_FLAG_STRING, .value = (a_config),           \
	  .arg = "FILE", .help = "the server's configuration (as for serve)" },                   \
	{                                                                                         \
		.name = "output", .alias = "o", .kind = CLI_FLAG_STRING, .value = (a_output),     \
		.arg = "FORMAT", .help = "json or json-line instead of a table"                   \
	}

static int adm_fail(struct adm *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int adm_fail(struct adm *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "weft-server %s %s: ", a->group, a->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static void adm_usage(FILE *fp, const struct adm *a, const char *args, const char *desc,
		      const struct cli_flag *flags, size_t n)
{
	fprintf(fp, "usage: weft-server %s %s %s\n\n%s\n", a->group, a->cmd, args, desc);
	cli_flags_usage(fp, flags, n);
}

/*
 * Parses the command's flags (with the common ones appended by the caller)
 * and connects. Returns -1 to go on, else the exit code.
 */
static int adm_start(struct adm *a, struct cli_flag *flags, size_t n, int argc, char **argv,
		     size_t min_pos, size_t max_pos, size_t *npos, const char *args,
		     const char *desc)
{
	const char *outflag = NULL;
	char cerr[SRV_CONFIG_ERR_LEN];
	int r;

	r = cli_flags_parse(flags, n, argc, argv, npos, a->err, sizeof(a->err));
	if (r == CLI_FLAGS_HELP) {
		adm_usage(stdout, a, args, desc, flags, n);
		return 0;
	}
	if (r == CLI_FLAGS_ERROR)
		return adm_fail(a, "%s (see --help)", a->err) + 1;
	if (*npos < min_pos || *npos > max_pos)
		return adm_fail(a, "%s (see --help)",
				*npos < min_pos ? "missing argument" : "too many arguments") +
		       1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(flags[i].name, "config") == 0 && flags[i].set)
			a->config_path = *(const char **)flags[i].value;
		if (strcmp(flags[i].name, "output") == 0 && flags[i].set)
			outflag = *(const char **)flags[i].value;
	}
	if (outflag != NULL) {
		if (strcmp(outflag, "json") == 0)
			a->output = ADM_OUT_JSON;
		else if (strcmp(outflag, "json-line") == 0)
			a->output = ADM_OUT_JSONLINE;
		else if (strcmp(outflag, "") != 0 && strcmp(outflag, "table") != 0)
			return adm_fail(a, "--output %s: want json or json-line", outflag) + 1;
	}
	r = a->config_path ? srv_config_load(a->config_path, &a->cfg, cerr) :
			     srv_config_defaults(&a->cfg);
	if (r < 0)
		return adm_fail(a, "%s", a->config_path ? cerr : "out of memory");
	if (admin_client_new(a->cfg, &a->client, a->err, sizeof(a->err)) < 0)
		return adm_fail(a, "%s", a->err);
	return -1;
}

static int adm_call(struct adm *a, const char *method, const char *path, json_t *body,
		    json_t **out)
{
	int r = admin_call(a->client, method, path, body, out, a->err, sizeof(a->err));

	json_decref(body);
	if (r < 0)
		return adm_fail(a, "%s", a->err);
	return 0;
}

/* Prints a JSON value in the chosen format. */
static void adm_print_json(const struct adm *a, const json_t *v)
{
	char *s = json_dumps(v, a->output == ADM_OUT_JSONLINE ? JSON_COMPACT | JSON_ENCODE_ANY :
								JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
}

/* Percent-encodes a path or query component (malloc'd). */
static char *adm_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *o = malloc(3 * n + 1), *p = o;

	if (o == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || c == '@' || c == ':') {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return o;
}

/* ---- tables ------------------------------------------------------------------------------- */

#define ADM_COLS_MAX 10

struct adm_table {
	size_t ncols, nrows;
	char **cells; /* row-major, nrows * ncols */
	size_t width[ADM_COLS_MAX];
};

static void adm_table_row(struct adm_table *t, const char *const *cols)
{
	char **c = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*c));

	if (c == NULL)
		return;
	t->cells = c;
	for (size_t i = 0; i < t->ncols; i++) {
		char *s = strdup(cols[i] ? cols[i] : "");
		size_t w = s ? strlen(s) : 0;
		c[t->nrows * t->ncols + i] = s;
		if (w > t->width[i])
			t->width[i] = w;
	}
	t->nrows++;
}

static void adm_table_print(struct adm_table *t)
{
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];
			if (i + 1 == t->ncols)
				printf("%s\n", s ? s : "");
			else
				printf("%-*s | ", (int)t->width[i], s ? s : "");
		}
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

static const char *adm_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* "2026-12-03 12:00:00" from RFC 3339, or "" */
static const char *adm_time(const json_t *o, const char *k, char out[32])
{
	const char *s = json_string_value(json_object_get(o, k));
	int64_t t;
	struct tm tm;
	time_t tt;

	out[0] = '\0';
	if (s == NULL || jsonx_time_parse(s, &t) < 0 || t <= 0)
		return out;
	tt = (time_t)t;
	if (gmtime_r(&tt, &tm) != NULL)
		strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
	return out;
}

static void adm_join(const json_t *arr, char *out, size_t outlen)
{
	size_t i, off = 0;
	json_t *v;

	out[0] = '\0';
	json_array_foreach(arr, i, v)
	{
		int w = snprintf(out + off, outlen - off, "%s%s", i ? "," : "",
				 json_string_value(v) ? json_string_value(v) : "");
		if (w < 0 || (size_t)w >= outlen - off)
			break;
		off += (size_t)w;
	}
}

/* Prints list `key` of the answer as JSON or through `row`. */
static int adm_list(struct adm *a, json_t *ans, const char *key, const char *const *head,
		    size_t ncols, void (*row)(json_t *item, char cells[][256]))
{
	json_t *arr = json_object_get(ans, key), *v;
	struct adm_table t = { .ncols = ncols };
	char cells[ADM_COLS_MAX][256];
	const char *cp[ADM_COLS_MAX];
	size_t i;

	if (!json_is_array(arr))
		arr = json_array();
	else
		json_incref(arr);
	if (a->output != ADM_OUT_TABLE) {
		adm_print_json(a, arr);
		json_decref(arr);
		return 0;
	}
	adm_table_row(&t, head);
	json_array_foreach(arr, i, v)
	{
		memset(cells, 0, sizeof(cells));
		row(v, cells);
		for (size_t c = 0; c < ncols; c++)
			cp[c] = cells[c];
		adm_table_row(&t, cp);
	}
	adm_table_print(&t);
	json_decref(arr);
	return 0;
}

/* Prints one object of the answer (key) as JSON, or the line `fmt`. */
static int adm_one(struct adm *a, json_t *ans, const char *key, const char *line)
{
	json_t *o = key ? json_object_get(ans, key) : ans;

	if (a->output != ADM_OUT_TABLE)
		adm_print_json(a, o ? o : json_null());
	else
		printf("%s\n", line);
	return 0;
}

/* An expiration `ns` from now as the API wants it: RFC 3339, or null for never (0). */
static json_t *adm_expiration(uint64_t ns)
{
	char when[JSONX_TIME_LEN];

	if (ns == 0)
		return json_null();
	return json_string(
		jsonx_time_format((int64_t)time(NULL) + (int64_t)(ns / 1000000000ULL), when));
}

/* BASE, or BASE?user=USER (escaped) when a user is given. */
static void adm_user_path(char *path, size_t len, const char *base, const char *user)
{
	char *q = user ? adm_escape(user) : NULL;

	if (user != NULL)
		snprintf(path, len, "%s?user=%s", base, q ? q : "");
	else
		snprintf(path, len, "%s", base);
	free(q);
}

/* ---- users -------------------------------------------------------------------------------- */

static void adm_user_row(json_t *u, char c[][256])
{
	char t[32];

	snprintf(c[0], 256, "%s", adm_str(u, "id"));
	snprintf(c[1], 256, "%s", adm_str(u, "displayName"));
	snprintf(c[2], 256, "%s", adm_str(u, "name"));
	snprintf(c[3], 256, "%s", adm_str(u, "email"));
	snprintf(c[4], 256, "%s", adm_time(u, "createdAt", t));
}

/* The user named NAME or numbered ID, as the API's object (new ref), or NULL after a message. */
static json_t *adm_find_user(struct adm *a, const char *name, const char *id)
{
	json_t *ans = NULL, *u;
	char path[512];
	char *q = NULL;

	if (id != NULL) {
		snprintf(path, sizeof(path), "/api/v1/user?id=%s", id);
	} else {
		q = adm_escape(name);
		snprintf(path, sizeof(path), "/api/v1/user?name=%s", q ? q : "");
	}
	free(q);
	if (adm_call(a, "GET", path, NULL, &ans) != 0)
		return NULL;
	u = json_array_get(json_object_get(ans, "users"), 0);
	if (u == NULL) {
		adm_fail(a, "no user %s%s (see weft-server users list)", id ? "with ID " : "",
			 id ? id : name);
		json_decref(ans);
		return NULL;
	}
	json_incref(u);
	json_decref(ans);
	return u;
}

static int adm_users(struct adm *a, int argc, char **argv)
{
	const char *cfg = NULL, *out = NULL, *display = NULL, *email = NULL, *name = NULL,
		   *id = NULL, *newname = NULL;
	bool force = false;
	json_t *ans = NULL, *u;
	char path[512], line[512];
	size_t npos;
	int r;

	if (strcmp(a->cmd, "create") == 0) {
		struct cli_flag f[] = {
			{ .name = "display-name", .alias = "d", .kind = CLI_FLAG_STRING,
			  .value = &display, .arg = "NAME", .help = "the user's display name" },
			{ .name = "email", .kind = CLI_FLAG_STRING, .value = &email,
			  .arg = "ADDR", .help = "the user's email address" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 1, 1, &npos,
				   "NAME [flags]", "Creates a user.")) >= 0)
			return r;
		ans = NULL;
		if (adm_call(a, "POST", "/api/v1/user",
			     json_pack("{s:s, s:s, s:s}", "name", argv[0], "displayName",
				       display ? display : "", "email", email ? email : ""),
			     &ans) != 0)
			return 1;
		snprintf(line, sizeof(line), "User created: %s", argv[0]);
		adm_one(a, ans, "user", line);
	} else if (strcmp(a->cmd, "list") == 0 || strcmp(a->cmd, "ls") == 0) {
		static const char *const head[] = { "ID", "Name", "Username", "Email", "Created" };
		struct cli_flag f[] = {
			{ .name = "name", .alias = "n", .kind = CLI_FLAG_STRING, .value = &name,
			  .arg = "NAME", .help = "only this user" },
			{ .name = "identifier", .alias = "i", .kind = CLI_FLAG_STRING, .value = &id,
			  .arg = "ID", .help = "only the user with this ID" },
			{ .name = "email", .alias = "e", .kind = CLI_FLAG_STRING, .value = &email,
			  .arg = "ADDR", .help = "only the user with this email" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		char *qn = NULL, *qe = NULL;
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 0, &npos,
				   "[flags]", "Lists the users.")) >= 0)
			return r;
		qn = name ? adm_escape(name) : NULL;
		qe = email ? adm_escape(email) : NULL;
		snprintf(path, sizeof(path), "/api/v1/user%s%s%s%s%s%s", name || id || email ? "?" : "",
			 name ? "name=" : "", qn ? qn : "",
			 id ? (name ? "&id=" : "id=") : "", id ? id : "",
			 email ? "" : "");
		if (email)
			snprintf(path + strlen(path), sizeof(path) - strlen(path), "%semail=%s",
				 name || id ? "&" : "", qe ? qe : "");
		free(qn);
		free(qe);
		if (adm_call(a, "GET", path, NULL, &ans) != 0)
			return 1;
		adm_list(a, ans, "users", head, 5, adm_user_row);
	} else if (strcmp(a->cmd, "rename") == 0) {
		struct cli_flag f[] = {
			{ .name = "identifier", .alias = "i", .kind = CLI_FLAG_STRING, .value = &id,
			  .arg = "ID", .help = "the user's ID" },
			{ .name = "name", .alias = "n", .kind = CLI_FLAG_STRING, .value = &name,
			  .arg = "NAME", .help = "the user's current name" },
			{ .name = "new-name", .alias = "r", .kind = CLI_FLAG_STRING,
			  .value = &newname, .arg = "NAME", .help = "the new name" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 2, &npos,
				   "[OLD NEW] [flags]",
				   "Renames a user: `rename OLD NEW`, or --identifier/--name with "
				   "--new-name.")) >= 0)
			return r;
		if (npos == 2) {
			name = argv[0];
			newname = argv[1];
		} else if (npos != 0) {
			return adm_fail(a, "give OLD NEW, or --name/--identifier and --new-name") + 1;
		}
		if (newname == NULL || (name == NULL && id == NULL))
			return adm_fail(a, "give OLD NEW, or --name/--identifier and --new-name") + 1;
		if ((u = adm_find_user(a, name, id)) == NULL)
			return 1;
		{
			char *qn = adm_escape(newname);
			snprintf(path, sizeof(path), "/api/v1/user/%s/rename/%s", adm_str(u, "id"),
				 qn ? qn : "");
			free(qn);
		}
		json_decref(u);
		if (adm_call(a, "POST", path, NULL, &ans) != 0)
			return 1;
		snprintf(line, sizeof(line), "User renamed to %s", newname);
		adm_one(a, ans, "user", line);
	} else if (strcmp(a->cmd, "delete") == 0 || strcmp(a->cmd, "destroy") == 0) {
		struct cli_flag f[] = {
			{ .name = "identifier", .alias = "i", .kind = CLI_FLAG_STRING, .value = &id,
			  .arg = "ID", .help = "the user's ID" },
			{ .name = "name", .alias = "n", .kind = CLI_FLAG_STRING, .value = &name,
			  .arg = "NAME", .help = "the user's name" },
			{ .name = "force", .kind = CLI_FLAG_BOOL, .value = &force,
			  .help = "accepted for Headscale compatibility (there is no prompt)" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 1, &npos,
				   "NAME | --identifier ID [flags]",
				   "Deletes a user. The user must own no nodes (delete or move "
				   "them first); its pre-auth keys are deleted with it.")) >= 0)
			return r;
		if (npos == 1)
			name = argv[0];
		if (name == NULL && id == NULL)
			return adm_fail(a, "name the user: NAME or --identifier ID") + 1;
		if ((u = adm_find_user(a, name, id)) == NULL)
			return 1;
		snprintf(path, sizeof(path), "/api/v1/user/%s", adm_str(u, "id"));
		snprintf(line, sizeof(line), "User deleted: %s", adm_str(u, "name"));
		json_decref(u);
		if (adm_call(a, "DELETE", path, NULL, &ans) != 0)
			return 1;
		adm_one(a, ans, NULL, line);
	} else {
		return adm_fail(a, "unknown command (want create, list, rename or delete)") + 1;
	}
	json_decref(ans);
	return 0;
}

/* ---- pre-auth keys ------------------------------------------------------------------------ */

static void adm_pak_row(json_t *k, char c[][256])
{
	char t1[32], t2[32];

	snprintf(c[0], 256, "%s", adm_str(k, "id"));
	snprintf(c[1], 256, "%s", adm_str(k, "key"));
	snprintf(c[2], 256, "%s", adm_str(json_object_get(k, "user"), "name"));
	snprintf(c[3], 256, "%s", json_is_true(json_object_get(k, "reusable")) ? "true" : "false");
	snprintf(c[4], 256, "%s", json_is_true(json_object_get(k, "ephemeral")) ? "true" : "false");
	snprintf(c[5], 256, "%s", json_is_true(json_object_get(k, "used")) ? "true" : "false");
	adm_time(k, "expiration", t1);
	snprintf(c[6], 256, "%s", t1[0] ? t1 : "never");
	snprintf(c[7], 256, "%s", adm_time(k, "createdAt", t2));
	adm_join(json_object_get(k, "aclTags"), c[8], 256);
}

/* Splits "tag:a,tag:b" into a JSON array, checking the tag: prefix. */
static json_t *adm_tags(struct adm *a, const char *s)
{
	json_t *arr = json_array();
	char *dup = strdup(s ? s : ""), *save = NULL;

	for (char *t = strtok_r(dup, ", ", &save); arr && t; t = strtok_r(NULL, ", ", &save)) {
		if (strncmp(t, "tag:", 4) != 0 || t[4] == '\0') {
			adm_fail(a, "--tags: `%s' is not a tag (want tag:NAME, comma separated)", t);
			json_decref(arr);
			arr = NULL;
			break;
		}
		json_array_append_new(arr, json_string(t));
	}
	free(dup);
	return arr;
}

static int adm_preauthkeys(struct adm *a, int argc, char **argv)
{
	const char *cfg = NULL, *out = NULL, *user = NULL, *tags = NULL, *id = NULL;
	bool reusable = false, ephemeral = false;
	char path[512];
	json_t *ans = NULL, *body;
	size_t npos;
	int r;

	if (strcmp(a->cmd, "create") == 0) {
		struct cli_flag f[] = {
			{ .name = "user", .alias = "u", .kind = CLI_FLAG_STRING, .value = &user,
			  .arg = "USER", .help = "the user the key's nodes will belong to (name or ID)" },
			{ .name = "reusable", .kind = CLI_FLAG_BOOL, .value = &reusable,
			  .help = "the key may register any number of nodes" },
			{ .name = "ephemeral", .kind = CLI_FLAG_BOOL, .value = &ephemeral,
			  .help = "nodes registered with it are deleted once inactive" },
			{ .name = "expiration", .alias = "e", .kind = CLI_FLAG_DURATION, .value = NULL,
			  .arg = "DURATION", .def = "1h", .help = "how long the key is valid (0: never)" },
			{ .name = "tags", .kind = CLI_FLAG_STRING, .value = &tags, .arg = "TAGS",
			  .help = "tags its nodes get, comma separated (tag:a,tag:b)" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		uint64_t ns = 3600ULL * 1000000000ULL;
		f[3].value = &ns;
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 0, &npos,
				   "--user USER [flags]",
				   "Creates a pre-auth key. The key is printed once; only its hash "
				   "is stored.")) >= 0)
			return r;
		if (user == NULL)
			return adm_fail(a, "--user is required") + 1;
		/* The API takes the user's ID or name. */
		body = json_pack("{s:s, s:b, s:b}", "user", user, "reusable", reusable,
				 "ephemeral", ephemeral);
		json_object_set_new(body, "expiration", adm_expiration(ns));
		if (tags != NULL) {
			json_t *t = adm_tags(a, tags);
			if (t == NULL) {
				json_decref(body);
				return 2;
			}
			json_object_set_new(body, "aclTags", t);
		}
		if (adm_call(a, "POST", "/api/v1/preauthkey", body, &ans) != 0)
			return 1;
		adm_one(a, ans, "preAuthKey",
			adm_str(json_object_get(ans, "preAuthKey"), "key"));
	} else if (strcmp(a->cmd, "list") == 0 || strcmp(a->cmd, "ls") == 0) {
		static const char *const head[] = { "ID",	 "Key",	     "User",
						    "Reusable",	 "Ephemeral", "Used",
						    "Expiration", "Created",   "Tags" };
		struct cli_flag f[] = {
			{ .name = "user", .alias = "u", .kind = CLI_FLAG_STRING, .value = &user,
			  .arg = "USER", .help = "only this user's keys (name or ID)" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 0, &npos,
				   "[--user USER] [flags]",
				   "Lists pre-auth keys (their text is never shown again, only "
				   "its prefix).")) >= 0)
			return r;
		adm_user_path(path, sizeof(path), "/api/v1/preauthkey", user);
		if (adm_call(a, "GET", path, NULL, &ans) != 0)
			return 1;
		adm_list(a, ans, "preAuthKeys", head, 9, adm_pak_row);
	} else if (strcmp(a->cmd, "expire") == 0 || strcmp(a->cmd, "delete") == 0) {
		bool del = strcmp(a->cmd, "delete") == 0;
		struct cli_flag f[] = {
			{ .name = "user", .alias = "u", .kind = CLI_FLAG_STRING, .value = &user,
			  .arg = "USER", .help = "accepted for Headscale compatibility" },
			{ .name = "id", .kind = CLI_FLAG_STRING, .value = &id, .arg = "ID",
			  .help = "the key's ID (from list)" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 1, &npos,
				   "KEY | --id ID [flags]",
				   del ? "Deletes a pre-auth key (nodes it registered stay)." :
					 "Expires a pre-auth key at once: it registers no more "
					 "nodes.")) >= 0)
			return r;
		if (npos == 0 && id == NULL)
			return adm_fail(a, "name the key: KEY (or its prefix) or --id ID") + 1;
		body = id ? json_pack("{s:s}", "id", id) : json_pack("{s:s}", "key", argv[0]);
		if (adm_call(a, del ? "DELETE" : "POST",
			     del ? "/api/v1/preauthkey" : "/api/v1/preauthkey/expire", body,
			     &ans) != 0)
			return 1;
		adm_one(a, ans, NULL, del ? "Key deleted" : "Key expired");
	} else {
		return adm_fail(a, "unknown command (want create, list, expire or delete)") + 1;
	}
	json_decref(ans);
	return 0;
}

/* ---- nodes -------------------------------------------------------------------------------- */

static void adm_node_row(json_t *n, char c[][256])
{
	char t1[32], t2[32];

	snprintf(c[0], 256, "%s", adm_str(n, "id"));
	snprintf(c[1], 256, "%s", adm_str(n, "name"));
	snprintf(c[2], 256, "%s", adm_str(n, "givenName"));
	snprintf(c[3], 256, "%s", adm_str(json_object_get(n, "user"), "name"));
	adm_join(json_object_get(n, "ipAddresses"), c[4], 256);
	adm_join(json_object_get(n, "tags"), c[5], 256);
	snprintf(c[6], 256, "%s", json_is_true(json_object_get(n, "ephemeral")) ? "true" : "false");
	adm_time(n, "lastSeen", t1);
	snprintf(c[7], 256, "%s", t1);
	snprintf(c[8], 256, "%s", json_is_true(json_object_get(n, "online")) ? "online" : "offline");
	adm_time(n, "expiry", t2);
	{
		const char *s = json_string_value(json_object_get(n, "expiry"));
		int64_t t;
		bool expired = s && jsonx_time_parse(s, &t) == 0 && t > 0 && t <= time(NULL);
		snprintf(c[9], 256, "%s", expired ? "yes" : "no");
	}
}

static int adm_nodes(struct adm *a, int argc, char **argv)
{
	const char *cfg = NULL, *out = NULL, *user = NULL, *key = NULL, *id = NULL, *tags = NULL;
	bool force = false;
	char path[512], line[512];
	json_t *ans = NULL, *body = NULL;
	size_t npos;
	int r;
	struct cli_flag idflag = { .name = "identifier", .alias = "i", .kind = CLI_FLAG_STRING,
				   .value = &id, .arg = "ID", .help = "the node's ID (from list)" };

	if (strcmp(a->cmd, "list") == 0 || strcmp(a->cmd, "ls") == 0) {
		static const char *const head[] = { "ID",   "Hostname",	 "Name",   "User",
						    "IP addresses", "Tags", "Ephemeral",
						    "Last seen",    "Connected", "Expired" };
		struct cli_flag f[] = {
			{ .name = "user", .alias = "u", .kind = CLI_FLAG_STRING, .value = &user,
			  .arg = "USER", .help = "only this user's nodes (name or ID)" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 0, &npos,
				   "[--user USER] [flags]", "Lists the nodes.")) >= 0)
			return r;
		adm_user_path(path, sizeof(path), "/api/v1/node", user);
		if (adm_call(a, "GET", path, NULL, &ans) != 0)
			return 1;
		adm_list(a, ans, "nodes", head, 10, adm_node_row);
		json_decref(ans);
		return 0;
	}
	if (strcmp(a->cmd, "register") == 0) {
		struct cli_flag f[] = {
			{ .name = "key", .alias = "k", .kind = CLI_FLAG_STRING, .value = &key,
			  .arg = "ID", .help = "the registration ID the node printed" },
			{ .name = "user", .alias = "u", .kind = CLI_FLAG_STRING, .value = &user,
			  .arg = "USER", .help = "the user the node will belong to" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 0, &npos,
				   "--key ID --user USER [flags]",
				   "Approves a node waiting in `weft up` without an auth key.")) >= 0)
			return r;
		if (key == NULL || user == NULL)
			return adm_fail(a, "--key and --user are required") + 1;
		if (adm_call(a, "POST", "/api/v1/node/register",
			     json_pack("{s:s, s:s}", "key", key, "user", user), &ans) != 0)
			return 1;
		snprintf(line, sizeof(line), "Node %s registered",
			 adm_str(json_object_get(ans, "node"), "givenName"));
		adm_one(a, ans, "node", line);
		json_decref(ans);
		return 0;
	}
	if (strcmp(a->cmd, "rename") == 0) {
		struct cli_flag f[] = { idflag, ADM_COMMON_FLAGS(&cfg, &out) };
		char *q;
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 1, 1, &npos,
				   "--identifier ID NEW-NAME [flags]",
				   "Gives a node a new MagicDNS name.")) >= 0)
			return r;
		if (id == NULL)
			return adm_fail(a, "--identifier is required") + 1;
		q = adm_escape(argv[0]);
		snprintf(path, sizeof(path), "/api/v1/node/%s/rename/%s", id, q ? q : "");
		free(q);
		snprintf(line, sizeof(line), "Node renamed");
	} else if (strcmp(a->cmd, "delete") == 0) {
		struct cli_flag f[] = {
			idflag,
			{ .name = "force", .kind = CLI_FLAG_BOOL, .value = &force,
			  .help = "accepted for Headscale compatibility (there is no prompt)" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 0, &npos,
				   "--identifier ID [flags]",
				   "Deletes a node; its peers drop it at once.")) >= 0)
			return r;
		if (id == NULL)
			return adm_fail(a, "--identifier is required") + 1;
		snprintf(path, sizeof(path), "/api/v1/node/%s", id);
		if (adm_call(a, "DELETE", path, NULL, &ans) != 0)
			return 1;
		adm_one(a, ans, NULL, "Node deleted");
		json_decref(ans);
		return 0;
	} else if (strcmp(a->cmd, "expire") == 0 || strcmp(a->cmd, "logout") == 0) {
		struct cli_flag f[] = { idflag, ADM_COMMON_FLAGS(&cfg, &out) };
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 0, &npos,
				   "--identifier ID [flags]",
				   "Expires a node's key now: it must log in again, and its peers "
				   "drop it at once.")) >= 0)
			return r;
		if (id == NULL)
			return adm_fail(a, "--identifier is required") + 1;
		snprintf(path, sizeof(path), "/api/v1/node/%s/expire", id);
		snprintf(line, sizeof(line), "Node expired");
	} else if (strcmp(a->cmd, "tag") == 0 || strcmp(a->cmd, "tags") == 0) {
		struct cli_flag f[] = {
			idflag,
			{ .name = "tags", .alias = "t", .kind = CLI_FLAG_STRING, .value = &tags,
			  .arg = "TAGS", .help = "the node's tags, comma separated (\"\" clears)" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 0, &npos,
				   "--identifier ID --tags tag:a,tag:b [flags]",
				   "Sets a node's tags (replacing those it had).")) >= 0)
			return r;
		if (id == NULL || tags == NULL)
			return adm_fail(a, "--identifier and --tags are required") + 1;
		if ((body = adm_tags(a, tags)) == NULL)
			return 2;
		body = json_pack("{s:o}", "tags", body);
		snprintf(path, sizeof(path), "/api/v1/node/%s/tags", id);
		snprintf(line, sizeof(line), "Node tagged");
	} else if (strcmp(a->cmd, "move") == 0) {
		struct cli_flag f[] = {
			idflag,
			{ .name = "user", .alias = "u", .kind = CLI_FLAG_STRING, .value = &user,
			  .arg = "USER", .help = "the new owner (name or ID)" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 0, &npos,
				   "--identifier ID --user USER [flags]",
				   "Gives a node to another user.")) >= 0)
			return r;
		if (id == NULL || user == NULL)
			return adm_fail(a, "--identifier and --user are required") + 1;
		body = json_pack("{s:s}", "user", user);
		snprintf(path, sizeof(path), "/api/v1/node/%s/user", id);
		snprintf(line, sizeof(line), "Node moved to %s", user);
	} else {
		return adm_fail(a, "unknown command (want list, register, rename, delete, expire, "
				   "tag or move)") +
		       1;
	}
	if (adm_call(a, "POST", path, body, &ans) != 0)
		return 1;
	adm_one(a, ans, "node", line);
	json_decref(ans);
	return 0;
}

/* ---- API keys ----------------------------------------------------------------------------- */

static void adm_apikey_row(json_t *k, char c[][256])
{
	char t1[32], t2[32], t3[32];

	snprintf(c[0], 256, "%s", adm_str(k, "id"));
	snprintf(c[1], 256, "%s", adm_str(k, "prefix"));
	adm_time(k, "expiration", t1);
	snprintf(c[2], 256, "%s", t1[0] ? t1 : "never");
	snprintf(c[3], 256, "%s", adm_time(k, "createdAt", t2));
	snprintf(c[4], 256, "%s", adm_time(k, "lastSeen", t3));
}

static int adm_apikeys(struct adm *a, int argc, char **argv)
{
	const char *cfg = NULL, *out = NULL, *prefix = NULL;
	json_t *ans = NULL, *body;
	size_t npos;
	int r;

	if (strcmp(a->cmd, "create") == 0) {
		uint64_t ns = 90ULL * 86400ULL * 1000000000ULL;
		struct cli_flag f[] = {
			{ .name = "expiration", .alias = "e", .kind = CLI_FLAG_DURATION,
			  .value = &ns, .arg = "DURATION", .def = "90d",
			  .help = "how long the key is valid (0: never)" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 0, &npos,
				   "[--expiration 90d] [flags]",
				   "Creates an API key for the REST API and remote administration. "
				   "It is printed once; only its hash is stored.")) >= 0)
			return r;
		body = json_object();
		json_object_set_new(body, "expiration", adm_expiration(ns));
		if (adm_call(a, "POST", "/api/v1/apikey", body, &ans) != 0)
			return 1;
		adm_one(a, ans, NULL, adm_str(ans, "apiKey"));
	} else if (strcmp(a->cmd, "list") == 0 || strcmp(a->cmd, "ls") == 0) {
		static const char *const head[] = { "ID", "Prefix", "Expiration", "Created",
						    "Last used" };
		struct cli_flag f[] = { ADM_COMMON_FLAGS(&cfg, &out) };
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 0, &npos,
				   "[flags]", "Lists the API keys (by prefix).")) >= 0)
			return r;
		if (adm_call(a, "GET", "/api/v1/apikey", NULL, &ans) != 0)
			return 1;
		adm_list(a, ans, "apiKeys", head, 5, adm_apikey_row);
	} else if (strcmp(a->cmd, "expire") == 0 || strcmp(a->cmd, "delete") == 0) {
		bool del = strcmp(a->cmd, "delete") == 0;
		char path[512];
		struct cli_flag f[] = {
			{ .name = "prefix", .alias = "p", .kind = CLI_FLAG_STRING, .value = &prefix,
			  .arg = "PREFIX", .help = "the key's prefix (from list)" },
			ADM_COMMON_FLAGS(&cfg, &out),
		};
		if ((r = adm_start(a, f, sizeof(f) / sizeof(f[0]), argc, argv, 0, 0, &npos,
				   "--prefix PREFIX [flags]",
				   del ? "Deletes an API key." : "Expires an API key at once.")) >= 0)
			return r;
		if (prefix == NULL)
			return adm_fail(a, "--prefix is required") + 1;
		if (del) {
			char *q = adm_escape(prefix);
			snprintf(path, sizeof(path), "/api/v1/apikey/%s", q ? q : "");
			free(q);
			r = adm_call(a, "DELETE", path, NULL, &ans);
		} else {
			r = adm_call(a, "POST", "/api/v1/apikey/expire",
				     json_pack("{s:s}", "prefix", prefix), &ans);
		}
		if (r != 0)
			return 1;
		adm_one(a, ans, NULL, del ? "Key deleted" : "Key expired");
	} else {
		return adm_fail(a, "unknown command (want create, list, expire or delete)") + 1;
	}
	json_decref(ans);
	return 0;
}

/* ---- entry -------------------------------------------------------------------------------- */

static const struct {
	const char *name, *alias;
	int (*run)(struct adm *a, int argc, char **argv);
	const char *cmds;
} adm_groups[] = {
	{ "users", "user", adm_users, "create NAME | list | rename OLD NEW | delete NAME" },
	{ "preauthkeys", "preauthkey", adm_preauthkeys,
	  "create --user U [--reusable] [--ephemeral] [--expiration 1h] [--tags tag:a] | list | "
	  "expire KEY | delete KEY" },
	{ "nodes", "node", adm_nodes,
	  "list | register --key ID --user U | rename -i ID NAME | delete -i ID | expire -i ID | "
	  "tag -i ID -t TAGS | move -i ID --user U" },
	{ "apikeys", "apikey", adm_apikeys,
	  "create [--expiration 90d] | list | expire --prefix P | delete --prefix P" },
};

bool admin_cmd_is_group(const char *name)
{
	for (size_t i = 0; i < sizeof(adm_groups) / sizeof(adm_groups[0]); i++)
		if (strcmp(name, adm_groups[i].name) == 0 || strcmp(name, adm_groups[i].alias) == 0)
			return true;
	return false;
}

void admin_cmd_usage(FILE *fp)
{
	for (size_t i = 0; i < sizeof(adm_groups) / sizeof(adm_groups[0]); i++)
		fprintf(fp, "  %-12s %s\n", adm_groups[i].name, adm_groups[i].cmds);
}

int admin_cmd_main(const char *config_path, int argc, char **argv)
{
	struct adm a = { .config_path = config_path };
	int r = 2;

	for (size_t i = 0; i < sizeof(adm_groups) / sizeof(adm_groups[0]); i++) {
		if (strcmp(argv[0], adm_groups[i].name) != 0 &&
		    strcmp(argv[0], adm_groups[i].alias) != 0)
			continue;
		a.group = adm_groups[i].name;
		if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
		    strcmp(argv[1], "help") == 0) {
			FILE *fp = argc < 2 ? stderr : stdout;
			fprintf(fp,
				"usage: weft-server [--config FILE] %s COMMAND [flags]\n\n"
				"commands: %s\n\nEvery command takes --config FILE and "
				"--output json; `COMMAND --help` shows its flags.\n",
				a.group, adm_groups[i].cmds);
			return argc < 2 ? 2 : 0;
		}
		a.cmd = argv[1];
		r = adm_groups[i].run(&a, argc - 2, argv + 2);
		break;
	}
	admin_client_free(a.client);
	srv_config_free(a.cfg);
	return r;
}
