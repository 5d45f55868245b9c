/* SPDX-License-Identifier: ISC */
/*
 * metrics: /metrics in Prometheus' text format (version 0.0.4): nodes and
 * streams, map and delta work, store latency, refused requests, the policy
 * and its compilations. Names are
 * weft_server_*; docs/weft-server.md lists them.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "weft-server/db.h"
#include "weft-server/mapper.h"
#include "weft-server/server.h"
#include "weft-server/srvpolicy.h"
#include "weft-server/state.h"

static const char *const reject_names[SRV_REJ_COUNT] = {
	[SRV_REJ_MALFORMED] = "malformed", [SRV_REJ_AUTH] = "auth",
	[SRV_REJ_TOOLARGE] = "too_large",  [SRV_REJ_STALE] = "stale",
	[SRV_REJ_REPLAY] = "replay",	   [SRV_REJ_AUTHKEY] = "authkey",
	[SRV_REJ_NODEKEY] = "nodekey",	   [SRV_REJ_APIKEY] = "apikey",
};

static void metric(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void srv_metrics_reply(struct srv *srv, struct evhttp_request *req)
{
	const struct mapper_stats *ms = mapper_get_stats(srv->mapper);
	const struct db_stats *ds = db_get_stats(srv->st->db);
	struct evbuffer *b = evbuffer_new();
	size_t online = 0, expired = 0;
	uint64_t cum = 0;

	if (b == NULL) {
		srv_reply_error(req, 500, "out of memory");
		return;
	}
	for (size_t i = 0; i < srv->st->n_nodes; i++) {
		online += srv->st->nodes[i]->online;
		expired += srv->st->nodes[i]->gone;
	}
	metric(b, "weft_server_nodes", "gauge", "Registered nodes by state.");
	evbuffer_add_printf(b, "weft_server_nodes{state=\"online\"} %zu\n", online);
	evbuffer_add_printf(b, "weft_server_nodes{state=\"offline\"} %zu\n",
			    srv->st->n_nodes - online - expired);
	evbuffer_add_printf(b, "weft_server_nodes{state=\"expired\"} %zu\n", expired);
	metric(b, "weft_server_users", "gauge", "Users.");
	evbuffer_add_printf(b, "weft_server_users %zu\n", srv->st->n_users);
	metric(b, "weft_server_pending_registrations", "gauge",
	       "Interactive registrations waiting for an admin.");
	evbuffer_add_printf(b, "weft_server_pending_registrations %zu\n", srv->n_pending);
	metric(b, "weft_server_map_streams", "gauge", "Open map streams.");
	evbuffer_add_printf(b, "weft_server_map_streams %zu\n", mapper_stream_count(srv->mapper));
	metric(b, "weft_server_map_streams_queued", "gauge",
	       "Map streams waiting for their full map.");
	evbuffer_add_printf(b, "weft_server_map_streams_queued %zu\n",
			    mapper_queued_count(srv->mapper));
	metric(b, "weft_server_map_streams_opened_total", "counter", "Map streams opened.");
	evbuffer_add_printf(b, "weft_server_map_streams_opened_total %llu\n",
			    (unsigned long long)ms->streams_opened);
	metric(b, "weft_server_full_maps_total", "counter", "Full maps sent.");
	evbuffer_add_printf(b, "weft_server_full_maps_total %llu\n",
			    (unsigned long long)ms->full_maps);
	metric(b, "weft_server_full_map_build_seconds_total", "counter",
	       "Time spent building and sealing full maps.");
	evbuffer_add_printf(b, "weft_server_full_map_build_seconds_total %.6f\n",
			    (double)ms->full_map_ns / 1e9);
	metric(b, "weft_server_full_map_bytes_total", "counter", "Bytes of full maps.");
	evbuffer_add_printf(b, "weft_server_full_map_bytes_total %llu\n",
			    (unsigned long long)ms->full_map_bytes);
	metric(b, "weft_server_deltas_sent_total", "counter", "Delta frames sent to streams.");
	evbuffer_add_printf(b, "weft_server_deltas_sent_total %llu\n",
			    (unsigned long long)ms->deltas);
	metric(b, "weft_server_delta_batches_total", "counter", "Batches of changes sent.");
	evbuffer_add_printf(b, "weft_server_delta_batches_total %llu\n",
			    (unsigned long long)ms->delta_batches);
	metric(b, "weft_server_delta_seconds_total", "counter",
	       "Time from a batch's first change to its last stream's frame.");
	evbuffer_add_printf(b, "weft_server_delta_seconds_total %.6f\n",
			    (double)ms->delta_build_ns / 1e9);
	metric(b, "weft_server_keepalives_total", "counter", "Keep-alive frames sent.");
	evbuffer_add_printf(b, "weft_server_keepalives_total %llu\n",
			    (unsigned long long)ms->keepalives);
	metric(b, "weft_server_streams_dropped_slow_total", "counter",
	       "Streams cut because the node stopped reading.");
	evbuffer_add_printf(b, "weft_server_streams_dropped_slow_total %llu\n",
			    (unsigned long long)ms->slow_dropped);
	metric(b, "weft_server_requests_total", "counter", "Requests by kind.");
	evbuffer_add_printf(b, "weft_server_requests_total{kind=\"node\"} %llu\n",
			    (unsigned long long)srv->requests_node);
	evbuffer_add_printf(b, "weft_server_requests_total{kind=\"api\"} %llu\n",
			    (unsigned long long)srv->requests_api);
	metric(b, "weft_server_rejected_total", "counter", "Refused requests by reason.");
	for (int i = 0; i < SRV_REJ_COUNT; i++)
		evbuffer_add_printf(b, "weft_server_rejected_total{reason=\"%s\"} %llu\n",
				    reject_names[i], (unsigned long long)srv->rejects[i]);
	metric(b, "weft_server_db_latency_seconds", "histogram", "Store call latency.");
	for (int i = 0; i < DB_LATENCY_BUCKETS - 1; i++) {
		cum += ds->bucket[i];
		evbuffer_add_printf(b, "weft_server_db_latency_seconds_bucket{le=\"%g\"} %llu\n",
				    db_latency_bounds_ms[i] / 1000.0, (unsigned long long)cum);
	}
	cum += ds->bucket[DB_LATENCY_BUCKETS - 1];
	evbuffer_add_printf(b, "weft_server_db_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cum);
	evbuffer_add_printf(b, "weft_server_db_latency_seconds_sum %.6f\n",
			    (double)ds->total_ns / 1e9);
	evbuffer_add_printf(b, "weft_server_db_latency_seconds_count %llu\n",
			    (unsigned long long)ds->calls);
	metric(b, "weft_server_db_errors_total", "counter", "Store calls that failed.");
	evbuffer_add_printf(b, "weft_server_db_errors_total %llu\n",
			    (unsigned long long)ds->errors);
	{
		const struct srv_policy_stats *ps = srv_policy_get_stats(srv->policy);

		metric(b, "weft_server_policy_active", "gauge", "1 when a policy is in force.");
		evbuffer_add_printf(b, "weft_server_policy_active %d\n",
				    srv_policy_active(srv->policy) ? 1 : 0);
		metric(b, "weft_server_policy_loads_total", "counter",
		       "Policies put in force (set or file reload).");
		evbuffer_add_printf(b, "weft_server_policy_loads_total %llu\n",
				    (unsigned long long)ps->reloads);
		metric(b, "weft_server_policy_refused_total", "counter",
		       "Policies refused (syntax, failing tests, store).");
		evbuffer_add_printf(b, "weft_server_policy_refused_total %llu\n",
				    (unsigned long long)ps->refused);
		metric(b, "weft_server_policy_compiles_total", "counter",
		       "Compilations of the policy against the tailnet.");
		evbuffer_add_printf(b, "weft_server_policy_compiles_total %llu\n",
				    (unsigned long long)ps->compiles);
		metric(b, "weft_server_policy_compile_seconds", "gauge",
		       "The last and the longest compilation.");
		evbuffer_add_printf(b, "weft_server_policy_compile_seconds{which=\"last\"} %.6f\n",
				    (double)ps->compile_ns_last / 1e9);
		evbuffer_add_printf(b, "weft_server_policy_compile_seconds{which=\"max\"} %.6f\n",
				    (double)ps->compile_ns_max / 1e9);
		metric(b, "weft_server_policy_nodes_changed", "gauge",
		       "Nodes whose filter or peers the last compilation changed.");
		evbuffer_add_printf(b, "weft_server_policy_nodes_changed %llu\n",
				    (unsigned long long)ps->affected_last);
	}
	metric(b, "weft_server_start_time_seconds", "gauge", "When the server started.");
	evbuffer_add_printf(b, "weft_server_start_time_seconds %lld\n", (long long)srv->started);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}
