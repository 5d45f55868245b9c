/* SPDX-License-Identifier: ISC */
/*
 * policy_cmd: `weft-server policy check POLICY [--topology FILE]` and
 * `weft-server policy compile POLICY --topology FILE`: read the files, turn the
 * topology JSON into a policy_topology, and print the verdict or the rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/atomicfile.h"
#include "policy/policy.h"
#include "weft-server/policy_cmd.h"

#define TOPOLOGY_MAX_LEN (16u << 20)

static void usage(FILE *fp)
{
	fprintf(fp, "usage: weft-server policy check POLICY [--topology TOPOLOGY.json]\n"
		    "       weft-server policy compile POLICY --topology TOPOLOGY.json\n\n"
		    "check: parse and validate a policy file (HuJSON); with a topology, also run\n"
		    "its tests and sshTests. compile: print every node's packet filter and SSH\n"
		    "rules as {\"nodes\": {NAME: {\"packet_filter_rules\", \"ssh_rules\", "
		    "\"peers\"}}}.\n");
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

int policy_cmd_main(int argc, char **argv)
{
	const char *verb, *policy_path = NULL, *topo_path = NULL;
	struct topo tp = { 0 };
	struct policy *p = NULL;
	bool have_topo = false;
	int i, status = 1;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	verb = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--topology") == 0 && i + 1 < argc)
			topo_path = argv[++i];
		else if (strncmp(argv[i], "--topology=", 11) == 0)
			topo_path = argv[i] + 11;
		else if (argv[i][0] != '-' && policy_path == NULL)
			policy_path = argv[i];
		else {
			fprintf(stderr, "weft-server policy: unexpected argument `%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if ((strcmp(verb, "check") != 0 && strcmp(verb, "compile") != 0) || policy_path == NULL ||
	    (strcmp(verb, "compile") == 0 && topo_path == NULL)) {
		usage(stderr);
		return 2;
	}
	if (topo_path != NULL) {
		if (topo_load(topo_path, &tp) < 0)
			goto out;
		have_topo = true;
	}
	if (load_policy(policy_path, have_topo ? tp.t.tailnet : NULL, &p) < 0)
		goto out;
	if (!have_topo) {
		fprintf(stderr, "%s: valid (%zu tests and %zu sshTests not run: no --topology)\n",
			policy_path, p->ntests, p->nssh_tests);
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
	policy_free(p);
	topo_free(&tp);
	return status;
}
