/* SPDX-License-Identifier: ISC */
/*
 * mapper: network maps for nodes. Holds one map stream per online node, sends
 * each a full map when it connects and then deltas: changes reported by the
 * state within 20 ms are batched, the delta body is serialised once and only
 * sealed per stream, so a change to one node costs each stream one small
 * frame. Full maps are admitted a few at a time, so thousands of nodes
 * connecting at once cannot make the server buffer gigabytes.
 */
#ifndef WEFT_SERVER_MAPPER_H
#define WEFT_SERVER_MAPPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrl/ctrlproto.h"

struct event_base;
struct evhttp_request;
struct buf_writer;
struct srv_state;
struct srv_node;
struct mapper;

struct mapper_stats {
	uint64_t streams_opened;
	uint64_t full_maps;
	uint64_t full_map_ns; /* total time building and sealing full maps */
	uint64_t full_map_bytes;
	uint64_t deltas; /* delta frames sent (one per stream per batch) */
	uint64_t delta_batches;
	uint64_t delta_build_ns; /* total time from batch start to the last stream's frame */
	uint64_t keepalives;
	uint64_t slow_dropped; /* streams ended because the node stopped reading */
};

int mapper_new(struct event_base *base, struct srv_state *s, struct mapper **out)
	__attribute__((warn_unused_result));
void mapper_free(struct mapper *m);

/*
 * Turns `req` (a map request with Stream:true, already authenticated) into
 * the node's map stream, ending the node's previous one. The response
 * starts at once; the full map follows when admitted.
 */
int mapper_stream_open(struct mapper *m, struct srv_node *n, struct evhttp_request *req,
		       const uint8_t nonce[static CTRL_REQ_NONCE_LEN])
	__attribute__((warn_unused_result));
/* Ends the node's stream (the node reconnects for a full map). */
void mapper_stream_end(struct mapper *m, struct srv_node *n);
/* A one-shot map (Stream:false): a full frame, or with omit_peers a delta holding only Self. */
int mapper_write_once(struct mapper *m, struct srv_node *n,
		      const uint8_t nonce[static CTRL_REQ_NONCE_LEN], bool omit_peers,
		      struct buf_writer *w) __attribute__((warn_unused_result));
/* Sends the pending delta now rather than at the end of the batch window (tests, shutdown). */
void mapper_flush(struct mapper *m);
/*
 * Maps follow this policy (srvpolicy.h): each node gets the peers it may
 * see and its own packet filter. Without one every node sees every other.
 */
struct srv_policy;
void mapper_set_policy(struct mapper *m, struct srv_policy *p);
/* The policy changed: recompile and tell the nodes affected, in the next batch. */
void mapper_policy_changed(struct mapper *m);

size_t mapper_stream_count(const struct mapper *m);
size_t mapper_queued_count(const struct mapper *m);
const struct mapper_stats *mapper_get_stats(const struct mapper *m);

#endif
