/* SPDX-License-Identifier: ISC */
/*
 * test_srv_relaymap: weft-server's relay map: the embedded region from
 * server_url (scheme, host, port, address literal, STUN port), DERPMap
 * documents in Tailscale's JSON and Headscale's YAML, and the rejects
 * (unknown keys, a region defined twice, a bad server_url, bad ports).
 */
#include "netmap/netmap.h"
#include "weft-server/config.h"
#include "weft-server/relaymap.h"
#include "testutil.h"

static const char ts_json[] =
	"{\"Regions\":{\"900\":{\"RegionID\":900,\"RegionCode\":\"lab\",\"RegionName\":\"Lab\","
	"\"Latitude\":1.5,\"Nodes\":[{\"Name\":\"900a\",\"RegionID\":900,\"HostName\":"
	"\"relay.example\",\"IPv4\":\"192.0.2.9\",\"STUNPort\":3479,\"DERPPort\":8443,"
	"\"InsecureForTests\":true}]}}}";

static const char hs_yaml[] = "regions:\n"
			      "  901:\n"
			      "    regionid: 901\n"
			      "    regioncode: \"yml\"\n"
			      "    regionname: YAML region\n"
			      "    nodes:\n"
			      "      - name: 901a\n"
			      "        regionid: 901\n"
			      "        hostname: 198.51.100.7\n"
			      "        ipv4: 198.51.100.7\n"
			      "        stunport: 0\n"
			      "        derpport: 3340\n"
			      "        http: true\n";

static void test_docs(void **state)
{
	struct netmap_relaymap m = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(srv_relaymap_add_doc(&m, "a.json", ts_json, strlen(ts_json), err,
					      sizeof(err)),
			 0);
	assert_int_equal(srv_relaymap_add_doc(&m, "b.yaml", hs_yaml, strlen(hs_yaml), err,
					      sizeof(err)),
			 0);
	assert_int_equal(m.n_regions, 2);
	assert_int_equal(m.regions[0].id, 900);
	assert_string_equal(m.regions[0].code, "lab");
	assert_int_equal(m.regions[0].nodes[0].relay_port, 8443);
	assert_int_equal(m.regions[0].nodes[0].stun_port, 3479);
	assert_false(m.regions[0].nodes[0].http);
	assert_int_equal(m.regions[1].id, 901);
	assert_string_equal(m.regions[1].name, "YAML region");
	assert_string_equal(m.regions[1].nodes[0].ipv4, "198.51.100.7");
	assert_int_equal(m.regions[1].nodes[0].relay_port, 3340);
	assert_true(m.regions[1].nodes[0].http);
	/* The same region again. */
	assert_int_equal(srv_relaymap_add_doc(&m, "a.json", ts_json, strlen(ts_json), err,
					      sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "defined twice"));
	netmap_relaymap_clear(&m);
}

static void test_rejects(void **state)
{
	static const char *const bad[] = {
		"{\"Regions\":{\"1\":{\"RegionID\":1,\"Bogus\":1}}}",
		"regions:\n  1:\n    regionid: 1\n    colour: red\n",
		"{\"Regions\":{\"1\":{\"RegionID\":2}}}",
		"{\"Regions\":{\"1\":{\"RegionID\":1,\"Nodes\":[{\"HostName\":\"h\","
		"\"DERPPort\":70000}]}}}",
		"{\"Regions\":{\"1\":{\"RegionID\":1,\"Nodes\":[{\"HostName\":\"h\","
		"\"STUNPort\":-1}]}}}",
		"- a list\n",
		"{not json",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct netmap_relaymap m = { 0 };
		err[0] = '\0';
		assert_int_equal(srv_relaymap_add_doc(&m, "x", bad[i], strlen(bad[i]), err,
						      sizeof(err)),
				 -EINVAL);
		assert_true(err[0] != '\0');
		assert_int_equal(m.n_regions, 0);
		netmap_relaymap_clear(&m);
	}
}

static void test_embedded(void **state)
{
	static const struct {
		const char *url;
		int r;
		const char *host;
		uint16_t port;
		bool http, v4;
	} cases[] = {
		{ "http://10.0.0.1:8080", 0, "10.0.0.1", 8080, true, true },
		{ "https://weft.example.com", 0, "weft.example.com", 443, false, false },
		{ "http://[2001:db8::1]/x", 0, "2001:db8::1", 80, true, false },
		{ "ftp://x", -EINVAL, NULL, 0, false, false },
		{ "http://:80", -EINVAL, NULL, 0, false, false },
		{ "http://h:99999", -EINVAL, NULL, 0, false, false },
	};
	struct srv_config *cfg;
	char err[256];

	(void)state;
	assert_int_equal(srv_config_defaults(&cfg), 0);
	assert_true(cfg->relay_enabled);
	free(cfg->stun_listen_addr);
	cfg->stun_listen_addr = strdup("0.0.0.0:3479");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct netmap_relaymap m = { 0 };
		free(cfg->server_url);
		cfg->server_url = strdup(cases[i].url);
		assert_int_equal(srv_relaymap_embedded(cfg, &m, err, sizeof(err)), cases[i].r);
		if (cases[i].r == 0) {
			const struct netmap_relay_node *n = &m.regions[0].nodes[0];
			assert_int_equal(m.n_regions, 1);
			assert_int_equal(m.regions[0].id, 999);
			assert_string_equal(n->hostname, cases[i].host);
			assert_int_equal(n->relay_port, cases[i].port);
			assert_int_equal(n->stun_port, 3479);
			assert_int_equal(n->http, cases[i].http);
			assert_int_equal(n->ipv4[0] != '\0', cases[i].v4);
		}
		netmap_relaymap_clear(&m);
	}
	srv_config_free(cfg);
}

/*
 * derp.server.stun_second_listen_addr: a second node of the embedded region,
 * the same relay, STUN on the second address (its own host when specific,
 * else the relay's); unset: one node; a bad address: an error naming the key.
 */
static void test_embedded_second_stun(void **state)
{
	static const struct {
		const char *second;
		int r;
		size_t nodes;
		const char *ipv4;
		uint16_t port;
	} cases[] = {
		{ "", 0, 1, NULL, 0 },
		{ "203.0.113.4:3478", 0, 2, "203.0.113.4", 3478 },
		{ "0.0.0.0:3479", 0, 2, "10.0.0.1", 3479 },
		{ ":3480", 0, 2, "10.0.0.1", 3480 },
		{ "203.0.113.4", -EINVAL, 0, NULL, 0 },
		{ "203.0.113.4:0", -EINVAL, 0, NULL, 0 },
	};
	struct srv_config *cfg;
	char err[256];

	(void)state;
	assert_int_equal(srv_config_defaults(&cfg), 0);
	free(cfg->server_url);
	cfg->server_url = strdup("http://10.0.0.1:8080");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct netmap_relaymap m = { 0 };
		free(cfg->stun_second_listen_addr);
		cfg->stun_second_listen_addr = strdup(cases[i].second);
		assert_int_equal(srv_relaymap_embedded(cfg, &m, err, sizeof(err)), cases[i].r);
		if (cases[i].r != 0) {
			assert_non_null(strstr(err, "stun_second_listen_addr"));
			continue;
		}
		assert_int_equal(m.regions[0].n_nodes, cases[i].nodes);
		if (cases[i].nodes == 2) {
			const struct netmap_relay_node *a = &m.regions[0].nodes[0];
			const struct netmap_relay_node *b = &m.regions[0].nodes[1];
			assert_string_equal(b->name, "999b");
			assert_string_equal(b->hostname, a->hostname);
			assert_int_equal(b->relay_port, a->relay_port);
			assert_int_equal(b->http, a->http);
			assert_string_equal(b->ipv4, cases[i].ipv4);
			assert_int_equal(b->stun_port, cases[i].port);
			assert_int_equal(a->stun_port, 3478);
		}
		netmap_relaymap_clear(&m);
	}
	srv_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docs),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_embedded),
		cmocka_unit_test(test_embedded_second_stun),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
