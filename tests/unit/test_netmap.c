/* SPDX-License-Identifier: ISC */
/*
 * test_netmap: full maps, deltas (added/changed/removed/patched peers, key
 * swaps, replaced parts), the change list, all-or-nothing rejects, diff, and
 * random deltas checked against a plain array as the reference.
 */
#include <errno.h>

#include "core/buf.h"
#include "json/jsonx.h"
#include "netmap/netmap.h"
#include "testutil.h"

/* A node whose key and addresses derive from `keyseed` (so a key change is a new seed). */
static struct netmap_node *mknode(uint64_t id, uint32_t keyseed)
{
	struct netmap_node *n = calloc(1, sizeof(*n));
	char a4[32], a6[48];

	assert_non_null(n);
	n->id = id;
	n->name = strdup("host.example.com.");
	n->hostname = strdup("host");
	n->os = strdup("linux");
	n->user = 1;
	memcpy(n->key.b, &keyseed, sizeof(keyseed));
	n->key.b[31] = 0x4e;
	n->disco.b[0] = 7;
	n->n_addresses = 2;
	n->addresses = calloc(3, sizeof(*n->addresses));
	snprintf(a4, sizeof(a4), "100.64.%u.%u/32", (keyseed >> 8) & 255, keyseed & 255);
	snprintf(a6, sizeof(a6), "fd7a:115c:a1e0::%x/128", keyseed);
	assert_int_equal(netprefix_parse(a4, &n->addresses[0]), 0);
	assert_int_equal(netprefix_parse(a6, &n->addresses[1]), 0);
	n->allowed_ips = calloc(3, sizeof(*n->allowed_ips));
	memcpy(n->allowed_ips, n->addresses, 2 * sizeof(*n->addresses));
	n->n_allowed_ips = 2;
	n->endpoints = calloc(2, sizeof(*n->endpoints));
	n->tags = calloc(1, sizeof(char *));
	n->created = 1700000000;
	return n;
}

static void put_node(struct buf_writer *w, uint64_t id, uint32_t keyseed)
{
	struct netmap_node *n = mknode(id, keyseed);

	assert_int_equal(netmap_node_write(w, n), 0);
	netmap_node_free(n);
}

static json_t *load(struct buf_writer *w)
{
	struct jsonx_err err;
	json_t *v;

	assert_false(w->err);
	if (jsonx_load(w->p, w->len, &v, &err) < 0)
		fail_msg("%s: %.*s", err.msg, (int)w->len, (char *)w->p);
	w->len = 0;
	return v;
}

/* Self = node 1 (seed 1), peers 2..n+1 (seeds equal ids). */
static struct netmap *full_map(size_t npeers)
{
	struct buf_writer w;
	struct jsonx_err err;
	struct netmap *nm;
	json_t *v;

	buf_writer_growable(&w, 1 << 24);
	buf_put_str(&w, "{\"Seq\":1,\"Type\":\"full\",\"Self\":");
	put_node(&w, 1, 1);
	buf_put_str(&w, ",\"Peers\":[");
	for (size_t i = 0; i < npeers; i++) {
		if (i > 0)
			buf_put_u8(&w, ',');
		put_node(&w, i + 2, (uint32_t)(i + 2));
	}
	buf_printf(&w, "],\"Users\":[{\"ID\":1,\"Name\":\"alice\"}],\"Domain\":\"example.com\","
		       "\"PacketFilter\":%s,\"DNS\":{\"MagicDNS\":true,\"BaseDomain\":\"example.com\","
		       "\"Nameservers\":[\"1.1.1.1\"],\"SplitDNS\":{\"corp\":[\"10.0.0.1\"]}},"
		       "\"RelayMap\":{\"Regions\":{\"900\":{\"RegionID\":900,\"RegionCode\":\"r\","
		       "\"Nodes\":[{\"Name\":\"900a\",\"RegionID\":900,\"HostName\":\"relay\","
		       "\"RelayPort\":443,\"STUNPort\":3478}]}}}}",
		   netmap_filter_allow_all);
	v = load(&w);
	if (netmap_new_from_full(v, &nm, &err) < 0)
		fail_msg("%s", err.msg);
	json_decref(v);
	buf_writer_free(&w);
	return nm;
}

static int apply(struct netmap *nm, const char *delta, struct netmap_changes *ch,
		 struct jsonx_err *err)
{
	json_t *v;
	int r;

	if (jsonx_load(delta, strlen(delta), &v, err) < 0)
		fail_msg("%s: %s", err->msg, delta);
	r = netmap_apply_delta(nm, v, ch, err);
	json_decref(v);
	return r;
}

static struct netaddr addr(const char *s)
{
	struct netaddr a;

	assert_int_equal(netaddr_parse(s, &a), 0);
	return a;
}

static void test_full(void **state)
{
	struct netmap *nm = full_map(3);
	const struct netmap_node *p;
	struct netaddr a = addr("100.64.0.3");
	struct node_public k = { 0 };
	uint32_t seed = 4;

	(void)state;
	assert_int_equal(netmap_self(nm)->id, 1);
	assert_int_equal(netmap_peer_count(nm), 3);
	assert_non_null(p = netmap_peer_by_addr(nm, &a));
	assert_int_equal(p->id, 3);
	a = addr("fd7a:115c:a1e0::4");
	assert_int_equal(netmap_peer_by_addr(nm, &a)->id, 4);
	memcpy(k.b, &seed, 4);
	k.b[31] = 0x4e;
	assert_int_equal(netmap_peer_by_key(nm, &k)->id, 4);
	assert_null(netmap_peer_by_id(nm, 1)); /* self is not a peer */
	assert_string_equal(netmap_user_by_id(nm, 1)->name, "alice");
	assert_true(netmap_dns(nm)->magic_dns);
	assert_string_equal(netmap_dns(nm)->split[0].nameservers[0], "10.0.0.1");
	assert_int_equal(netmap_relaymap(nm)->regions[0].nodes[0].relay_port, 443);
	assert_string_equal(netmap_domain(nm), "example.com");
	assert_true(json_is_array(netmap_packet_filter(nm)));
	netmap_free(nm);
}

static int full_text(const char *self, const char *peers, const char *extra,
		     struct jsonx_err *err)
{
	struct buf_writer w;
	struct netmap *nm;
	json_t *v;
	int r;

	buf_writer_growable(&w, 1 << 20);
	buf_printf(&w, "{\"Type\":\"full\",\"Self\":%s,\"Peers\":[%s]%s}", self, peers, extra);
	v = load(&w);
	r = netmap_new_from_full(v, &nm, err);
	assert_true(r == 0 || nm == NULL);
	netmap_free(nm);
	json_decref(v);
	buf_writer_free(&w);
	return r;
}

static void test_full_rejects(void **state)
{
	struct buf_writer n1, n2, both;
	struct jsonx_err err;

	(void)state;
	buf_writer_growable(&n1, 1 << 20);
	buf_writer_growable(&n2, 1 << 20);
	buf_writer_growable(&both, 1 << 20);
	put_node(&n1, 1, 1);
	buf_put_u8(&n1, 0);
	put_node(&n2, 2, 2);
	buf_put_u8(&n2, 0);
	buf_printf(&both, "%s,%s", (char *)n2.p, (char *)n2.p);
	assert_int_equal(full_text((char *)n1.p, (char *)n2.p, "", &err), 0);
	assert_int_equal(full_text((char *)n1.p, (char *)both.p, "", &err), -EINVAL);
	assert_string_equal(err.msg, "Peers[1].ID: duplicate node ID 2");
	assert_int_equal(full_text((char *)n2.p, (char *)n2.p, "", &err), -EINVAL);
	assert_int_equal(full_text((char *)n1.p, (char *)n2.p, ",\"Bogus\":1", &err), -EINVAL);
	assert_string_equal(err.msg, "Bogus: unknown field");
	assert_int_equal(full_text((char *)n1.p, "{\"ID\":3}", "", &err), -EINVAL);
	assert_string_equal(err.msg, "Peers[0].Key: required field missing");
	buf_writer_free(&n1);
	buf_writer_free(&n2);
	buf_writer_free(&both);
}

static const struct netmap_change *find_change(const struct netmap_changes *ch, uint64_t id)
{
	for (size_t i = 0; i < ch->n; i++)
		if (ch->v[i].id == id)
			return &ch->v[i];
	return NULL;
}

static void test_delta(void **state)
{
	struct netmap *nm = full_map(4); /* peers 2..5 */
	struct netmap_changes ch;
	struct jsonx_err err;
	struct buf_writer w;
	const struct netmap_change *c;
	const struct netmap_node *p;
	struct netaddr a;

	(void)state;
	netmap_changes_init(&ch);
	buf_writer_growable(&w, 1 << 20);
	/* remove 2, add 9, re-key 3 (seed 33), patch 4's endpoints and online */
	buf_put_str(&w, "{\"Seq\":2,\"Type\":\"delta\",\"PeersRemoved\":[2],\"PeersChanged\":[");
	put_node(&w, 9, 9);
	buf_put_u8(&w, ',');
	put_node(&w, 3, 33);
	buf_put_str(&w, "],\"PeersPatch\":[{\"ID\":4,\"Endpoints\":[\"192.0.2.1:41641\"],"
			"\"Online\":true,\"LastSeen\":null}],\"DNS\":{\"MagicDNS\":false}}");
	buf_put_u8(&w, 0);
	assert_int_equal(apply(nm, (char *)w.p, &ch, &err), 0);
	assert_int_equal(netmap_peer_count(nm), 4);
	assert_null(netmap_peer_by_id(nm, 2));
	assert_non_null(netmap_peer_by_id(nm, 9));
	p = netmap_peer_by_id(nm, 4);
	assert_int_equal(p->n_endpoints, 1);
	assert_true(p->online);
	a = addr("100.64.0.2");
	assert_null(netmap_peer_by_addr(nm, &a));
	a = addr("100.64.0.33");
	assert_int_equal(netmap_peer_by_addr(nm, &a)->id, 3);
	a = addr("100.64.0.3");
	assert_null(netmap_peer_by_addr(nm, &a));
	assert_false(netmap_dns(nm)->magic_dns);
	assert_int_equal(ch.n, 4);
	assert_int_equal(find_change(&ch, 2)->type, NETMAP_PEER_REMOVED);
	assert_int_equal(find_change(&ch, 9)->type, NETMAP_PEER_ADDED);
	c = find_change(&ch, 3);
	assert_int_equal(c->type, NETMAP_PEER_CHANGED);
	assert_true(c->fields & NETMAP_F_KEY);
	assert_true(c->fields & NETMAP_F_ADDRESSES);
	assert_int_equal(c->old_key.b[0], 3);
	c = find_change(&ch, 4);
	assert_int_equal(c->fields, NETMAP_F_ENDPOINTS | NETMAP_F_ONLINE);
	assert_int_equal(ch.global, NETMAP_G_DNS);
	netmap_changes_free(&ch);
	buf_writer_free(&w);
	netmap_free(nm);
}

static void test_delta_swap(void **state)
{
	struct netmap *nm = full_map(2); /* peers 2, 3 */
	struct jsonx_err err;
	struct buf_writer w;

	(void)state;
	buf_writer_growable(&w, 1 << 20);
	buf_put_str(&w, "{\"Type\":\"delta\",\"PeersChanged\":[");
	put_node(&w, 2, 3);
	buf_put_u8(&w, ',');
	put_node(&w, 3, 2);
	buf_put_str(&w, "]}");
	buf_put_u8(&w, 0);
	assert_int_equal(apply(nm, (char *)w.p, NULL, &err), 0);
	assert_int_equal(netmap_peer_by_id(nm, 2)->key.b[0], 3);
	assert_int_equal(netmap_peer_by_id(nm, 3)->key.b[0], 2);
	buf_writer_free(&w);
	netmap_free(nm);
}

static void test_delta_rejects(void **state)
{
	struct netmap *nm = full_map(3); /* peers 2, 3, 4 */
	struct jsonx_err err;
	struct buf_writer w;
	struct netmap_changes ch;

	(void)state;
	netmap_changes_init(&ch);
	buf_writer_growable(&w, 1 << 20);
	/* a valid part followed by a patch for an unknown peer: nothing may change */
	buf_put_str(&w, "{\"Type\":\"delta\",\"PeersRemoved\":[2],\"PeersPatch\":[{\"ID\":77}]}");
	buf_put_u8(&w, 0);
	assert_int_equal(apply(nm, (char *)w.p, &ch, &err), -EINVAL);
	assert_string_equal(err.msg, "PeersPatch[0].ID: unknown peer 77");
	assert_non_null(netmap_peer_by_id(nm, 2));
	assert_int_equal(ch.n, 0);
	/* a new peer taking peer 4's key */
	w.len = 0;
	buf_put_str(&w, "{\"Type\":\"delta\",\"PeersChanged\":[");
	put_node(&w, 10, 4);
	buf_put_str(&w, "]}");
	buf_put_u8(&w, 0);
	assert_int_equal(apply(nm, (char *)w.p, &ch, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "held by peer 4"));
	/* ... is fine when 4 goes in the same delta */
	w.len = 0;
	buf_put_str(&w, "{\"Type\":\"delta\",\"PeersRemoved\":[4],\"PeersChanged\":[");
	put_node(&w, 10, 4);
	buf_put_str(&w, "]}");
	buf_put_u8(&w, 0);
	assert_int_equal(apply(nm, (char *)w.p, &ch, &err), 0);
	/* self as a peer; patching a removed peer; unknown fields; bad type */
	static const char *const bad[] = {
		"{\"Type\":\"delta\",\"PeersRemoved\":[3],\"PeersPatch\":[{\"ID\":3,\"Online\":true}]}",
		"{\"Type\":\"delta\",\"PeersPatch\":[{\"ID\":3,\"Key\":\"x\"}]}",
		"{\"Type\":\"delta\",\"PeersRemoved\":[\"3\"]}",
		"{\"Type\":\"full\"}",
		"{\"Type\":\"delta\",\"PeersPatch\":[{\"ID\":3,\"Endpoints\":[\"1.2.3.4\"]}]}",
		"{\"Type\":\"delta\",\"DNS\":{\"MagicDNS\":1}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(apply(nm, bad[i], &ch, &err), -EINVAL);
	assert_int_equal(netmap_peer_count(nm), 3);
	/* the node itself among PeersChanged and PeersPatch: Self is updated */
	w.len = 0;
	netmap_changes_reset(&ch);
	buf_put_str(&w, "{\"Type\":\"delta\",\"PeersRemoved\":[1],\"PeersChanged\":[");
	put_node(&w, 1, 77);
	buf_put_str(&w, "],\"PeersPatch\":[{\"ID\":1,\"RelayHome\":7}]}");
	buf_put_u8(&w, 0);
	assert_int_equal(apply(nm, (char *)w.p, &ch, &err), 0);
	assert_int_equal(netmap_self(nm)->key.b[0], 77);
	assert_int_equal(netmap_self(nm)->relay_home, 7);
	assert_int_equal(ch.n, 0);
	assert_int_equal(ch.global, NETMAP_G_SELF);
	assert_null(netmap_peer_by_id(nm, 1));
	/* ... but a peer may not take the node's own key */
	w.len = 0;
	buf_put_str(&w, "{\"Type\":\"delta\",\"PeersChanged\":[");
	put_node(&w, 12, 77);
	buf_put_str(&w, "]}");
	buf_put_u8(&w, 0);
	assert_int_equal(apply(nm, (char *)w.p, &ch, &err), -EINVAL);
	assert_string_equal(err.msg, "PeersChanged[0].Key: is the node's own key");
	buf_writer_free(&w);
	netmap_changes_free(&ch);
	netmap_free(nm);
}

static void test_diff(void **state)
{
	struct netmap *a = full_map(5), *b = full_map(5);
	struct netmap_changes ch;
	struct jsonx_err err;

	(void)state;
	netmap_changes_init(&ch);
	assert_int_equal(netmap_diff(a, b, &ch), 0);
	assert_int_equal(ch.n, 0);
	assert_int_equal(ch.global, 0);
	assert_int_equal(apply(b, "{\"Type\":\"delta\",\"PeersRemoved\":[2],\"PeersPatch\":"
				  "[{\"ID\":3,\"RelayHome\":900}],\"Domain\":\"x.org\"}",
			       NULL, &err),
			 0);
	assert_int_equal(netmap_diff(a, b, &ch), 0);
	assert_int_equal(ch.n, 2);
	assert_int_equal(find_change(&ch, 2)->type, NETMAP_PEER_REMOVED);
	assert_int_equal(find_change(&ch, 3)->fields, NETMAP_F_RELAY_HOME);
	assert_int_equal(ch.global, NETMAP_G_DOMAIN);
	netmap_changes_free(&ch);
	netmap_free(a);
	netmap_free(b);
}

/* Reference: id -> keyseed (0 = absent). */
#define REF_MAX 400

static void check_against(const struct netmap *nm, const uint32_t *ref)
{
	size_t count = 0;

	for (uint64_t id = 2; id < REF_MAX; id++) {
		const struct netmap_node *p = netmap_peer_by_id(nm, id);
		if (ref[id] == 0) {
			assert_null(p);
			continue;
		}
		count++;
		assert_non_null(p);
		assert_memory_equal(p->key.b, &ref[id], 4);
		assert_ptr_equal(netmap_peer_by_key(nm, &p->key), p);
		assert_ptr_equal(netmap_peer_by_addr(nm, &p->addresses[0].addr), p);
		assert_ptr_equal(netmap_peer_by_addr(nm, &p->addresses[1].addr), p);
	}
	assert_int_equal(netmap_peer_count(nm), count);
	for (size_t i = 0; i < count; i++)
		assert_int_not_equal(ref[netmap_peer_at(nm, i)->id], 0);
}

static void test_random(void **state)
{
	uint32_t ref[REF_MAX] = { 0 }, next_seed = 1000;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	struct netmap *nm = full_map(0);
	struct jsonx_err err;
	struct buf_writer w;

	(void)state;
	buf_writer_growable(&w, 1 << 22);
	for (int round = 0; round < 300; round++) {
		bool used[REF_MAX] = { false };
		bool first = true;
		buf_put_str(&w, "{\"Type\":\"delta\",\"PeersRemoved\":[");
		for (int k = 0; k < 3; k++) {
			uint64_t id = 2 + tu_rng(&rng) % (REF_MAX - 2);
			if (ref[id] == 0 || used[id])
				continue;
			buf_printf(&w, "%s%llu", first ? "" : ",", (unsigned long long)id);
			first = false;
			used[id] = true;
			ref[id] = 0;
		}
		buf_put_str(&w, "],\"PeersChanged\":[");
		first = true;
		for (int k = 0; k < 6; k++) {
			uint64_t id = 2 + tu_rng(&rng) % (REF_MAX - 2);
			if (used[id])
				continue;
			used[id] = true;
			if (ref[id] == 0 || tu_rng(&rng) % 2)
				ref[id] = next_seed++;
			if (!first)
				buf_put_u8(&w, ',');
			first = false;
			put_node(&w, id, ref[id]);
		}
		buf_put_str(&w, "],\"PeersPatch\":[");
		first = true;
		for (uint64_t id = 2; id < REF_MAX; id++) {
			if (ref[id] == 0 || tu_rng(&rng) % 50)
				continue;
			buf_printf(&w, "%s{\"ID\":%llu,\"Online\":true}", first ? "" : ",",
				   (unsigned long long)id);
			first = false;
		}
		buf_put_str(&w, "]}");
		buf_put_u8(&w, 0);
		if (apply(nm, (char *)w.p, NULL, &err) < 0)
			fail_msg("round %d: %s", round, err.msg);
		w.len = 0;
		check_against(nm, ref);
	}
	buf_writer_free(&w);
	netmap_free(nm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),	   cmocka_unit_test(test_full_rejects),
		cmocka_unit_test(test_delta),	   cmocka_unit_test(test_delta_swap),
		cmocka_unit_test(test_delta_rejects), cmocka_unit_test(test_diff),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
