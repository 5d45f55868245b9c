/* SPDX-License-Identifier: ISC */
/*
 * test_netmap_view: weftd's reader of network maps (src/weftd/backend_netmap.c)
 * on a map shaped as docs/PROTOCOL.md section 3 gives it, and its refusals of
 * malformed nodes. The backend's view setters are replaced by captures here.
 */
#include "../../src/weftd/backend_netmap.c"
#include "testutil.h"

static struct backend_peer got_self, got_peers[8];
static size_t got_npeers, got_nusers;
static struct backend_user got_users[8];

int backend_peers_set(struct backend *be, const struct backend_peer *self,
		      const struct backend_peer *peers, size_t npeers)
{
	(void)be;
	got_self = *self;
	assert_true(npeers <= 8);
	memcpy(got_peers, peers, npeers * sizeof(*peers));
	got_npeers = npeers;
	return 0;
}

int backend_users_set(struct backend *be, const struct backend_user *users, size_t n)
{
	(void)be;
	assert_true(n <= 8);
	memcpy(got_users, users, n * sizeof(*users));
	got_nusers = n;
	return 0;
}

#define K1 "nodekey:1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "nodekey:2222222222222222222222222222222222222222222222222222222222222222"
#define D2 "discokey:3333333333333333333333333333333333333333333333333333333333333333"

static const char *map_json =
	"{\"Self\":{\"ID\":1,\"Name\":\"spark.tail.example.\",\"HostName\":\"spark\",\"User\":1,"
	"\"Key\":\"" K1 "\",\"Addresses\":[\"100.64.0.1/32\",\"fd7a:115c:a1e0::1/128\"],"
	"\"OS\":\"linux\",\"Created\":\"2026-11-22T10:00:00Z\",\"KeyExpiry\":null},"
	"\"Peers\":[{\"ID\":2,\"Name\":\"gw.tail.example.\",\"HostName\":\"gw\",\"User\":1,"
	"\"Key\":\"" K2 "\",\"DiscoKey\":\"" D2 "\",\"Addresses\":[\"100.64.0.2/32\"],"
	"\"AllowedIPs\":[\"100.64.0.2/32\",\"10.1.0.0/24\"],\"Endpoints\":[\"192.0.2.2:41641\","
	"\"[2001:db8::2]:41641\"],\"RelayHome\":1,\"Online\":true,\"Tags\":[\"tag:gw\"],"
	"\"LastSeen\":\"2026-11-22T10:05:00.123Z\",\"Future\":{\"x\":1}}],"
	"\"Users\":[{\"ID\":1,\"LoginName\":\"ops@example.com\"}],"
	"\"DNS\":{\"MagicDNS\":true,\"BaseDomain\":\"tail.example\"},\"RelayMap\":{},"
	"\"PacketFilter\":[]}";

static void test_map(void **state)
{
	struct backend be;
	json_error_t e;
	json_t *j = json_loads(map_json, 0, &e);
	char buf[64];

	(void)state;
	memset(&be, 0, sizeof(be));
	assert_non_null(j);
	assert_int_equal(backend_view_from_netmap(&be, j), 0);
	json_decref(j);
	assert_int_equal(got_self.id, 1);
	assert_string_equal(got_self.hostname, "spark");
	assert_int_equal(got_self.naddrs, 2);
	assert_string_equal(netaddr_format(&got_self.addrs[1].addr, buf, sizeof(buf)),
			    "fd7a:115c:a1e0::1");
	/* Without AllowedIPs a node may send from its own addresses. */
	assert_int_equal(got_self.naips, 2);
	assert_int_equal(got_self.created_s, 1795341600);
	assert_int_equal(got_npeers, 1);
	assert_int_equal(got_peers[0].naips, 2);
	assert_int_equal(got_peers[0].neps, 2);
	assert_int_equal(got_peers[0].relay_home, 1);
	assert_true(got_peers[0].online);
	assert_string_equal(got_peers[0].tags[0], "tag:gw");
	assert_int_equal(got_peers[0].last_seen_s, 1795341900);
	assert_int_equal(got_nusers, 1);
	assert_string_equal(got_users[0].login, "ops@example.com");
	assert_string_equal(got_users[0].display, "ops@example.com");
	assert_true(be.magic_dns);
	assert_string_equal(be.magic_dns_suffix, "tail.example");
}

static void test_rejects(void **state)
{
	static const char *const bad_nodes[] = {
		"{\"Key\":\"" K1 "\"}",					   /* no ID */
		"{\"ID\":1}",						   /* no key */
		"{\"ID\":1,\"Key\":\"nodekey:12\"}",			   /* short key */
		"{\"ID\":-1,\"Key\":\"" K1 "\"}",			   /* negative */
		"{\"ID\":1,\"Key\":\"" K1 "\",\"Addresses\":[\"1.2.3\"]}",  /* bad address */
		"{\"ID\":1,\"Key\":\"" K1 "\",\"Addresses\":\"1.2.3.4\"}",  /* not a list */
		"{\"ID\":1,\"Key\":\"" K1 "\",\"Endpoints\":[\"1.2.3.4\"]}", /* no port */
		"{\"ID\":1,\"Key\":\"" K1 "\",\"Online\":\"yes\"}",
		"{\"ID\":1,\"Key\":\"" K1 "\",\"LastSeen\":\"yesterday\"}",
		"{\"ID\":1,\"Key\":\"" K1 "\",\"RelayHome\":70000}",
		"{\"ID\":1,\"Key\":\"" K1 "\",\"DiscoKey\":\"nodekey:00\"}",
		"[]",
	};
	struct backend_peer p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_nodes) / sizeof(bad_nodes[0]); i++) {
		json_error_t e;
		json_t *j = json_loads(bad_nodes[i], 0, &e);
		assert_non_null(j);
		assert_int_equal(backend_node_parse(j, &p), -EINVAL);
		json_decref(j);
	}
	/* A map with a bad peer is refused whole. */
	struct backend be;
	json_error_t e;
	json_t *j = json_loads("{\"Self\":{\"ID\":1,\"Key\":\"" K1 "\"},\"Peers\":[{\"ID\":2}]}",
			       0, &e);
	memset(&be, 0, sizeof(be));
	assert_int_equal(backend_view_from_netmap(&be, j), -EINVAL);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
