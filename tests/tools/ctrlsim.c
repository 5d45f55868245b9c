/* SPDX-License-Identifier: ISC */
/*
 * ctrlsim: simulated nodes against a real weft-server, for tests/net/t_server.sh
 * and bench/ctrl_load.sh. Each node has its own machine and node keys and speaks
 * the control protocol through lib/ctrl and lib/netmap (the codecs weftd uses)
 * over libevent's HTTP client, one connection per request as weftd does.
 *
 *   ctrlsim load --server URL --authkey KEY --nodes N [flags]
 *       registers N nodes (at most --concurrency requests at a time), opens N map
 *       streams and checks every full map (Self is the node, N-1+--extra-peers
 *       peers, every other simulated node among them with its key, no duplicate
 *       IDs, keys or addresses); then, as asked: --hold S (every stream stays open
 *       S seconds), --trigger endpoint|rename (time until every stream has the
 *       delta: node 0's new endpoint through a map update, or its new name through
 *       the REST API with --api-key), --expect-restart (writes --ready FILE, then
 *       waits until every stream has ended and reconnected with a correct full
 *       map). Prints one JSON line of results; exit 0 when every check passed.
 *   ctrlsim register --server URL --authkey KEY [--nodes N]
 *       prints "ok ID ADDR" or "refused CODE MESSAGE" per node; exit 0 when all
 *       were registered, 3 when the server refused any.
 *   ctrlsim replay --server URL --authkey KEY
 *       replayed, reordered, stale, forged, oversized and malformed node requests;
 *       prints "ok NAME: STATUS ..." or "FAIL NAME: STATUS ..." per check; exit 0
 *       when all passed.
 *
 * --light (for 10,000 nodes) checks full maps without parsing them: the frame is
 * authenticated and its header, Self ID and peer count are read from the text.
 * --server-pid PID adds the server's CPU per phase and peak RSS (/proc) to the
 * results, --metrics URL its own fan-out time for the change (/metrics).
 * Every wait has a deadline: --timeout S per phase (default 120).
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/netaddr.h"
#include "core/numparse.h"
#include "crypto/keys.h"
#include "ctrl/ctrlproto.h"
#include "json/jsonx.h"
#include "netmap/netmap.h"

#define SIM_MAX_NODES 100000
#define SIM_STREAM_IDLE_S 150 /* keep-alives come every 60 s */
#define SIM_REQ_TIMEOUT_S 60
#define SIM_RETRY_MIN_MS 200
#define SIM_RETRY_MAX_MS 3000
#define SIM_MAX_ERRORS 8
#define SIM_ERR_LEN 300

enum sim_phase {
	PH_REGISTER,
	PH_STREAMS,
	PH_HOLD,
	PH_TRIGGER,
	PH_RESTART,
	PH_DONE,
};

static const char *const phase_names[] = { "register", "streams", "hold",
					   "trigger",  "restart", "done" };

enum node_state {
	NS_NEW,
	NS_REGISTERING,
	NS_REGISTERED,
	NS_OPENING, /* map request sent, no full map yet */
	NS_LIVE,
	NS_WAITING, /* stream ended, waiting to reconnect */
	NS_FAILED,
};

/* --light: frames split and opened here, small ones parsed, full maps only scanned. */
struct lightdec {
	uint8_t lenbuf[CTRL_FRAME_LEN_LEN];
	size_t len_have;
	uint8_t *body;
	size_t body_len, body_have;
	uint64_t next_seq;
};

struct sim;

struct simnode {
	struct sim *sim;
	size_t idx;
	struct machine_private mkey;
	struct machine_public mpub;
	struct node_private nkey;
	struct node_public npub;
	struct disco_public disco;
	struct ctrl_box box;
	uint64_t id;
	struct netaddr addr[2];
	size_t n_addr;
	enum node_state state;
	struct evhttp_request *req; /* in flight, NULL between requests */
	struct ctrl_stream *stream;
	struct lightdec ld;
	struct ctrl_envelope env;
	unsigned fulls;	  /* full maps received */
	unsigned ends;	  /* streams that ended */
	unsigned backoff; /* reconnect attempts since the last full map */
	bool counted;	  /* done in the current phase */
	bool saw_trigger;
	bool dead_soon; /* a bad frame: cancel the stream outside the callback */
	uint64_t trigger_ns;
	struct event *timer;
	int reg_code;
	char reg_msg[160];
};

struct sim {
	struct event_base *base;
	char host[256];
	int port;
	const char *mode;
	const char *authkey, *apikey, *ready_path, *trigger, *prefix;
	size_t n, concurrency, stream_concurrency, extra_peers;
	long server_pid; /* --server-pid: its CPU per phase and peak RSS from /proc */
	double server_cpu[PH_DONE + 1]; /* seconds, per phase */
	double server_cpu_mark;
	bool have_cpu_mark;
	double server_hwm_mb, server_rss_mb;
	char metrics_host[256]; /* --metrics: the server's own account of the fan-out */
	int metrics_port;
	double fanout_s[2];  /* weft_server_delta_seconds_total before and after */
	uint64_t batches[2]; /* weft_server_delta_batches_total */
	int metrics_stage;
	unsigned hold_s, timeout_s;
	bool light, expect_restart, have_server_key;
	struct machine_public server_key;
	struct simnode *nodes;
	enum sim_phase phase;
	enum sim_phase stopped_in; /* for the report */
	size_t inflight;	   /* registrations, or streams waiting for their full map */
	size_t next;		   /* next node to start in the register phase */
	size_t done;		   /* nodes done in this phase */
	size_t *wantq;		   /* nodes waiting to open a stream (ring) */
	size_t wq_head, wq_len;
	struct event *deadline, *hold;
	uint64_t t_phase;
	/* results */
	double register_s, full_s, hold_s_done, reconnect_s;
	double trig_p50_ms, trig_p99_ms, trig_max_ms;
	uint64_t trig_t0;
	char trig_value[128];
	uint64_t frames, deltas, keepalives, full_bytes, retries, stream_ends;
	size_t failures;
	char errors[SIM_MAX_ERRORS][SIM_ERR_LEN];
	size_t n_errors;
	int exit_code;
};

static void sim_next_phase(struct sim *s);
static void sim_pump_streams(struct sim *s);
static void sim_stream_open(struct simnode *nd);

/* ---- reporting ---------------------------------------------------------------------------- */

static double sim_elapsed_s(const struct sim *s)
{
	return (double)(clock_mono_ns() - s->t_phase) / 1e9;
}

static void sim_stop(struct sim *s, int code);
static void sim_sample_server(struct sim *s);
static void sim_error(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sim_error(struct sim *s, const char *fmt, ...)
{
	char msg[SIM_ERR_LEN];
	va_list ap;

	if (s->phase == PH_DONE)
		return; /* the run is decided; what is still in the buffers says no more */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->n_errors < SIM_MAX_ERRORS) {
		snprintf(s->errors[s->n_errors++], SIM_ERR_LEN, "%s", msg);
		fprintf(stderr, "ctrlsim: %s: %s\n", phase_names[s->phase], msg);
	}
	s->failures++;
	/* Past registration one failure decides the run: stop rather than pile up more. */
	if (s->phase != PH_REGISTER && s->phase != PH_DONE)
		sim_stop(s, 1);
}

static void sim_stop(struct sim *s, int code)
{
	if (s->exit_code == 0)
		s->exit_code = code;
	if (s->phase != PH_DONE) {
		s->stopped_in = s->phase;
		sim_sample_server(s);
	}
	s->phase = PH_DONE;
	event_base_loopexit(s->base, NULL);
}

/* ---- HTTP --------------------------------------------------------------------------------- */

/*
 * Starts a request on a fresh connection that frees itself when the request
 * ends. The callback gets NULL when the connection failed.
 */
static struct evhttp_request *sim_request_to(struct sim *s, const char *host, int port,
					     enum evhttp_cmd_type method, const char *path,
					     const struct machine_public *mk, const char *bearer,
					     const void *body, size_t len,
					     void (*cb)(struct evhttp_request *, void *), void *arg,
					     int timeout_s)
{
	struct evhttp_connection *conn;
	struct evhttp_request *req;
	struct evkeyvalq *h;
	char k[KEY_PREFIXED_MAX], auth[256];

	conn = evhttp_connection_base_new(s->base, NULL, host, (unsigned short)port);
	if (conn == NULL)
		return NULL;
	evhttp_connection_set_timeout(conn, timeout_s);
	if ((req = evhttp_request_new(cb, arg)) == NULL) {
		evhttp_connection_free(conn);
		return NULL;
	}
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", host);
	/* One request per connection (as weftd): then free-on-completion frees it. */
	evhttp_add_header(h, "Connection", "close");
	if (mk != NULL)
		evhttp_add_header(h, "Weft-Machine", machine_public_format(mk, k, sizeof(k)));
	if (bearer != NULL) {
		snprintf(auth, sizeof(auth), "Bearer %s", bearer);
		evhttp_add_header(h, "Authorization", auth);
	}
	if (body != NULL) {
		evhttp_add_header(h, "Content-Type", "application/octet-stream");
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	}
	if (evhttp_make_request(conn, req, method, path) < 0) {
		evhttp_connection_free(conn); /* libevent freed the request */
		return NULL;
	}
	evhttp_connection_free_on_completion(conn);
	return req;
}

static struct evhttp_request *sim_request(struct sim *s, enum evhttp_cmd_type method,
					  const char *path, const struct machine_public *mk,
					  const char *bearer, const void *body, size_t len,
					  void (*cb)(struct evhttp_request *, void *), void *arg,
					  int timeout_s)
{
	return sim_request_to(s, s->host, s->port, method, path, mk, bearer, body, len, cb, arg,
			      timeout_s);
}

/* A finished one-shot request: status (0: no answer) and a copy of the body. */
struct reply {
	int code;
	uint8_t *body;
	size_t len;
	bool sealed;
	bool done;
};

static void reply_take(struct evhttp_request *req, struct reply *r)
{
	struct evbuffer *in;
	const char *ct;

	r->done = true;
	r->code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (req == NULL || r->code == 0)
		return;
	ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	r->sealed = ct != NULL && strcmp(ct, "application/octet-stream") == 0;
	in = evhttp_request_get_input_buffer(req);
	r->len = evbuffer_get_length(in);
	if ((r->body = malloc(r->len + 1)) == NULL) {
		r->len = 0;
		return;
	}
	evbuffer_remove(in, r->body, r->len);
	r->body[r->len] = '\0';
}

static void reply_free(struct reply *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* The server's explanation of an error, sealed or plain. */
static void reply_error_text(const struct reply *r, const struct ctrl_box *box, char *out,
			     size_t outlen)
{
	struct jsonx_err err;
	json_t *j = NULL;
	const char *e;

	snprintf(out, outlen, "no explanation");
	if (r->body == NULL)
		return;
	if ((box == NULL || !r->sealed || ctrl_response_open(box, r->body, r->len, &j, &err) < 0) &&
	    jsonx_load(r->body, r->len, &j, &err) < 0) {
		snprintf(out, outlen, "%.*s", (int)(r->len < 120 ? r->len : 120), r->body);
		for (char *p = out; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		return;
	}
	if ((e = json_string_value(json_object_get(j, "Error"))) != NULL ||
	    (e = json_string_value(json_object_get(j, "message"))) != NULL)
		snprintf(out, outlen, "%s", e);
	json_decref(j);
}

static void rt_cb(struct evhttp_request *req, void *arg)
{
	reply_take(req, arg);
}

static void rt_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct reply *r = arg;

	r->done = true;
}

/* One request, run to completion on the loop (replay mode and set-up). */
static int sim_roundtrip(struct sim *s, enum evhttp_cmd_type method, const char *path,
			 const struct machine_public *mk, const char *bearer, const void *body,
			 size_t len, struct reply *out)
{
	struct timeval tv = { SIM_REQ_TIMEOUT_S + 5, 0 };
	struct event *t;
	struct evhttp_request *req;

	memset(out, 0, sizeof(*out));
	if ((t = evtimer_new(s->base, rt_timeout, out)) == NULL)
		return -ENOMEM;
	req = sim_request(s, method, path, mk, bearer, body, len, rt_cb, out, SIM_REQ_TIMEOUT_S);
	if (req == NULL) {
		event_free(t);
		return -EIO;
	}
	evtimer_add(t, &tv);
	while (!out->done)
		event_base_loop(s->base, EVLOOP_ONCE);
	event_free(t);
	if (out->code == 0 && out->body == NULL)
		return -ECONNREFUSED;
	return 0;
}

static int sim_server_key(struct sim *s)
{
	struct reply r;
	struct jsonx_err err;
	json_t *j = NULL;
	const char *k;
	int rc = -EPROTO;

	if (sim_roundtrip(s, EVHTTP_REQ_GET, "/key", NULL, NULL, NULL, 0, &r) < 0 ||
	    r.code != 200) {
		fprintf(stderr, "ctrlsim: GET /key on %s:%d: %s %d\n", s->host, s->port,
			r.code ? "status" : "no answer", r.code);
		reply_free(&r);
		return -EIO;
	}
	if (jsonx_load(r.body, r.len, &j, &err) == 0 &&
	    (k = json_string_value(json_object_get(j, "ServerKey"))) != NULL &&
	    machine_public_parse(&s->server_key, k) == 0)
		rc = 0;
	json_decref(j);
	reply_free(&r);
	if (rc < 0)
		fprintf(stderr, "ctrlsim: GET /key: no ServerKey in the answer\n");
	s->have_server_key = rc == 0;
	return rc;
}

/* ---- nodes -------------------------------------------------------------------------------- */

static void node_retry_cb(evutil_socket_t fd, short what, void *arg);

static int node_init(struct sim *s, struct simnode *nd, size_t idx)
{
	struct disco_private dk;

	memset(nd, 0, sizeof(*nd));
	nd->sim = s;
	nd->idx = idx;
	keys_generate(nd->mkey.b);
	keys_generate(nd->nkey.b);
	keys_generate(dk.b);
	if (machine_private_public(&nd->mpub, &nd->mkey) < 0 ||
	    node_private_public(&nd->npub, &nd->nkey) < 0 ||
	    disco_private_public(&nd->disco, &dk) < 0 ||
	    ctrl_box_init(&nd->box, &nd->mkey, &s->server_key) < 0)
		return -EINVAL;
	keys_wipe(&dk, sizeof(dk));
	nd->timer = evtimer_new(s->base, node_retry_cb, nd);
	return nd->timer == NULL ? -ENOMEM : 0;
}

static void node_stream_reset(struct simnode *nd)
{
	ctrl_stream_free(nd->stream);
	nd->stream = NULL;
	free(nd->ld.body);
	memset(&nd->ld, 0, sizeof(nd->ld));
}

static void node_fini(struct simnode *nd)
{
	if (nd->req != NULL)
		evhttp_cancel_request(nd->req); /* frees it and its connection, no callback */
	nd->req = NULL;
	node_stream_reset(nd);
	if (nd->timer != NULL)
		event_free(nd->timer);
	ctrl_box_wipe(&nd->box);
	keys_wipe(&nd->mkey, sizeof(nd->mkey));
	keys_wipe(&nd->nkey, sizeof(nd->nkey));
}

/* Seals `body` (consumed) as request op; *out is the sealed body (caller frees). */
static int node_seal(struct simnode *nd, enum ctrl_op op, json_t *body, int64_t now_ns,
		     struct ctrl_envelope *env, uint8_t **out, size_t *len)
{
	struct ctrl_envelope local;
	int r = ctrl_request_seal(&nd->box, op, body, now_ns, env ? env : &local, out, len);

	json_decref(body);
	return r;
}

static int node_register_body(struct simnode *nd, const char *authkey, json_t **out)
{
	struct ctrl_register_request rq;
	int r;

	memset(&rq, 0, sizeof(rq));
	rq.node_key = nd->npub;
	snprintf(rq.auth_key, sizeof(rq.auth_key), "%s", authkey ? authkey : "");
	snprintf(rq.hostname, sizeof(rq.hostname), "%s-%zu", nd->sim->prefix, nd->idx);
	snprintf(rq.os, sizeof(rq.os), "linux");
	r = ctrl_register_request_encode(&rq, out);
	ctrl_register_request_wipe(&rq);
	return r;
}

/* A map request: Stream, or a one-shot update of our endpoints with OmitPeers. */
static int node_map_body(struct simnode *nd, bool stream, bool omit_peers, const char *endpoint,
			 json_t **out)
{
	struct ctrl_map_request m;
	char ep[64];

	memset(&m, 0, sizeof(m));
	m.node_key = nd->npub;
	m.disco_key = nd->disco;
	if (endpoint == NULL) {
		snprintf(ep, sizeof(ep), "198.51.100.%zu:%zu", 1 + nd->idx % 250,
			 10000 + nd->idx % 50000);
		endpoint = ep;
	}
	if (netendpoint_parse(endpoint, &m.endpoints[0]) < 0)
		return -EINVAL;
	m.n_endpoints = 1;
	snprintf(m.hostname, sizeof(m.hostname), "%s-%zu", nd->sim->prefix, nd->idx);
	snprintf(m.os, sizeof(m.os), "linux");
	m.stream = stream;
	m.omit_peers = omit_peers;
	return ctrl_map_request_encode(&m, out);
}

/* The register answer: our ID and addresses. 0, or -1 with nd->reg_msg set. */
static int node_take_registration(struct simnode *nd, const struct reply *r)
{
	struct ctrl_register_response rr;
	struct jsonx_err err;
	json_t *j = NULL;
	int rc = -1;

	memset(&rr, 0, sizeof(rr));
	nd->reg_code = r->code;
	if (r->code != 200) {
		reply_error_text(r, &nd->box, nd->reg_msg, sizeof(nd->reg_msg));
		return -1;
	}
	if (ctrl_response_open(&nd->box, r->body, r->len, &j, &err) < 0 ||
	    ctrl_register_response_decode(j, &rr, &err) < 0) {
		snprintf(nd->reg_msg, sizeof(nd->reg_msg), "bad register answer: %.100s", err.msg);
		goto out;
	}
	if (!rr.machine_authorized || rr.node_key_expired || rr.node == NULL) {
		snprintf(nd->reg_msg, sizeof(nd->reg_msg), "not authorized%s%s",
			 rr.error ? ": " : "", rr.error ? rr.error : "");
		goto out;
	}
	if (!keys_eq(rr.node->key.b, nd->npub.b)) {
		snprintf(nd->reg_msg, sizeof(nd->reg_msg), "the answer names another node key");
		goto out;
	}
	nd->id = rr.node->id;
	nd->n_addr = 0;
	for (size_t i = 0; i < rr.node->n_addresses && nd->n_addr < 2; i++)
		nd->addr[nd->n_addr++] = rr.node->addresses[i].addr;
	rc = 0;
out:
	ctrl_register_response_clear(&rr);
	json_decref(j);
	return rc;
}

/* ---- register phase ----------------------------------------------------------------------- */

static void sim_pump_register(struct sim *s);

static void node_register_done(struct evhttp_request *req, void *arg)
{
	struct simnode *nd = arg;
	struct sim *s = nd->sim;
	struct reply r = { 0 };

	nd->req = NULL;
	reply_take(req, &r);
	if (node_take_registration(nd, &r) == 0) {
		nd->state = NS_REGISTERED;
	} else {
		nd->state = NS_FAILED;
		if (r.code == 0)
			snprintf(nd->reg_msg, sizeof(nd->reg_msg), "no answer from the server");
		if (strcmp(s->mode, "register") != 0)
			sim_error(s, "node %zu: register: %d %s", nd->idx, r.code, nd->reg_msg);
	}
	reply_free(&r);
	s->inflight--;
	s->done++;
	sim_pump_register(s);
}

static void node_register(struct simnode *nd)
{
	struct sim *s = nd->sim;
	uint8_t *sealed = NULL;
	size_t len;
	json_t *body = NULL;

	nd->state = NS_REGISTERING;
	if (node_register_body(nd, s->authkey, &body) < 0 ||
	    node_seal(nd, CTRL_OP_REGISTER, body, (int64_t)clock_real_ns(), NULL, &sealed, &len) <
		    0 ||
	    (nd->req = sim_request(s, EVHTTP_REQ_POST, "/ctrl/v1/register", &nd->mpub, NULL, sealed,
				   len, node_register_done, nd, SIM_REQ_TIMEOUT_S)) == NULL) {
		sim_error(s, "node %zu: cannot send the register request", nd->idx);
		nd->state = NS_FAILED;
		s->done++;
	} else {
		s->inflight++;
	}
	free(sealed);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int addr_cmp(const void *a, const void *b)
{
	return netaddr_cmp(a, b);
}

/* Every address and ID belongs to one node only. */
static void sim_check_unique(struct sim *s)
{
	struct netaddr *all = calloc(2 * s->n + 1, sizeof(*all));
	uint64_t *ids = calloc(s->n + 1, sizeof(*ids));
	size_t na = 0, ni = 0;
	char a[NETADDR_STRLEN];

	if (all == NULL || ids == NULL) {
		sim_error(s, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (s->nodes[i].state != NS_REGISTERED)
			continue;
		ids[ni++] = s->nodes[i].id;
		if (s->nodes[i].n_addr == 0)
			sim_error(s, "node %zu (id %llu) has no address", i,
				  (unsigned long long)s->nodes[i].id);
		for (size_t k = 0; k < s->nodes[i].n_addr; k++)
			all[na++] = s->nodes[i].addr[k];
	}
	qsort(all, na, sizeof(*all), addr_cmp);
	for (size_t i = 1; i < na; i++)
		if (netaddr_eq(&all[i - 1], &all[i]))
			sim_error(s, "address %s given to two nodes",
				  netaddr_format(&all[i], a, sizeof(a)));
	qsort(ids, ni, sizeof(*ids), u64_cmp);
	for (size_t i = 1; i < ni; i++)
		if (ids[i - 1] == ids[i])
			sim_error(s, "node ID %llu given to two nodes", (unsigned long long)ids[i]);
out:
	free(all);
	free(ids);
}

static void sim_pump_register(struct sim *s)
{
	while (s->phase == PH_REGISTER && s->inflight < s->concurrency && s->next < s->n)
		node_register(&s->nodes[s->next++]);
	if (s->phase != PH_REGISTER || s->done < s->n)
		return;
	s->register_s = sim_elapsed_s(s);
	fprintf(stderr, "ctrlsim: %zu registrations answered in %.2f s\n", s->n, s->register_s);
	sim_check_unique(s);
	if (strcmp(s->mode, "register") == 0) {
		bool refused = false;
		for (size_t i = 0; i < s->n; i++) {
			struct simnode *nd = &s->nodes[i];
			char a[NETADDR_STRLEN] = "-";
			if (nd->state == NS_REGISTERED) {
				if (nd->n_addr > 0)
					netaddr_format(&nd->addr[0], a, sizeof(a));
				printf("ok %llu %s\n", (unsigned long long)nd->id, a);
			} else {
				printf("refused %d %s\n", nd->reg_code, nd->reg_msg);
				refused = true;
			}
		}
		sim_stop(s, refused ? 3 : s->failures ? 1 : 0);
		return;
	}
	sim_next_phase(s);
}

/* ---- map streams -------------------------------------------------------------------------- */

/* The unsigned number right after the first `key` in text. */
static bool text_uint_after(const char *text, const char *key, uint64_t *out)
{
	const char *p = strstr(text, key);
	char *end;

	if (p == NULL)
		return false;
	p += strlen(key);
	if (*p < '0' || *p > '9')
		return false;
	*out = strtoull(p, &end, 10);
	return end != p;
}

/* The checks on a full map, parsed (the real client's decoder) or, with --light, scanned. */
static int node_check_full_json(struct simnode *nd, const json_t *frame)
{
	struct sim *s = nd->sim;
	struct jsonx_err err;
	struct netmap *nm = NULL;
	const struct netmap_node *self, *p;
	size_t want = s->n - 1 + s->extra_peers;
	int rc = -1;

	if (netmap_new_from_full(frame, &nm, &err) < 0) {
		sim_error(s, "node %zu: full map refused by netmap: %s", nd->idx, err.msg);
		return -1;
	}
	self = netmap_self(nm);
	if (self->id != nd->id || !keys_eq(self->key.b, nd->npub.b)) {
		sim_error(s, "node %zu: Self is node %llu, want %llu", nd->idx,
			  (unsigned long long)self->id, (unsigned long long)nd->id);
		goto out;
	}
	for (size_t k = 0; k < nd->n_addr; k++) {
		bool found = false;
		for (size_t i = 0; i < self->n_addresses; i++)
			found |= netaddr_eq(&self->addresses[i].addr, &nd->addr[k]);
		if (!found) {
			sim_error(s, "node %zu: Self lacks its registered address", nd->idx);
			goto out;
		}
	}
	if (netmap_peer_count(nm) != want) {
		sim_error(s, "node %zu: %zu peers in its full map, want %zu", nd->idx,
			  netmap_peer_count(nm), want);
		goto out;
	}
	for (size_t j = 0; j < s->n; j++) {
		if (j == nd->idx)
			continue;
		p = netmap_peer_by_id(nm, s->nodes[j].id);
		if (p == NULL || !keys_eq(p->key.b, s->nodes[j].npub.b)) {
			sim_error(s, "node %zu: peer %zu (id %llu) %s", nd->idx, j,
				  (unsigned long long)s->nodes[j].id,
				  p == NULL ? "missing" : "has the wrong key");
			goto out;
		}
	}
	rc = 0;
out:
	netmap_free(nm);
	return rc;
}

/*
 * Occurrences of pat (which starts with '"' and then a letter) in text. One
 * pass with memchr on that letter: a strstr loop would be rescanned in full
 * on every call by ASan's interceptor.
 */
static size_t text_count(const char *text, size_t len, const char *pat)
{
	size_t n = strlen(pat), count = 0;
	const char *p = text + 1, *end = text + len;

	while (p < end && (p = memchr(p, pat[1], (size_t)(end - p))) != NULL) {
		if ((size_t)(end - p) >= n - 1 && p[-1] == pat[0] && memcmp(p, pat + 1, n - 1) == 0)
			count++;
		p++;
	}
	return count;
}

static int node_check_full_text(struct simnode *nd, const char *text, size_t len)
{
	struct sim *s = nd->sim;
	size_t want = s->n - 1 + s->extra_peers, count = 0;
	char selfkey[64];
	uint64_t id = 0;

	snprintf(selfkey, sizeof(selfkey), ",\"Self\":{\"ID\":");
	if (!text_uint_after(text, selfkey, &id) || id != nd->id) {
		sim_error(s, "node %zu: Self is node %llu, want %llu", nd->idx,
			  (unsigned long long)id, (unsigned long long)nd->id);
		return -1;
	}
	/* Every node entry names its machine key once: Self and the peers. */
	count = text_count(text, len, "\"Machine\":\"mkey:");
	if (count != want + 1) {
		sim_error(s, "node %zu: %zu peers in its full map, want %zu", nd->idx,
			  count ? count - 1 : 0, want);
		return -1;
	}
	return 0;
}

/* Does this delta carry the trigger's change of node 0? */
static bool node_delta_has_trigger(struct sim *s, const json_t *frame)
{
	const json_t *item, *v;
	size_t i, k;
	uint64_t id = s->nodes[0].id;
	bool rename = strcmp(s->trigger, "rename") == 0;
	const char *lists[2] = { "PeersPatch", "PeersChanged" };

	for (int l = rename ? 1 : 0; l < 2; l++) {
		json_array_foreach(json_object_get(frame, lists[l]), i, item) {
			if ((uint64_t)json_integer_value(json_object_get(item, "ID")) != id)
				continue;
			if (rename) {
				const char *name = json_string_value(json_object_get(item, "Name"));
				size_t n = strlen(s->trig_value);
				if (name != NULL && strncmp(name, s->trig_value, n) == 0 &&
				    name[n] == '.')
					return true;
				continue;
			}
			json_array_foreach(json_object_get(item, "Endpoints"), k, v) {
				if (json_is_string(v) &&
				    strcmp(json_string_value(v), s->trig_value) == 0)
					return true;
			}
		}
	}
	return false;
}

static void sim_trigger_check_done(struct sim *s);
static void sim_restart_check_done(struct sim *s);

/* A full map arrived on nd's stream and checked out (or not: ok false). */
static void node_got_full(struct simnode *nd, bool ok)
{
	struct sim *s = nd->sim;
	bool was_opening = nd->state == NS_OPENING;

	nd->fulls++;
	if (!ok) {
		nd->state = NS_FAILED;
		nd->dead_soon = true;
	} else {
		nd->state = NS_LIVE;
		nd->backoff = 0;
	}
	if (was_opening && s->inflight > 0)
		s->inflight--;
	if (s->phase == PH_STREAMS && !nd->counted) {
		nd->counted = true;
		s->done++;
		if (s->n >= 2000 && s->done % (s->n / 10) == 0 && s->done < s->n)
			fprintf(stderr, "ctrlsim: %zu full maps after %.1f s\n", s->done,
				sim_elapsed_s(s));
		if (s->done == s->n) {
			s->full_s = sim_elapsed_s(s);
			fprintf(stderr, "ctrlsim: %zu full maps in %.2f s (%.1f MB)\n", s->n,
				s->full_s, (double)s->full_bytes / 1e6);
			sim_next_phase(s);
			return;
		}
	} else if (s->phase == PH_RESTART && nd->ends > 0 && !nd->counted && ok) {
		nd->counted = true;
		s->done++;
		sim_restart_check_done(s);
	}
	sim_pump_streams(s);
}

static void node_got_delta(struct simnode *nd, const json_t *frame)
{
	struct sim *s = nd->sim;

	s->deltas++;
	if (s->phase == PH_TRIGGER && !nd->saw_trigger && node_delta_has_trigger(s, frame)) {
		nd->saw_trigger = true;
		nd->trigger_ns = clock_mono_ns() - s->trig_t0;
		s->done++;
		sim_trigger_check_done(s);
	}
}

/* One decoded frame. -1 ends the stream. */
static int node_frame(struct simnode *nd, enum ctrl_frame_type type, const json_t *json,
		      const char *text, size_t text_len, size_t wire_len)
{
	struct sim *s = nd->sim;

	s->frames++;
	switch (type) {
	case CTRL_FRAME_FULL:
		s->full_bytes += wire_len;
		node_got_full(nd, json != NULL ? node_check_full_json(nd, json) == 0 :
						 node_check_full_text(nd, text, text_len) == 0);
		return nd->state == NS_FAILED ? -1 : 0;
	case CTRL_FRAME_DELTA:
		if (nd->fulls == 0) {
			sim_error(s, "node %zu: a delta before the full map", nd->idx);
			return -1;
		}
		node_got_delta(nd, json);
		return 0;
	case CTRL_FRAME_KEEPALIVE:
		s->keepalives++;
		return 0;
	}
	return -1;
}

/* --light: one complete frame body (nonce || box). */
static int node_light_frame(struct simnode *nd)
{
	struct sim *s = nd->sim;
	struct lightdec *ld = &nd->ld;
	char head[128], hex[2 * CTRL_REQ_NONCE_LEN + 1];
	uint8_t *plain = NULL;
	size_t plen = 0, hl;
	struct jsonx_err err;
	json_t *j = NULL;
	enum ctrl_frame_type type;
	int rc = -1;

	if (ctrl_box_open(&nd->box, ld->body, ld->body_len, &plain, &plen) < 0) {
		sim_error(s, "node %zu: frame failed authentication", nd->idx);
		goto out;
	}
	sodium_bin2hex(hex, sizeof(hex), nd->env.nonce, sizeof(nd->env.nonce));
	hl = (size_t)snprintf(head, sizeof(head), "{\"Seq\":%llu,\"ReqNonce\":\"%s\",\"Type\":\"",
			      (unsigned long long)ld->next_seq, hex);
	if (plen < hl || memcmp(plain, head, hl) != 0) {
		sim_error(s, "node %zu: frame %llu has a wrong header", nd->idx,
			  (unsigned long long)ld->next_seq);
		goto out;
	}
	ld->next_seq++;
	if (strncmp((char *)plain + hl, "full\"", 5) == 0) {
		rc = node_frame(nd, CTRL_FRAME_FULL, NULL, (char *)plain, plen, ld->body_len + 4);
		goto out;
	}
	if (strncmp((char *)plain + hl, "delta\"", 6) == 0) {
		type = CTRL_FRAME_DELTA;
	} else if (strncmp((char *)plain + hl, "keepalive\"", 10) == 0) {
		type = CTRL_FRAME_KEEPALIVE;
	} else {
		sim_error(s, "node %zu: unknown frame type", nd->idx);
		goto out;
	}
	if (jsonx_load(plain, plen, &j, &err) < 0) {
		sim_error(s, "node %zu: frame JSON: %s", nd->idx, err.msg);
		goto out;
	}
	rc = node_frame(nd, type, j, NULL, 0, ld->body_len + 4);
out:
	json_decref(j);
	free(plain);
	free(ld->body);
	ld->body = NULL;
	ld->body_len = ld->body_have = ld->len_have = 0;
	return rc;
}

static int node_light_feed(struct simnode *nd, const uint8_t *p, size_t len)
{
	struct lightdec *ld = &nd->ld;
	size_t off = 0, take;

	while (off < len) {
		if (ld->body == NULL) {
			take = CTRL_FRAME_LEN_LEN - ld->len_have;
			take = take < len - off ? take : len - off;
			memcpy(ld->lenbuf + ld->len_have, p + off, take);
			ld->len_have += take;
			off += take;
			if (ld->len_have < CTRL_FRAME_LEN_LEN)
				continue;
			ld->body_len = buf_load_be32(ld->lenbuf);
			if (ld->body_len < CTRL_SEAL_OVERHEAD + 2 ||
			    ld->body_len > CTRL_FRAME_MAX ||
			    (ld->body = malloc(ld->body_len)) == NULL) {
				sim_error(nd->sim, "node %zu: frame length %zu", nd->idx,
					  ld->body_len);
				return -1;
			}
			ld->body_have = 0;
			continue;
		}
		take = ld->body_len - ld->body_have;
		take = take < len - off ? take : len - off;
		memcpy(ld->body + ld->body_have, p + off, take);
		ld->body_have += take;
		off += take;
		if (ld->body_have == ld->body_len && node_light_frame(nd) < 0)
			return -1;
	}
	return 0;
}

static void node_cancel_cb(evutil_socket_t fd, short what, void *arg)
{
	struct simnode *nd = arg;

	if (!nd->dead_soon)
		return;
	nd->dead_soon = false;
	if (nd->req != NULL)
		evhttp_cancel_request(nd->req);
	nd->req = NULL;
	node_stream_reset(nd);
	nd->state = NS_FAILED;
	sim_pump_streams(nd->sim);
}

static void node_map_chunk(struct evhttp_request *req, void *arg)
{
	struct simnode *nd = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct timeval now = { 0, 0 };

	while (!nd->dead_soon && evbuffer_get_length(in) > 0) {
		size_t len = evbuffer_get_length(in), used = 0;
		const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)len);
		struct ctrl_frame f = { 0 };
		struct jsonx_err err;
		int r;

		if (nd->sim->light) {
			if (node_light_feed(nd, p, len) < 0)
				nd->dead_soon = true;
			evbuffer_drain(in, len);
			break;
		}
		r = ctrl_stream_feed(nd->stream, p, len, &used, &f, &err);
		evbuffer_drain(in, used);
		if (r < 0) {
			sim_error(nd->sim, "node %zu: map stream refused: %s", nd->idx, err.msg);
			nd->dead_soon = true;
		} else if (r == 0) {
			break;
		} else if (node_frame(nd, f.type, f.json, NULL, 0, f.wire_len) < 0) {
			nd->dead_soon = true;
		}
		json_decref(f.json);
	}
	if (nd->dead_soon) {
		evbuffer_drain(in, evbuffer_get_length(in));
		event_base_once(nd->sim->base, -1, EV_TIMEOUT, node_cancel_cb, nd, &now);
	}
}

static void node_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct simnode *nd = arg;
	struct sim *s = nd->sim;

	if (s->phase == PH_DONE || nd->state != NS_WAITING)
		return;
	s->wantq[(s->wq_head + s->wq_len++) % s->n] = nd->idx;
	sim_pump_streams(s);
}

/* Reconnect later: 200 ms doubling to 3 s, with jitter. */
static void node_retry_later(struct simnode *nd)
{
	unsigned ms = SIM_RETRY_MIN_MS << (nd->backoff < 4 ? nd->backoff : 4);
	struct timeval tv;

	if (ms > SIM_RETRY_MAX_MS)
		ms = SIM_RETRY_MAX_MS;
	ms += randombytes_uniform(ms / 2 + 1);
	nd->backoff++;
	nd->state = NS_WAITING;
	nd->sim->retries++;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(nd->timer, &tv);
}

static void node_map_done(struct evhttp_request *req, void *arg)
{
	struct simnode *nd = arg;
	struct sim *s = nd->sim;
	bool was_opening = nd->state == NS_OPENING;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

	nd->req = NULL;
	nd->dead_soon = false;
	node_stream_reset(nd);
	if (s->phase == PH_DONE || nd->state == NS_FAILED)
		return;
	if (was_opening && s->inflight > 0)
		s->inflight--;
	if (code != 200 && code != 0) {
		struct reply r = { 0 };
		char why[200];
		reply_take(req, &r);
		reply_error_text(&r, &nd->box, why, sizeof(why));
		reply_free(&r);
		sim_error(s, "node %zu: map request answered %d: %s", nd->idx, code, why);
		nd->state = NS_FAILED;
		sim_pump_streams(s);
		return;
	}
	if (was_opening) {
		/* No full map on this one (the server is restarting?): try again. */
		node_retry_later(nd);
		sim_pump_streams(s);
		return;
	}
	nd->ends++;
	s->stream_ends++;
	if (s->phase != PH_RESTART) {
		sim_error(s, "node %zu: map stream ended in the %s phase", nd->idx,
			  phase_names[s->phase]);
		nd->state = NS_FAILED;
		sim_pump_streams(s);
		return;
	}
	node_retry_later(nd);
	sim_pump_streams(s);
}

static void sim_stream_open(struct simnode *nd)
{
	struct sim *s = nd->sim;
	uint8_t *sealed = NULL;
	size_t len;
	json_t *body = NULL;
	int r;

	node_stream_reset(nd);
	nd->ld.next_seq = 1;
	nd->state = NS_OPENING;
	s->inflight++;
	r = node_map_body(nd, true, false, NULL, &body);
	if (r == 0)
		r = node_seal(nd, CTRL_OP_MAP, body, (int64_t)clock_real_ns(), &nd->env, &sealed,
			      &len);
	if (r == 0 && !s->light)
		r = ctrl_stream_new(&nd->box, nd->env.nonce, CTRL_FRAME_MAX, &nd->stream);
	if (r == 0 &&
	    (nd->req = sim_request(s, EVHTTP_REQ_POST, "/ctrl/v1/map", &nd->mpub, NULL, sealed, len,
				   node_map_done, nd, SIM_STREAM_IDLE_S)) == NULL)
		r = -EIO;
	free(sealed);
	if (r < 0) {
		s->inflight--;
		node_retry_later(nd);
		return;
	}
	evhttp_request_set_chunked_cb(nd->req, node_map_chunk);
}

static void sim_pump_streams(struct sim *s)
{
	while (s->phase != PH_DONE && s->phase != PH_REGISTER &&
	       s->inflight < s->stream_concurrency && s->wq_len > 0) {
		struct simnode *nd = &s->nodes[s->wantq[s->wq_head]];
		s->wq_head = (s->wq_head + 1) % s->n;
		s->wq_len--;
		if (nd->state == NS_FAILED)
			continue;
		sim_stream_open(nd);
	}
}

/* ---- trigger, hold, restart --------------------------------------------------------------- */

static void sim_quantiles(struct sim *s)
{
	uint64_t *v = calloc(s->n, sizeof(*v));
	size_t k = 0;

	if (v == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->nodes[i].saw_trigger)
			v[k++] = s->nodes[i].trigger_ns;
	for (size_t i = 1; i < k; i++) { /* insertion sort: k is at most a few 10^4 */
		uint64_t x = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	if (k > 0) {
		s->trig_p50_ms = (double)v[k / 2] / 1e6;
		s->trig_p99_ms = (double)v[(k * 99) / 100 < k ? (k * 99) / 100 : k - 1] / 1e6;
		s->trig_max_ms = (double)v[k - 1] / 1e6;
	}
	free(v);
}

static void sim_metrics_fetch(struct sim *s, int stage);

static void sim_trigger_check_done(struct sim *s)
{
	if (s->done < s->n)
		return;
	sim_quantiles(s);
	fprintf(stderr, "ctrlsim: %s change reached all %zu streams: p50 %.1f ms, max %.1f ms\n",
		s->trigger, s->n, s->trig_p50_ms, s->trig_max_ms);
	if (s->metrics_port > 0)
		sim_metrics_fetch(s, 1);
	else
		sim_next_phase(s);
}

static void sim_trigger_reply(struct evhttp_request *req, void *arg)
{
	struct sim *s = arg;
	struct reply r = { 0 };
	char why[200];

	reply_take(req, &r);
	if (r.code != 200) {
		reply_error_text(&r, &s->nodes[0].box, why, sizeof(why));
		sim_error(s, "the %s request was answered %d: %s", s->trigger, r.code, why);
		sim_stop(s, 1);
	}
	reply_free(&r);
}

/* The value of a metric line "NAME VALUE" in Prometheus text. */
static bool metrics_value(const char *text, const char *name, double *out)
{
	size_t n = strlen(name);

	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			*out = strtod(p + n + 1, NULL);
			return true;
		}
	}
	return false;
}

static void sim_trigger(struct sim *s);

static void sim_metrics_reply(struct evhttp_request *req, void *arg)
{
	struct sim *s = arg;
	struct reply r = { 0 };
	int stage = s->metrics_stage;
	double v = 0, b = 0;

	reply_take(req, &r);
	if (r.code != 200 ||
	    !metrics_value((char *)r.body, "weft_server_delta_seconds_total", &v) ||
	    !metrics_value((char *)r.body, "weft_server_delta_batches_total", &b)) {
		sim_error(s, "GET /metrics from %s:%d: %d", s->metrics_host, s->metrics_port,
			  r.code);
		reply_free(&r);
		return;
	}
	reply_free(&r);
	s->fanout_s[stage] = v;
	s->batches[stage] = (uint64_t)b;
	if (s->phase != PH_TRIGGER)
		return;
	if (stage == 0)
		sim_trigger(s);
	else
		sim_next_phase(s);
}

/* Asks the server for its delta counters; the answer goes on with the trigger phase. */
static void sim_metrics_fetch(struct sim *s, int stage)
{
	s->metrics_stage = stage;
	if (sim_request_to(s, s->metrics_host, s->metrics_port, EVHTTP_REQ_GET, "/metrics", NULL,
			   NULL, NULL, 0, sim_metrics_reply, s, SIM_REQ_TIMEOUT_S) == NULL)
		sim_error(s, "cannot ask %s:%d for /metrics", s->metrics_host, s->metrics_port);
}

static void sim_trigger(struct sim *s)
{
	struct simnode *nd = &s->nodes[0];
	uint8_t *sealed = NULL;
	size_t len = 0;
	json_t *body = NULL;
	char path[256];
	struct evhttp_request *req = NULL;

	s->trig_t0 = clock_mono_ns();
	if (strcmp(s->trigger, "rename") == 0) {
		snprintf(s->trig_value, sizeof(s->trig_value), "renamed-%08x",
			 (unsigned)randombytes_random());
		snprintf(path, sizeof(path), "/api/v1/node/%llu/rename/%s",
			 (unsigned long long)nd->id, s->trig_value);
		req = sim_request(s, EVHTTP_REQ_POST, path, NULL, s->apikey, NULL, 0,
				  sim_trigger_reply, s, SIM_REQ_TIMEOUT_S);
	} else {
		snprintf(s->trig_value, sizeof(s->trig_value), "203.0.113.%u:%u",
			 1 + randombytes_uniform(250), 1024 + randombytes_uniform(60000));
		if (node_map_body(nd, false, true, s->trig_value, &body) == 0 &&
		    node_seal(nd, CTRL_OP_MAP, body, (int64_t)clock_real_ns(), NULL, &sealed,
			      &len) == 0)
			req = sim_request(s, EVHTTP_REQ_POST, "/ctrl/v1/map", &nd->mpub, NULL,
					  sealed, len, sim_trigger_reply, s, SIM_REQ_TIMEOUT_S);
		free(sealed);
	}
	if (req == NULL) {
		sim_error(s, "cannot send the %s trigger", s->trigger);
		sim_stop(s, 1);
	}
}

static void sim_restart_check_done(struct sim *s)
{
	if (s->done < s->n)
		return;
	s->reconnect_s = sim_elapsed_s(s);
	fprintf(stderr, "ctrlsim: all %zu nodes reconnected with a correct full map\n", s->n);
	sim_next_phase(s);
}

static void sim_hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	size_t live = 0;

	for (size_t i = 0; i < s->n; i++)
		live += s->nodes[i].state == NS_LIVE && s->nodes[i].req != NULL;
	s->hold_s_done = sim_elapsed_s(s);
	if (live != s->n) {
		sim_error(s, "%zu of %zu streams still open after %u s", live, s->n, s->hold_s);
		sim_stop(s, 1);
		return;
	}
	fprintf(stderr, "ctrlsim: all %zu streams still open after %u s\n", s->n, s->hold_s);
	sim_next_phase(s);
}

static void sim_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	size_t live = 0;

	for (size_t i = 0; i < s->n; i++)
		live += s->nodes[i].state == NS_LIVE;
	sim_error(s, "deadline of %u s passed: %zu of %zu nodes done, %zu streams live",
		  s->timeout_s, s->done, s->n, live);
	sim_stop(s, 1);
}

static int sim_write_ready(struct sim *s)
{
	FILE *f;
	char tmp[4096];

	if (s->ready_path == NULL)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->ready_path);
	if ((f = fopen(tmp, "w")) == NULL)
		return -errno;
	fprintf(f, "ready %zu\n", s->n);
	if (fclose(f) != 0 || rename(tmp, s->ready_path) < 0)
		return -errno;
	return 0;
}

/* The server's user+system CPU seconds so far (utime and stime of /proc/PID/stat). */
static double proc_cpu_s(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After "(comm)" come state and fields 4..13; utime and stime are 14 and 15. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A "Name:  N kB" line of /proc/PID/status, in MB. */
static double proc_status_mb(long pid, const char *name)
{
	char path[64], line[256];
	size_t nl = strlen(name);
	double mb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, nl) == 0 && line[nl] == ':')
			mb = strtod(line + nl + 1, NULL) / 1024.0;
	fclose(f);
	return mb;
}

static void sim_sample_server(struct sim *s)
{
	double cpu;

	if (s->server_pid <= 0 || (cpu = proc_cpu_s(s->server_pid)) < 0)
		return;
	if (s->have_cpu_mark)
		s->server_cpu[s->phase] += cpu - s->server_cpu_mark;
	s->server_cpu_mark = cpu;
	s->have_cpu_mark = true;
	s->server_hwm_mb = proc_status_mb(s->server_pid, "VmHWM");
	s->server_rss_mb = proc_status_mb(s->server_pid, "VmRSS");
}

static void sim_enter(struct sim *s, enum sim_phase ph)
{
	struct timeval tv = { s->timeout_s, 0 };

	sim_sample_server(s);
	/* Timers count from now, not from the start of a long loop iteration. */
	event_base_update_cache_time(s->base);
	s->phase = ph;
	s->done = 0;
	s->t_phase = clock_mono_ns();
	for (size_t i = 0; i < s->n; i++)
		s->nodes[i].counted = false;
	evtimer_del(s->deadline);
	if (ph != PH_DONE && ph != PH_HOLD)
		evtimer_add(s->deadline, &tv);
}

static void sim_next_phase(struct sim *s)
{
	struct timeval hold = { s->hold_s, 0 };

	if (s->failures > 0) {
		sim_stop(s, 1);
		return;
	}
	switch (s->phase) {
	case PH_REGISTER:
		sim_enter(s, PH_STREAMS);
		for (size_t i = 0; i < s->n; i++)
			s->wantq[(s->wq_head + s->wq_len++) % s->n] = i;
		sim_pump_streams(s);
		return;
	case PH_STREAMS:
		if (s->hold_s > 0) {
			sim_enter(s, PH_HOLD);
			evtimer_add(s->hold, &hold);
			return;
		}
		/* fall through */
	case PH_HOLD:
		if (s->trigger != NULL) {
			sim_enter(s, PH_TRIGGER);
			if (s->metrics_port > 0)
				sim_metrics_fetch(s, 0);
			else
				sim_trigger(s);
			return;
		}
		/* fall through */
	case PH_TRIGGER:
		if (s->expect_restart) {
			sim_enter(s, PH_RESTART);
			if (sim_write_ready(s) < 0) {
				sim_error(s, "cannot write %s", s->ready_path);
				sim_stop(s, 1);
			}
			fprintf(stderr, "ctrlsim: ready: restart the server now\n");
			return;
		}
		/* fall through */
	case PH_RESTART:
	case PH_DONE:
		sim_stop(s, 0);
		return;
	}
}

/* ---- replay: hostile node requests --------------------------------------------------------- */

struct check {
	struct sim *s;
	int failed;
};

static void check_result(struct check *c, const char *name, bool ok, int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void check_result(struct check *c, const char *name, bool ok, int code, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("%s %s: %d %s\n", ok ? "ok" : "FAIL", name, code, msg);
	fflush(stdout);
	c->failed += !ok;
}

/* Sends body to path as node nd; wants status `want` and, if given, `needle` in the error. */
static void check_post(struct check *c, const char *name, struct simnode *nd, const char *path,
		       const struct machine_public *hdr, const void *body, size_t len, int want,
		       const char *needle)
{
	struct reply r;
	char why[300] = "";

	if (sim_roundtrip(c->s, EVHTTP_REQ_POST, path, hdr, NULL, body, len, &r) < 0 &&
	    r.code == 0) {
		check_result(c, name, false, 0, "no answer");
		return;
	}
	reply_error_text(&r, nd ? &nd->box : NULL, why, sizeof(why));
	check_result(c, name, r.code == want && (needle == NULL || strcasestr(why, needle) != NULL),
		     r.code, "(want %d%s%s) %s", want, needle ? ", mentioning " : "",
		     needle ? needle : "", why);
	reply_free(&r);
}

/* Seals the JSON text as is (for envelopes the codec would never write). */
static int seal_text(struct simnode *nd, const char *text, uint8_t **out, size_t *len)
{
	struct buf_writer w;
	int r;

	buf_writer_growable(&w, CTRL_BODY_MAX + CTRL_SEAL_OVERHEAD);
	if ((r = ctrl_box_seal(&nd->box, text, strlen(text), &w)) < 0) {
		buf_writer_free(&w);
		return r;
	}
	*out = buf_writer_steal(&w, len);
	return 0;
}

static int sealed_map(struct simnode *nd, const char *endpoint, int64_t now_ns, uint8_t **out,
		      size_t *len)
{
	json_t *body = NULL;
	int r = node_map_body(nd, false, true, endpoint, &body);

	if (r < 0)
		return r;
	return node_seal(nd, CTRL_OP_MAP, body, now_ns, NULL, out, len);
}

static int replay_register(struct sim *s, struct simnode *nd, uint8_t **sealed, size_t *len)
{
	struct reply r;
	json_t *body = NULL;
	int rc;

	if (node_register_body(nd, s->authkey, &body) < 0 ||
	    node_seal(nd, CTRL_OP_REGISTER, body, (int64_t)clock_real_ns(), NULL, sealed, len) < 0)
		return -EINVAL;
	if (sim_roundtrip(s, EVHTTP_REQ_POST, "/ctrl/v1/register", &nd->mpub, NULL, *sealed, *len,
			  &r) < 0 &&
	    r.code == 0)
		return -EIO;
	rc = node_take_registration(nd, &r);
	reply_free(&r);
	return rc;
}

/* B's one-shot full map, and A's entry in it (a new reference, or NULL). */
static json_t *replay_peer_entry(struct sim *s, struct simnode *b, uint64_t a_id)
{
	struct ctrl_stream *st = NULL;
	struct ctrl_envelope env;
	struct ctrl_frame f = { 0 };
	struct jsonx_err err;
	struct reply r = { 0 };
	uint8_t *sealed = NULL;
	size_t len, used = 0;
	json_t *body = NULL, *item, *out = NULL;
	size_t i;

	if (node_map_body(b, false, false, NULL, &body) < 0 ||
	    node_seal(b, CTRL_OP_MAP, body, (int64_t)clock_real_ns(), &env, &sealed, &len) < 0 ||
	    sim_roundtrip(s, EVHTTP_REQ_POST, "/ctrl/v1/map", &b->mpub, NULL, sealed, len, &r) <
		    0 ||
	    r.code != 200 || ctrl_stream_new(&b->box, env.nonce, CTRL_FRAME_MAX, &st) < 0 ||
	    ctrl_stream_feed(st, r.body, r.len, &used, &f, &err) != 1 || f.type != CTRL_FRAME_FULL)
		goto out;
	json_array_foreach(json_object_get(f.json, "Peers"), i, item) {
		if ((uint64_t)json_integer_value(json_object_get(item, "ID")) == a_id) {
			out = json_deep_copy(item);
			/* What a stream's coming and going changes is not the point here. */
			json_object_del(out, "Online");
			json_object_del(out, "LastSeen");
		}
	}
out:
	json_decref(f.json);
	ctrl_stream_free(st);
	free(sealed);
	reply_free(&r);
	return out;
}

static bool entry_has_endpoint(const json_t *e, const char *ep)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(e, "Endpoints"), i, v) {
		if (strcmp(json_string_value(v) ? json_string_value(v) : "", ep) == 0)
			return true;
	}
	return false;
}

static int run_replay(struct sim *s)
{
	struct check c = { .s = s };
	struct simnode *a = &s->nodes[0], *b = &s->nodes[1], *x = &s->nodes[2];
	uint8_t *reg = NULL, *m1 = NULL, *m2 = NULL, *t = NULL, *big = NULL;
	size_t reg_len, m1_len, m2_len, t_len;
	char text[1024], hex[2 * CTRL_REQ_NONCE_LEN + 1], nk[KEY_PREFIXED_MAX];
	uint8_t nonce[CTRL_REQ_NONCE_LEN];
	int64_t now = (int64_t)clock_real_ns();
	json_t *before = NULL, *after = NULL;
	struct reply r;

	/* The two legitimate nodes. */
	if (replay_register(s, a, &reg, &reg_len) < 0) {
		check_result(&c, "register", false, a->reg_code, "%s", a->reg_msg);
		goto out;
	}
	check_result(&c, "register", true, 200, "node %llu", (unsigned long long)a->id);
	if (replay_register(s, b, &t, &t_len) < 0) {
		check_result(&c, "register-b", false, b->reg_code, "%s", b->reg_msg);
		goto out;
	}
	free(t);
	t = NULL;

	/* A captured register request sent again, and sent to another URL. */
	check_post(&c, "replayed-register", a, "/ctrl/v1/register", &a->mpub, reg, reg_len, 409,
		   "replay");
	check_post(&c, "register-body-as-map", a, "/ctrl/v1/map", &a->mpub, reg, reg_len, 400,
		   "Op");
	check_post(&c, "register-body-as-logout", a, "/ctrl/v1/logout", &a->mpub, reg, reg_len, 400,
		   "Op");

	/* Reorder: an older endpoint update delivered after a newer one is refused. */
	if (sealed_map(a, "192.0.2.1:1001", now, &m1, &m1_len) < 0 ||
	    sealed_map(a, "192.0.2.2:1002", now + 1000, &m2, &m2_len) < 0)
		goto out;
	check_post(&c, "update-1", a, "/ctrl/v1/map", &a->mpub, m1, m1_len, 200, NULL);
	check_post(&c, "update-2", a, "/ctrl/v1/map", &a->mpub, m2, m2_len, 200, NULL);
	check_post(&c, "replayed-old-update", a, "/ctrl/v1/map", &a->mpub, m1, m1_len, 409,
		   "replay");
	check_post(&c, "replayed-new-update", a, "/ctrl/v1/map", &a->mpub, m2, m2_len, 409,
		   "replay");
	before = replay_peer_entry(s, b, a->id);
	check_result(&c, "order-kept",
		     before != NULL && entry_has_endpoint(before, "192.0.2.2:1002"), 0,
		     "a peer sees node A at the newer endpoint");

	/* Stale and future timestamps. */
	free(t);
	t = NULL;
	if (sealed_map(a, "192.0.2.3:1003", now - 200LL * 1000000000LL, &t, &t_len) == 0)
		check_post(&c, "stale-timestamp", a, "/ctrl/v1/map", &a->mpub, t, t_len, 400,
			   "clock");
	free(t);
	t = NULL;
	if (sealed_map(a, "192.0.2.3:1003", now + 200LL * 1000000000LL, &t, &t_len) == 0)
		check_post(&c, "future-timestamp", a, "/ctrl/v1/map", &a->mpub, t, t_len, 400,
			   "clock");
	free(t);
	t = NULL;

	/* Forged: sealed by machine X, claiming to be A; garbage; too short; too large. */
	if (sealed_map(x, "192.0.2.3:1003", now, &t, &t_len) == 0)
		check_post(&c, "forged-machine", NULL, "/ctrl/v1/map", &a->mpub, t, t_len, 401,
			   "machine key");
	free(t);
	t = NULL;
	if ((big = malloc(CTRL_BODY_MAX + CTRL_SEAL_OVERHEAD + 1)) == NULL)
		goto out;
	randombytes_buf(big, 256);
	check_post(&c, "garbage-body", NULL, "/ctrl/v1/map", &a->mpub, big, 256, 401, NULL);
	check_post(&c, "short-body", NULL, "/ctrl/v1/map", &a->mpub, big, 12, 401, NULL);
	check_post(&c, "empty-body", NULL, "/ctrl/v1/register", &a->mpub, big, 0, 401, NULL);
	memset(big, 'x', CTRL_BODY_MAX + CTRL_SEAL_OVERHEAD + 1);
	check_post(&c, "oversized-body", NULL, "/ctrl/v1/register", &a->mpub, big,
		   CTRL_BODY_MAX + CTRL_SEAL_OVERHEAD + 1, 413, NULL);
	check_post(&c, "no-machine-header", NULL, "/ctrl/v1/map", NULL, m2, m2_len, 400,
		   "Weft-Machine");

	/* Well sealed, badly formed inside. */
	randombytes_buf(nonce, sizeof(nonce));
	sodium_bin2hex(hex, sizeof(hex), nonce, sizeof(nonce));
	node_public_format(&a->npub, nk, sizeof(nk));
#define SEALED_CHECK(name, want, needle, ...)                                                      \
	do {                                                                                       \
		randombytes_buf(nonce, sizeof(nonce));                                             \
		sodium_bin2hex(hex, sizeof(hex), nonce, sizeof(nonce));                            \
		snprintf(text, sizeof(text), __VA_ARGS__);                                         \
		if (seal_text(a, text, &t, &t_len) == 0)                                           \
			check_post(&c, name, a, "/ctrl/v1/map", &a->mpub, t, t_len, want, needle); \
		free(t);                                                                           \
		t = NULL;                                                                          \
	} while (0)
	SEALED_CHECK("unknown-field", 400, "Bogus",
		     "{\"Version\":1,\"Op\":\"map\",\"Timestamp\":%lld,\"Nonce\":\"%s\","
		     "\"NodeKey\":\"%s\",\"Bogus\":1}",
		     (long long)clock_real_ns(), hex, nk);
	SEALED_CHECK("version-2", 400, "version",
		     "{\"Version\":2,\"Op\":\"map\",\"Timestamp\":%lld,\"Nonce\":\"%s\","
		     "\"NodeKey\":\"%s\"}",
		     (long long)clock_real_ns(), hex, nk);
	SEALED_CHECK("duplicate-key", 400, NULL,
		     "{\"Version\":1,\"Op\":\"map\",\"Timestamp\":%lld,\"Nonce\":\"%s\","
		     "\"NodeKey\":\"%s\",\"NodeKey\":\"%s\"}",
		     (long long)clock_real_ns(), hex, nk, nk);
	SEALED_CHECK("truncated-json", 400, NULL,
		     "{\"Version\":1,\"Op\":\"map\",\"Timestamp\":%lld,\"Nonce\":\"%s\",",
		     (long long)clock_real_ns(), hex);
	SEALED_CHECK("no-nonce", 400, "Nonce",
		     "{\"Version\":1,\"Op\":\"map\",\"Timestamp\":%lld,\"NodeKey\":\"%s\"}",
		     (long long)clock_real_ns(), nk);
	SEALED_CHECK("endpoint-not-address", 400, NULL,
		     "{\"Version\":1,\"Op\":\"map\",\"Timestamp\":%lld,\"Nonce\":\"%s\","
		     "\"NodeKey\":\"%s\",\"Endpoints\":[\"not-an-endpoint\"]}",
		     (long long)clock_real_ns(), hex, nk);
	node_public_format(&b->npub, nk, sizeof(nk));
	SEALED_CHECK("another-nodes-key", 401, "register",
		     "{\"Version\":1,\"Op\":\"map\",\"Timestamp\":%lld,\"Nonce\":\"%s\","
		     "\"NodeKey\":\"%s\"}",
		     (long long)clock_real_ns(), hex, nk);
#undef SEALED_CHECK
	/* A machine the server has never seen may not ask for a map. */
	if (sealed_map(x, "192.0.2.3:1003", now, &t, &t_len) == 0)
		check_post(&c, "unregistered-machine", x, "/ctrl/v1/map", &x->mpub, t, t_len, 401,
			   "register");
	free(t);
	t = NULL;

	/* None of that changed what peers are told about A. */
	after = replay_peer_entry(s, b, a->id);
	check_result(&c, "nothing-changed",
		     before != NULL && after != NULL && json_equal(before, after), 0,
		     "node A's entry in a peer's map is unchanged");
	if (sim_roundtrip(s, EVHTTP_REQ_GET, "/ctrl/v1/map", &a->mpub, NULL, NULL, 0, &r) == 0) {
		check_result(&c, "get-method", r.code == 405, r.code, "(want 405)");
		reply_free(&r);
	}
out:
	json_decref(before);
	json_decref(after);
	free(reg);
	free(m1);
	free(m2);
	free(t);
	free(big);
	printf("%s: %d failed\n", c.failed ? "FAIL" : "PASS", c.failed);
	return c.failed ? 1 : 0;
}

/* ---- main --------------------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: ctrlsim load|register|replay --server URL --authkey KEY [flags]\n"
		"  --nodes N          simulated nodes (default 10)\n"
		"  --concurrency N    registrations at a time (default 256)\n"
		"  --stream-concurrency N  streams waiting for their full map at a time\n"
		"                     (default: --concurrency)\n"
		"  --server-pid PID   report the server's CPU per phase and peak RSS\n"
		"  --metrics URL      the server's metrics listener: report its own fan-out time\n"
		"  --extra-peers N    other nodes the server has (default 0)\n"
		"  --hold S           keep every stream open S seconds and check they still are\n"
		"  --trigger endpoint|rename   change node 0, time the delta to every stream\n"
		"  --api-key KEY      for --trigger rename\n"
		"  --expect-restart   wait for every stream to end and reconnect\n"
		"  --ready FILE       written when the restart may happen\n"
		"  --prefix NAME      host names NAME-0, NAME-1, ... (default sim)\n"
		"  --light            check full maps without parsing them\n"
		"  --timeout S        deadline of each phase (default 120)\n");
	exit(2);
}

static uint64_t arg_num(const char *flag, const char *v, uint64_t max)
{
	uint64_t n;

	if (v == NULL || numparse_u64(v, 0, max, &n) < 0) {
		fprintf(stderr, "ctrlsim: %s wants a number up to %llu\n", flag,
			(unsigned long long)max);
		exit(2);
	}
	return n;
}

static void parse_args(struct sim *s, int argc, char **argv)
{
	const char *url = NULL, *metrics = NULL;
	struct evhttp_uri *uri;

	if (argc < 2)
		usage();
	s->mode = argv[1];
	s->n = 10;
	s->concurrency = 256;
	s->timeout_s = 120;
	s->prefix = "sim";
	for (int i = 2; i < argc; i++) {
		const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(f, "--light") == 0) {
			s->light = true;
			continue;
		}
		if (strcmp(f, "--expect-restart") == 0) {
			s->expect_restart = true;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(f, "--server") == 0)
			url = v;
		else if (strcmp(f, "--authkey") == 0)
			s->authkey = v;
		else if (strcmp(f, "--api-key") == 0)
			s->apikey = v;
		else if (strcmp(f, "--nodes") == 0)
			s->n = arg_num(f, v, SIM_MAX_NODES);
		else if (strcmp(f, "--concurrency") == 0)
			s->concurrency = arg_num(f, v, SIM_MAX_NODES);
		else if (strcmp(f, "--stream-concurrency") == 0)
			s->stream_concurrency = arg_num(f, v, SIM_MAX_NODES);
		else if (strcmp(f, "--metrics") == 0)
			metrics = v;
		else if (strcmp(f, "--server-pid") == 0)
			s->server_pid = (long)arg_num(f, v, 1u << 30);
		else if (strcmp(f, "--extra-peers") == 0)
			s->extra_peers = arg_num(f, v, 1000000);
		else if (strcmp(f, "--hold") == 0)
			s->hold_s = (unsigned)arg_num(f, v, 3600);
		else if (strcmp(f, "--timeout") == 0)
			s->timeout_s = (unsigned)arg_num(f, v, 7200);
		else if (strcmp(f, "--trigger") == 0)
			s->trigger = v;
		else if (strcmp(f, "--ready") == 0)
			s->ready_path = v;
		else if (strcmp(f, "--prefix") == 0)
			s->prefix = v;
		else
			usage();
	}
	if (strcmp(s->mode, "replay") == 0)
		s->n = 3;
	if (s->stream_concurrency == 0)
		s->stream_concurrency = s->concurrency;
	if (url == NULL ||
	    (strcmp(s->mode, "load") && strcmp(s->mode, "register") && strcmp(s->mode, "replay")))
		usage();
	if (s->n < 1 || s->concurrency < 1 || s->timeout_s < 1) {
		fprintf(stderr,
			"ctrlsim: --nodes, --concurrency and --timeout must be at least 1\n");
		exit(2);
	}
	if (s->trigger != NULL && strcmp(s->trigger, "endpoint") && strcmp(s->trigger, "rename")) {
		fprintf(stderr, "ctrlsim: --trigger endpoint or rename\n");
		exit(2);
	}
	if (s->trigger != NULL && strcmp(s->trigger, "rename") == 0 && s->apikey == NULL) {
		fprintf(stderr, "ctrlsim: --trigger rename needs --api-key\n");
		exit(2);
	}
	uri = evhttp_uri_parse(url);
	if (uri == NULL || evhttp_uri_get_host(uri) == NULL ||
	    strcmp(evhttp_uri_get_scheme(uri) ? evhttp_uri_get_scheme(uri) : "", "http") != 0) {
		fprintf(stderr, "ctrlsim: --server wants http://HOST:PORT\n");
		exit(2);
	}
	snprintf(s->host, sizeof(s->host), "%s", evhttp_uri_get_host(uri));
	s->port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 80;
	evhttp_uri_free(uri);
	if (metrics != NULL) {
		uri = evhttp_uri_parse(metrics);
		if (uri == NULL || evhttp_uri_get_host(uri) == NULL ||
		    evhttp_uri_get_port(uri) <= 0) {
			fprintf(stderr, "ctrlsim: --metrics wants http://HOST:PORT\n");
			exit(2);
		}
		snprintf(s->metrics_host, sizeof(s->metrics_host), "%s", evhttp_uri_get_host(uri));
		s->metrics_port = evhttp_uri_get_port(uri);
		evhttp_uri_free(uri);
	}
}

/* One descriptor per stream and a few spare: raise the soft limit to the hard one. */
static void raise_nofile(size_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 64)
		fprintf(stderr, "ctrlsim: warning: %llu file descriptors for %zu nodes\n",
			(unsigned long long)rl.rlim_cur, n);
}

static void print_results(const struct sim *s)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("{\"mode\":\"%s\",\"nodes\":%zu,\"phase\":\"%s\",\"ok\":%s,\"register_s\":%.3f,"
	       "\"full_maps_s\":%.3f,\"full_map_bytes\":%llu,\"hold_s\":%.1f,\"trigger\":\"%s\","
	       "\"delta_p50_ms\":%.2f,\"delta_p99_ms\":%.2f,\"delta_max_ms\":%.2f,"
	       "\"reconnect_s\":%.3f,\"frames\":%llu,\"deltas\":%llu,\"keepalives\":%llu,"
	       "\"stream_ends\":%llu,\"retries\":%llu,\"failures\":%zu,\"client_cpu_s\":%.2f,"
	       "\"client_maxrss_mb\":%.1f",
	       s->mode, s->n, phase_names[s->stopped_in], s->exit_code == 0 ? "true" : "false",
	       s->register_s, s->full_s, (unsigned long long)s->full_bytes, s->hold_s_done,
	       s->trigger ? s->trigger : "", s->trig_p50_ms, s->trig_p99_ms, s->trig_max_ms,
	       s->reconnect_s, (unsigned long long)s->frames, (unsigned long long)s->deltas,
	       (unsigned long long)s->keepalives, (unsigned long long)s->stream_ends,
	       (unsigned long long)s->retries, s->failures,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
	       (double)ru.ru_maxrss / 1024.0);
	if (s->server_pid > 0)
		printf(",\"server_cpu_s\":{\"register\":%.2f,\"streams\":%.2f,\"hold\":%.2f,"
		       "\"trigger\":%.3f,\"restart\":%.2f},\"server_peak_rss_mb\":%.1f,"
		       "\"server_rss_mb\":%.1f",
		       s->server_cpu[PH_REGISTER], s->server_cpu[PH_STREAMS],
		       s->server_cpu[PH_HOLD], s->server_cpu[PH_TRIGGER], s->server_cpu[PH_RESTART],
		       s->server_hwm_mb, s->server_rss_mb);
	if (s->metrics_port > 0)
		printf(",\"server_fanout_ms\":%.2f,\"server_batches\":%llu",
		       (s->fanout_s[1] - s->fanout_s[0]) * 1e3,
		       (unsigned long long)(s->batches[1] - s->batches[0]));
	printf(",\"errors\":[");
	for (size_t i = 0; i < s->n_errors; i++) {
		struct buf_writer w;
		buf_writer_growable(&w, 4096);
		jsonx_write_str(&w, s->errors[i]);
		printf("%s%.*s", i ? "," : "", (int)w.len, (const char *)w.p);
		buf_writer_free(&w);
	}
	printf("]}\n");
}

int main(int argc, char **argv)
{
	struct sim s = { 0 };
	int rc = 1;

	signal(SIGPIPE, SIG_IGN);
	parse_args(&s, argc, argv);
	/*
	 * Full maps of 10^4 peers are 6 MB each: keep such buffers in the heap
	 * rather than mapping and faulting in fresh pages for every one.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	if (sodium_init() < 0)
		return 1;
	raise_nofile(s.n);
	if ((s.base = event_base_new()) == NULL || sim_server_key(&s) < 0)
		goto out;
	s.nodes = calloc(s.n, sizeof(*s.nodes));
	s.wantq = calloc(s.n, sizeof(*s.wantq));
	s.deadline = evtimer_new(s.base, sim_deadline_cb, &s);
	s.hold = evtimer_new(s.base, sim_hold_cb, &s);
	if (s.nodes == NULL || s.wantq == NULL || s.deadline == NULL || s.hold == NULL)
		goto out;
	for (size_t i = 0; i < s.n; i++)
		if (node_init(&s, &s.nodes[i], i) < 0)
			goto out;
	if (strcmp(s.mode, "replay") == 0) {
		rc = run_replay(&s);
		goto out;
	}
	sim_enter(&s, PH_REGISTER);
	sim_pump_register(&s);
	if (s.phase != PH_DONE)
		event_base_dispatch(s.base);
	rc = s.exit_code;
	if (strcmp(s.mode, "load") == 0)
		print_results(&s);
out:
	for (size_t i = 0; s.nodes != NULL && i < s.n; i++)
		node_fini(&s.nodes[i]);
	free(s.nodes);
	free(s.wantq);
	if (s.deadline != NULL)
		event_free(s.deadline);
	if (s.hold != NULL)
		event_free(s.hold);
	if (s.base != NULL)
		event_base_free(s.base);
	return rc;
}
