/* SPDX-License-Identifier: ISC */
/*
 * policy_bench: what compiling a policy costs the server at scale. A
 * tailnet of 10,000 nodes (1,000 users with 8 nodes each, 2,000 tagged
 * nodes over 50 tags, 100 groups of 20 users) and a policy of 1,000 ACL
 * entries (groups, users, tags, autogroup:member and "*" as sources; tags,
 * groups and users with ports as destinations). Times the parse, the
 * compile, the comparison that decides which nodes get a delta after one
 * node is retagged, and reports the size of what the nodes receive.
 * Results in docs/BENCHMARKS.md.
 *
 *     build/bench/policy_bench [NODES] [RULES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <jansson.h>

#include "core/buf.h"
#include "policy/policy.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define NUSERS 1000
#define NGROUPS 100
#define NTAGS 50

static char *make_policy(unsigned nrules, size_t *len)
{
	struct buf_writer w;

	buf_writer_growable(&w, 64u << 20);
	buf_printf(&w, "{\n  \"groups\": {");
	for (unsigned g = 0; g < NGROUPS; g++) {
		buf_printf(&w, "%s\n    \"group:g%u\": [", g ? "," : "", g);
		for (unsigned k = 0; k < 20; k++)
			buf_printf(&w, "%s\"u%u@example.com\"", k ? ", " : "",
				   (g * 20 + k) % NUSERS);
		buf_printf(&w, "]");
	}
	buf_printf(&w, "\n  },\n  \"tagOwners\": {");
	for (unsigned t = 0; t < NTAGS; t++)
		buf_printf(&w, "%s\n    \"tag:t%u\": [\"group:g0\"]", t ? "," : "", t);
	buf_printf(&w, "\n  },\n  \"acls\": [");
	for (unsigned r = 0; r < nrules; r++) {
		char src[64], dst[64];
		unsigned port = 1 + rnd(60000);

		switch (rnd(20)) {
		case 0:
			snprintf(src, sizeof(src), "*");
			break;
		case 1:
			snprintf(src, sizeof(src), "autogroup:member");
			break;
		case 2:
		case 3:
		case 4:
		case 5:
			snprintf(src, sizeof(src), "tag:t%u", rnd(NTAGS));
			break;
		case 6:
		case 7:
		case 8:
		case 9:
			snprintf(src, sizeof(src), "u%u@example.com", rnd(NUSERS));
			break;
		default:
			snprintf(src, sizeof(src), "group:g%u", rnd(NGROUPS));
			break;
		}
		switch (rnd(4)) {
		case 0:
			snprintf(dst, sizeof(dst), "group:g%u:%u", rnd(NGROUPS), port);
			break;
		case 1:
			snprintf(dst, sizeof(dst), "u%u@example.com:%u-%u", rnd(NUSERS), port,
				 port + 10);
			break;
		default:
			snprintf(dst, sizeof(dst), "tag:t%u:%u", rnd(NTAGS), port);
			break;
		}
		buf_printf(&w,
			   "%s\n    {\"action\": \"accept\", \"src\": [\"%s\"], \"dst\": [\"%s\"]}",
			   r ? "," : "", src, dst);
	}
	buf_printf(&w, "\n  ]\n}\n");
	buf_put_u8(&w, 0);
	if (w.err)
		exit(1);
	return (char *)buf_writer_steal(&w, len);
}

struct tailnet {
	struct policy_user users[NUSERS];
	char user_names[NUSERS][32], logins[NUSERS][48];
	struct policy_node *nodes;
	char (*names)[32];
	const char *(*tags)[1];
	char (*tagtext)[16];
	struct netaddr (*addrs)[2];
	struct policy_topology t;
};

static void make_tailnet(struct tailnet *tn, unsigned nnodes)
{
	unsigned tagged = nnodes / 5;

	tn->nodes = calloc(nnodes, sizeof(*tn->nodes));
	tn->names = calloc(nnodes, sizeof(*tn->names));
	tn->tags = calloc(nnodes, sizeof(*tn->tags));
	tn->tagtext = calloc(nnodes, sizeof(*tn->tagtext));
	tn->addrs = calloc(nnodes, sizeof(*tn->addrs));
	for (unsigned u = 0; u < NUSERS; u++) {
		snprintf(tn->user_names[u], sizeof(tn->user_names[u]), "u%u", u);
		snprintf(tn->logins[u], sizeof(tn->logins[u]), "u%u@example.com", u);
		tn->users[u] = (struct policy_user){ .id = u + 1,
						     .name = tn->user_names[u],
						     .login = tn->logins[u] };
	}
	for (unsigned i = 0; i < nnodes; i++) {
		struct policy_node *n = &tn->nodes[i];
		uint8_t v4[4] = { 100, (uint8_t)(64 + ((i + 1) >> 16)), (uint8_t)((i + 1) >> 8),
				  (uint8_t)(i + 1) };
		uint8_t v6[16] = { 0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0 };

		v6[14] = (uint8_t)((i + 1) >> 8);
		v6[15] = (uint8_t)(i + 1);
		netaddr_from_v4(&tn->addrs[i][0], v4);
		netaddr_from_v6(&tn->addrs[i][1], v6);
		snprintf(tn->names[i], sizeof(tn->names[i]), "n%u", i);
		n->id = i + 1;
		n->name = n->hostname = tn->names[i];
		n->addrs = tn->addrs[i];
		n->naddrs = 2;
		if (i < tagged) {
			snprintf(tn->tagtext[i], sizeof(tn->tagtext[i]), "tag:t%u", i % NTAGS);
			tn->tags[i][0] = tn->tagtext[i];
			n->tags = tn->tags[i];
			n->ntags = 1;
			n->user = -1;
		} else {
			n->user = (int)((i - tagged) % NUSERS);
		}
	}
	tn->t = (struct policy_topology){ .tailnet = "u0@example.com",
					  .users = tn->users,
					  .nusers = NUSERS,
					  .nodes = tn->nodes,
					  .nnodes = nnodes };
}

int main(int argc, char **argv)
{
	unsigned nnodes = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10000;
	unsigned nrules = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1000;
	static struct tailnet tn;
	struct policy_compiled *c, *d;
	struct policy_err err;
	struct policy *p;
	struct rusage ru;
	size_t len, bytes = 0, rules = 0, peers = 0, nchanged;
	uint8_t *changed;
	char *text;
	double t0, t_parse, t_compile, t_recompile, t_diff;

	text = make_policy(nrules, &len);
	make_tailnet(&tn, nnodes);
	t0 = now_s();
	if (policy_parse(text, len - 1, "u0@example.com", &p, &err) < 0) {
		char msg[512];
		fprintf(stderr, "parse: %s\n", policy_err_format(&err, msg, sizeof(msg)));
		return 1;
	}
	t_parse = now_s() - t0;
	t0 = now_s();
	if (policy_compile(p, &tn.t, &c) < 0)
		return 1;
	t_compile = now_s() - t0;
	for (unsigned i = 0; i < nnodes; i++) {
		char *s = json_dumps(policy_compiled_filter(c, i), JSON_COMPACT);

		bytes += s != NULL ? strlen(s) : 0;
		rules += json_array_size(policy_compiled_filter(c, i));
		free(s);
		for (unsigned j = 0; j < nnodes; j++)
			peers += policy_compiled_can_see(c, i, j);
	}
	/* One node is retagged: compile again and find who must hear about it. */
	tn.tagtext[0][4] = 'x'; /* tag:t0 -> tag:x0: no rule names it */
	t0 = now_s();
	if (policy_compile(p, &tn.t, &d) < 0)
		return 1;
	t_recompile = now_s() - t0;
	changed = calloc(nnodes, 1);
	t0 = now_s();
	nchanged = (size_t)policy_compiled_diff(c, d, changed);
	t_diff = now_s() - t0;
	getrusage(RUSAGE_SELF, &ru);
	printf("%u nodes, %u rules (%zu bytes of policy): parse %.1f ms, compile %.0f ms, "
	       "recompile %.0f ms, diff %.0f ms (%zu nodes changed)\n",
	       nnodes, nrules, len - 1, t_parse * 1e3, t_compile * 1e3, t_recompile * 1e3,
	       t_diff * 1e3, nchanged);
	printf("per node: %.1f filter rules, %.0f bytes of PacketFilter, %.0f peers; "
	       "max RSS %ld MiB\n",
	       (double)rules / nnodes, (double)bytes / nnodes, (double)peers / nnodes,
	       ru.ru_maxrss / 1024);
	free(changed);
	policy_compiled_free(c);
	policy_compiled_free(d);
	policy_free(p);
	free(text);
	return 0;
}
