/* SPDX-License-Identifier: ISC */
/*
 * policy_cmd: `weft-server policy get|set|check|compile` (see policy_cmd.h):
 * REST calls to the running server for get, set and live checks; for the
 * offline verbs, read the files, turn the topology JSON into a
 * policy_topology, and print the verdict or the rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/atomicfile.h"
#include "policy/policy.h"
#include "weft-server/admin_client.h"
#include "weft-server/config.h"
#include "weft-server/policy_cmd.h"

#define TOPOLOGY_MAX_LEN (16u << 20)

static void usage(FILE *fp)
{
	fprintf(fp, "usage: weft-server policy get [--output json]\n"
		    "       weft-server policy set FILE\n"
		    "       weft-server policy check FILE [--topology TOPOLOGY.json | --offline]\n"
		    "       weft-server policy compile FILE --topology TOPOLOGY.json\n\n"
		    "get: print the policy in force. set: check FILE (HuJSON), run its tests and\n"
		    "sshTests against the tailnet, and put it in force (policy.mode: database).\n"
		    "check: the same without setting it; with --topology against that file\n"
		    "instead of the running server, with --offline (or when no server answers)\n"
		    "only parse and validate. compile: print every node's packet filter and SSH\n"
		    "rules as {\"nodes\": {NAME: {\"packet_filter_rules\", \"ssh_rules\", "
		    "\"peers\"}}}.\n"
		    "Every verb takes --config FILE (the server's configuration, as for serve).\n");
}

/* The topology file's contents, kept alive in one arena. */
struct topo {
	struct arena *a;
	json_t *doc;
	struct policy_topology t;
};

static void topo_free(struct topo *tp)
{
	json_decref(tp->doc);
	arena_free(tp->a);
}

static int load_prefixes(struct arena *a, const json_t *v, const char *what, const char *node,
			 const struct netprefix **out, size_t *n)
{
	struct netprefix *p;
	json_t *e;
	size_t i;

	*out = NULL;
	*n = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v) || (p = arena_calloc(a, json_array_size(v) + 1, sizeof(*p))) == NULL)
		return -EINVAL;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || netprefix_parse_loose(json_string_value(e), &p[i]) < 0) {
			fprintf(stderr, "topology: node %s: %s[%zu] is not a prefix\n", node, what,
				i);
			return -EINVAL;
		}
	}
	*out = p;
	*n = json_array_size(v);
	return 0;
}

static int topo_load(const char *path, struct topo *tp)
{
	struct policy_user *users;
	struct policy_node *nodes;
	json_error_t jerr;
	json_t *ju, *jn, *e;
	size_t i, k;
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	memset(tp, 0, sizeof(*tp));
	if ((rc = atomicfile_read(path, TOPOLOGY_MAX_LEN, &buf, &len)) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-rc));
		return rc;
	}
	tp->doc = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (tp->doc == NULL) {
		fprintf(stderr, "%s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	if ((rc = arena_new(16384, &tp->a)) < 0)
		return rc;
	tp->t.tailnet = json_string_value(json_object_get(tp->doc, "tailnet"));
	tp->t.control_url = json_string_value(json_object_get(tp->doc, "control_url"));
	ju = json_object_get(tp->doc, "users");
	jn = json_object_get(tp->doc, "nodes");
	if ((ju != NULL && !json_is_array(ju)) || !json_is_array(jn)) {
		fprintf(stderr, "%s: expected \"users\" and \"nodes\" arrays\n", path);
		return -EINVAL;
	}
	users = arena_calloc(tp->a, json_array_size(ju) + 1, sizeof(*users));
	nodes = arena_calloc(tp->a, json_array_size(jn) + 1, sizeof(*nodes));
	if (users == NULL || nodes == NULL)
		return -ENOMEM;
	json_array_foreach(ju, i, e) {
		users[i].id = i + 1;
		users[i].name = json_string_value(json_object_get(e, "name"));
		users[i].login = json_string_value(json_object_get(e, "email"));
		if (users[i].name == NULL)
			users[i].name = "";
		if (users[i].login == NULL)
			users[i].login = users[i].name;
	}
	json_array_foreach(jn, i, e) {
		struct policy_node *n = &nodes[i];
		const char *user = json_string_value(json_object_get(e, "user"));
		const char **tags;
		struct netaddr *addrs;
		json_t *jt = json_object_get(e, "tags"), *tv;
		static const char *const fam[] = { "ipv4", "ipv6" };

		n->id = i + 1;
		n->name = json_string_value(json_object_get(e, "name"));
		n->hostname = json_string_value(json_object_get(e, "hostname"));
		if (n->name == NULL) {
			fprintf(stderr, "%s: nodes[%zu] has no name\n", path, i);
			return -EINVAL;
		}
		n->user = -1;
		for (k = 0; user != NULL && k < json_array_size(ju); k++)
			if (strcmp(users[k].name, user) == 0 || strcmp(users[k].login, user) == 0)
				n->user = (int)k;
		if ((tags = arena_calloc(tp->a, json_array_size(jt) + 1, sizeof(*tags))) == NULL ||
		    (addrs = arena_calloc(tp->a, 2, sizeof(*addrs))) == NULL)
			return -ENOMEM;
		json_array_foreach(jt, k, tv) {
			if ((tags[k] = json_string_value(tv)) == NULL) {
				fprintf(stderr, "%s: node %s: tags[%zu] is not a string\n", path,
					n->name, k);
				return -EINVAL;
			}
		}
		n->tags = tags;
		n->ntags = json_array_size(jt);
		for (k = 0; k < 2; k++) {
			const char *s = json_string_value(json_object_get(e, fam[k]));

			if (s == NULL || s[0] == '\0')
				continue;
			if (netaddr_parse(s, &addrs[n->naddrs]) < 0) {
				fprintf(stderr, "%s: node %s: %s \"%s\" is not an address\n", path,
					n->name, fam[k], s);
				return -EINVAL;
			}
			n->naddrs++;
		}
		n->addrs = addrs;
		if ((rc = load_prefixes(tp->a, json_object_get(e, "routable_ips"), "routable_ips",
					n->name, &n->routes, &n->nroutes)) < 0 ||
		    (rc = load_prefixes(tp->a, json_object_get(e, "approved_routes"),
					"approved_routes", n->name, &n->approved, &n->napproved)) <
			    0)
			return rc;
	}
	tp->t.users = users;
	tp->t.nusers = json_array_size(ju);
	tp->t.nodes = nodes;
	tp->t.nnodes = json_array_size(jn);
	return 0;
}

static int load_policy(const char *path, const char *tailnet, struct policy **out)
{
	char msg[POLICY_ERR_LEN + POLICY_PATH_LEN + 32];
	struct policy_err err;
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = atomicfile_read(path, POLICY_MAX_LEN, &buf, &len)) < 0) {
		fprintf(stderr, "%s: %s\n", path,
			rc == -EFBIG ? "policy file too large" : strerror(-rc));
		return rc;
	}
	rc = policy_parse((const char *)buf, len, tailnet, out, &err);
	free(buf);
	if (rc < 0)
		fprintf(stderr, "%s:%s%s\n", path, err.line > 0 ? "" : " ",
			policy_err_format(&err, msg, sizeof(msg)));
	return rc;
}

static int run_tests(const char *path, const struct policy *p, const struct policy_topology *t)
{
	char msg[POLICY_ERR_LEN + POLICY_PATH_LEN + 32];
	struct policy_err err;

	if (policy_check_tests(p, t, &err) < 0) {
		fprintf(stderr, "%s: %s\n", path, policy_err_format(&err, msg, sizeof(msg)));
		return -EINVAL;
	}
	return 0;
}

static int print_compiled(const struct policy *p, const struct policy_topology *t)
{
	struct policy_compiled *c = NULL;
	json_t *out = NULL, *nodes, *o, *peers;
	size_t i, j;
	int rc;

	if ((rc = policy_compile(p, t, &c)) < 0) {
		fprintf(stderr, "policy compile: %s\n", strerror(-rc));
		return rc;
	}
	rc = -ENOMEM;
	if ((out = json_object()) == NULL || (nodes = json_object()) == NULL ||
	    json_object_set_new(out, "nodes", nodes) < 0)
		goto out;
	for (i = 0; i < t->nnodes; i++) {
		if ((o = json_object()) == NULL ||
		    json_object_set_new(nodes, t->nodes[i].name, o) < 0 ||
		    json_object_set(o, "packet_filter_rules", policy_compiled_filter(c, i)) < 0 ||
		    json_object_set(o, "ssh_rules", policy_compiled_ssh(c, i)) < 0 ||
		    (peers = json_array()) == NULL || json_object_set_new(o, "peers", peers) < 0)
			goto out;
		for (j = 0; j < t->nnodes; j++)
			if (policy_compiled_can_see(c, i, j) &&
			    json_array_append_new(peers, json_string(t->nodes[j].name)) < 0)
				goto out;
	}
	if (json_dumpf(out, stdout, JSON_INDENT(1) | JSON_SORT_KEYS) < 0 || fputc('\n', stdout) < 0)
		goto out;
	rc = 0;
out:
	if (rc == -ENOMEM)
		fprintf(stderr, "policy compile: out of memory\n");
	json_decref(out);
	policy_compiled_free(c);
	return rc;
}

/* Prints a refusal the way the offline check does: "FILE:LINE:COL: ..." or "FILE: ...". */
static void print_refusal(const char *file, const char *msg)
{
	fprintf(stderr, "%s:%s%s\n", file, msg[0] >= '0' && msg[0] <= '9' ? "" : " ", msg);
}

/* The running server's client, from the same configuration as serve. */
static int connect_server(const char *config_path, struct srv_config **cfg,
			  struct admin_client **cl)
{
	char err[SRV_CONFIG_ERR_LEN];

	*cfg = NULL;
	*cl = NULL;
	if ((config_path ? srv_config_load(config_path, cfg, err) : srv_config_defaults(cfg)) < 0) {
		fprintf(stderr, "weft-server policy: %s\n", config_path ? err : "out of memory");
		return -EINVAL;
	}
	if (admin_client_new(*cfg, cl, err, sizeof(err)) < 0) {
		fprintf(stderr, "weft-server policy: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

/* The file as a JSON request body {"policy": TEXT}. */
static json_t *policy_body(const char *path)
{
	uint8_t *buf = NULL;
	json_t *body;
	size_t len;
	int rc;

	if ((rc = atomicfile_read(path, POLICY_MAX_LEN, &buf, &len)) < 0) {
		fprintf(stderr, "%s: %s\n", path,
			rc == -EFBIG ? "policy file too large" : strerror(-rc));
		return NULL;
	}
	body = json_pack("{s:s%}", "policy", (const char *)buf, len);
	free(buf);
	if (body == NULL)
		fprintf(stderr, "%s: not UTF-8 text\n", path);
	return body;
}

static int cmd_get(struct admin_client *cl, bool json)
{
	char err[512];
	json_t *ans = NULL;
	const char *text;

	if (admin_call(cl, "GET", "/api/v1/policy", NULL, &ans, err, sizeof(err)) < 0) {
		fprintf(stderr, "weft-server policy get: %s\n", err);
		return 1;
	}
	text = json_string_value(json_object_get(ans, "policy"));
	if (json) {
		char *s = json_dumps(ans, JSON_INDENT(2));
		if (s != NULL)
			printf("%s\n", s);
		free(s);
	} else if (text != NULL && text[0] != '\0') {
		fputs(text, stdout);
		if (text[strlen(text) - 1] != '\n')
			fputc('\n', stdout);
	} else {
		fprintf(stderr, "no policy is set: every node may reach every other\n");
	}
	json_decref(ans);
	return 0;
}

static int cmd_set(struct admin_client *cl, const char *path)
{
	json_t *body = policy_body(path), *ans = NULL;
	char err[1024];
	int r;

	if (body == NULL)
		return 1;
	r = admin_call(cl, "PUT", "/api/v1/policy", body, &ans, err, sizeof(err));
	json_decref(body);
	json_decref(ans);
	if (r < 0) {
		if (r == -ECONNREFUSED)
			fprintf(stderr, "weft-server policy set: %s\n", err);
		else
			print_refusal(path, err);
		return 1;
	}
	fprintf(stderr, "%s: policy set\n", path);
	return 0;
}

/* check against the running server: 0 valid, 1 refused, -1 no server answered. */
static int check_live(struct admin_client *cl, const char *path)
{
	json_t *body = policy_body(path), *ans = NULL;
	char err[1024];
	int r;

	if (body == NULL)
		return 1;
	r = admin_call(cl, "POST", "/api/v1/policy/check", body, &ans, err, sizeof(err));
	json_decref(body);
	if (r == -ECONNREFUSED) {
		json_decref(ans);
		return -1;
	}
	if (r < 0) {
		print_refusal(path, err);
		json_decref(ans);
		return 1;
	}
	fprintf(stderr, "%s: valid, %lld tests and %lld sshTests pass on the running tailnet\n",
		path, (long long)json_integer_value(json_object_get(ans, "tests")),
		(long long)json_integer_value(json_object_get(ans, "sshTests")));
	json_decref(ans);
	return 0;
}

int policy_cmd_main(const char *config_path, int argc, char **argv)
{
	const char *verb, *policy_path = NULL, *topo_path = NULL, *output = NULL;
	struct srv_config *cfg = NULL;
	struct admin_client *cl = NULL;
	struct topo tp = { 0 };
	struct policy *p = NULL;
	bool have_topo = false, offline = false;
	int i, status = 1;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	verb = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--topology") == 0 && i + 1 < argc)
			topo_path = argv[++i];
		else if (strncmp(argv[i], "--topology=", 11) == 0)
			topo_path = argv[i] + 11;
		else if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) &&
			 i + 1 < argc)
			config_path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			config_path = argv[i] + 9;
		else if ((strcmp(argv[i], "--file") == 0 || strcmp(argv[i], "-f") == 0) &&
			 i + 1 < argc && policy_path == NULL)
			policy_path = argv[++i];
		else if ((strcmp(argv[i], "--output") == 0 || strcmp(argv[i], "-o") == 0) &&
			 i + 1 < argc)
			output = argv[++i];
		else if (strcmp(argv[i], "--offline") == 0)
			offline = true;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && policy_path == NULL)
			policy_path = argv[i];
		else {
			fprintf(stderr, "weft-server policy: unexpected argument `%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (strcmp(verb, "get") == 0) {
		if (policy_path != NULL || (output != NULL && strcmp(output, "json") != 0)) {
			usage(stderr);
			return 2;
		}
		if (connect_server(config_path, &cfg, &cl) == 0)
			status = cmd_get(cl, output != NULL);
		goto out;
	}
	if ((strcmp(verb, "check") != 0 && strcmp(verb, "compile") != 0 &&
	     strcmp(verb, "set") != 0) ||
	    policy_path == NULL || (strcmp(verb, "compile") == 0 && topo_path == NULL)) {
		usage(stderr);
		return 2;
	}
	if (strcmp(verb, "set") == 0) {
		if (connect_server(config_path, &cfg, &cl) == 0)
			status = cmd_set(cl, policy_path);
		goto out;
	}
	if (strcmp(verb, "check") == 0 && topo_path == NULL && !offline &&
	    connect_server(config_path, &cfg, &cl) == 0) {
		int r = check_live(cl, policy_path);

		if (r >= 0) {
			status = r;
			goto out;
		}
		/* No server answers: what can be checked without the tailnet. */
	}
	if (topo_path != NULL) {
		if (topo_load(topo_path, &tp) < 0)
			goto out;
		have_topo = true;
	}
	if (load_policy(policy_path, have_topo ? tp.t.tailnet : NULL, &p) < 0)
		goto out;
	if (!have_topo) {
		fprintf(stderr, "%s: valid (%zu tests and %zu sshTests not run: %s)\n", policy_path,
			p->ntests, p->nssh_tests,
			offline ? "--offline" : "no running server answered, and no --topology");
		status = 0;
		goto out;
	}
	if (run_tests(policy_path, p, &tp.t) < 0)
		goto out;
	if (strcmp(verb, "check") == 0) {
		fprintf(stderr, "%s: valid, %zu tests and %zu sshTests pass\n", policy_path,
			p->ntests, p->nssh_tests);
		status = 0;
		goto out;
	}
	status = print_compiled(p, &tp.t) < 0 ? 1 : 0;
out:
	admin_client_free(cl);
	srv_config_free(cfg);
	policy_free(p);
	topo_free(&tp);
	return status;
}
