/* SPDX-License-Identifier: ISC */
/*
 * test_cli_client: the CLI's local API client against a real libevent HTTP server on a
 * unix socket (as weftd's), run in a thread: JSON and empty answers, every method with a
 * body, weftd's errors passed through, malformed and oversized answers, timeouts, no
 * daemon at all, and the watch stream with lines split across chunks, its end and caps.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "core/clock.h"
#include "testutil.h"
#include "weft/client.h"

enum watch_mode {
	WATCH_SPLIT,   /* three notifications, one split across two chunks, then the end */
	WATCH_SILENT,  /* a stream that sends nothing */
	WATCH_404,     /* an error answer instead of a stream */
	WATCH_GARBAGE, /* a line that is not JSON */
	WATCH_LONG,    /* a line longer than the cap */
};

static struct {
	struct event_base *base;
	struct evhttp *http;
	pthread_t thread;
	char dir[40], path[80];
	_Atomic int watch_mode;
	struct evhttp_request *held[8]; /* requests left unanswered (timeouts, streams) */
	size_t nheld;
} srv;

static void hold(struct evhttp_request *req)
{
	assert_true(srv.nheld < sizeof(srv.held) / sizeof(srv.held[0]));
	srv.held[srv.nheld++] = req;
}

static void reply(struct evhttp_request *req, int code, const char *body)
{
	struct evbuffer *b = evbuffer_new();

	if (body != NULL)
		evbuffer_add(b, body, strlen(body));
	evhttp_send_reply(req, code, "X", body != NULL ? b : NULL);
	evbuffer_free(b);
}

static void watch_rest(evutil_socket_t fd, short what, void *arg)
{
	struct evhttp_request *req = arg;
	struct evbuffer *b = evbuffer_new();

	(void)fd;
	(void)what;
	evbuffer_add_printf(b, "seToURL\":\"http://ctl/register/ab\"}\n\n{\"State\":6}\n");
	evhttp_send_reply_chunk(req, b);
	evbuffer_free(b);
	evhttp_send_reply_end(req);
}

static void handle_watch(struct evhttp_request *req)
{
	struct timeval tv = { 0, 50000 };
	struct evbuffer *b;

	switch ((enum watch_mode)atomic_load(&srv.watch_mode)) {
	case WATCH_404:
		reply(req, 404,
		      "{\"error\":\"/localapi/v0/watch-ipn-bus: no such local API endpoint\"}");
		return;
	case WATCH_SPLIT:
	case WATCH_SILENT:
	case WATCH_GARBAGE:
	case WATCH_LONG:
		break;
	}
	evhttp_send_reply_start(req, 200, "OK");
	b = evbuffer_new();
	switch ((enum watch_mode)atomic_load(&srv.watch_mode)) {
	case WATCH_SPLIT:
		evbuffer_add_printf(b, "{\"State\":2}\n{\"Brow");
		evhttp_send_reply_chunk(req, b);
		event_base_once(srv.base, -1, EV_TIMEOUT, watch_rest, req, &tv);
		break;
	case WATCH_GARBAGE:
		evbuffer_add_printf(b, "{\"State\":2}\nnot json\n");
		evhttp_send_reply_chunk(req, b);
		hold(req);
		break;
	case WATCH_LONG:
		for (int i = 0; i < 200; i++)
			evbuffer_add_printf(b, "0123456789");
		evhttp_send_reply_chunk(req, b);
		hold(req);
		break;
	case WATCH_SILENT:
		hold(req);
		break;
	case WATCH_404:
		break;
	}
	evbuffer_free(b);
}

static void handle(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char echo[512];

	(void)arg;
	if (strcmp(uri, "/localapi/v0/status?peers=false") == 0) {
		reply(req, 200, "{\"BackendState\":\"Running\"}\n");
	} else if (strcmp(uri, "/empty") == 0) {
		reply(req, 204, NULL);
	} else if (strcmp(uri, "/echo") == 0) {
		enum evhttp_cmd_type m = evhttp_request_get_command(req);
		const char *name = m == EVHTTP_REQ_POST	  ? "POST" :
				   m == EVHTTP_REQ_PUT	  ? "PUT" :
				   m == EVHTTP_REQ_DELETE ? "DELETE" :
				   m == EVHTTP_REQ_PATCH  ? "PATCH" :
							    "?";
		size_t len = evbuffer_get_length(in);
		const char *ctype =
			evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
		snprintf(echo, sizeof(echo),
			 "{\"method\":\"%s\",\"len\":%zu,\"ctype\":\"%s\",\"body\":%.*s}", name,
			 len, ctype != NULL ? ctype : "", len > 0 ? (int)len : 4,
			 len > 0 ? (const char *)evbuffer_pullup(in, -1) : "null");
		reply(req, 200, echo);
	} else if (strcmp(uri, "/denied") == 0) {
		reply(req, 403,
		      "{\"error\":\"access denied: run as root, or let this user operate "
		      "weft with: weft set --operator=$USER\"}");
	} else if (strcmp(uri, "/bad") == 0) {
		reply(req, 400, "{\"error\":\"Hostname: `a_b' is not a valid hostname\"}");
	} else if (strcmp(uri, "/plain500") == 0) {
		reply(req, 500, "oops");
	} else if (strcmp(uri, "/notjson") == 0) {
		reply(req, 200, "{\"a\":");
	} else if (strcmp(uri, "/dup") == 0) {
		reply(req, 200, "{\"a\":1,\"a\":2}");
	} else if (strcmp(uri, "/big") == 0) {
		struct evbuffer *b = evbuffer_new();
		evbuffer_add_printf(b, "[");
		for (int i = 0; i < 2000; i++)
			evbuffer_add_printf(b, "%s\"0123456789\"", i > 0 ? "," : "");
		evbuffer_add_printf(b, "]");
		evhttp_send_reply(req, 200, "OK", b);
		evbuffer_free(b);
	} else if (strcmp(uri, "/slow") == 0) {
		hold(req); /* never answered */
	} else if (strcmp(uri, "/localapi/v0/watch-ipn-bus") == 0) {
		handle_watch(req);
	} else {
		reply(req, 404, "{\"error\":\"no such local API endpoint\"}");
	}
}

static void *serve(void *arg)
{
	(void)arg;
	event_base_dispatch(srv.base);
	return NULL;
}

static int setup(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct evconnlistener *l;

	(void)state;
	assert_int_equal(evthread_use_pthreads(), 0);
	snprintf(srv.dir, sizeof(srv.dir), "/tmp/weft-cli-client.XXXXXX");
	assert_non_null(mkdtemp(srv.dir));
	snprintf(srv.path, sizeof(srv.path), "%s/weftd.sock", srv.dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", srv.path);
	srv.base = event_base_new();
	assert_non_null(srv.base);
	l = evconnlistener_new_bind(srv.base, NULL, NULL,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_THREADSAFE, 16,
				    (struct sockaddr *)&sun, sizeof(sun));
	assert_non_null(l);
	srv.http = evhttp_new(srv.base);
	assert_non_null(evhttp_bind_listener(srv.http, l));
	evhttp_set_allowed_methods(srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH |
						     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(srv.http, handle, NULL);
	assert_int_equal(pthread_create(&srv.thread, NULL, serve, NULL), 0);
	assert_int_equal(cli_client_global_init(), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	event_base_loopbreak(srv.base);
	pthread_join(srv.thread, NULL);
	/* The clients are gone: libevent left these requests to us (or frees them below). */
	for (size_t i = 0; i < srv.nheld; i++) {
		if (evhttp_request_get_connection(srv.held[i]) == NULL)
			evhttp_request_free(srv.held[i]);
	}
	evhttp_free(srv.http);
	event_base_free(srv.base);
	unlink(srv.path);
	rmdir(srv.dir);
	cli_client_global_cleanup();
	return 0;
}

static void test_calls(void **state)
{
	struct cli_client *c;
	char err[CLI_CLIENT_ERR_MAX];
	json_t *j, *body;

	(void)state;
	assert_int_equal(cli_client_new(srv.path, &c), 0);
	assert_int_equal(cli_client_call(c, "GET", "/localapi/v0/status?peers=false", NULL, 0, &j,
					 err, sizeof(err)),
			 0);
	assert_string_equal(json_string_value(json_object_get(j, "BackendState")), "Running");
	json_decref(j);
	assert_int_equal(cli_client_call(c, "POST", "/empty", NULL, 0, &j, err, sizeof(err)), 0);
	assert_null(j);
	/* every writing method carries its body (or an empty one) as JSON */
	body = json_pack("{s:s, s:b}", "Hostname", "spark", "HostnameSet", 1);
	static const char *const methods[] = { "POST", "PATCH", "PUT", "DELETE" };
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(
			cli_client_call(c, methods[i], "/echo", body, 0, &j, err, sizeof(err)), 0);
		assert_string_equal(json_string_value(json_object_get(j, "method")), methods[i]);
		assert_string_equal(json_string_value(json_object_get(j, "ctype")),
				    "application/json");
		assert_true(json_equal(json_object_get(j, "body"), body));
		json_decref(j);
	}
	assert_int_equal(cli_client_call(c, "POST", "/echo", NULL, 0, &j, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "len")), 0);
	json_decref(j);
	json_decref(body);
	cli_client_free(c);
}

static void test_errors(void **state)
{
	static const struct {
		const char *path;
		int r;
		const char *err;
	} cases[] = {
		{ "/denied", -EACCES,
		  "access denied: run as root, or let this user operate weft with: "
		  "weft set --operator=$USER" },
		{ "/bad", -EINVAL, "Hostname: `a_b' is not a valid hostname" },
		{ "/nothing-here", -ENOENT, "no such local API endpoint" },
		{ "/plain500", -EIO, "weftd answered /plain500 with HTTP 500" },
		{ "/notjson", -EPROTO, "weftd sent malformed JSON for /notjson" },
		{ "/dup", -EPROTO, "malformed JSON" },
		{ "/big", -EMSGSIZE, "weftd's answer to /big is larger than 1000 bytes" },
	};
	struct cli_client *c;
	char err[CLI_CLIENT_ERR_MAX];
	json_t *j;

	(void)state;
	assert_int_equal(cli_client_new(srv.path, &c), 0);
	cli_client_set_limits(c, 1000, 1000);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = cli_client_call(c, "GET", cases[i].path, NULL, 0, &j, err, sizeof(err));
		if (r != cases[i].r || strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: %d `%s'", i, r, err);
		assert_null(j);
	}
	/* an answer that does not come: a timeout naming the socket */
	assert_int_equal(cli_client_call(c, "GET", "/slow", NULL, 300, &j, err, sizeof(err)),
			 -ETIMEDOUT);
	assert_non_null(strstr(err, "did not answer /slow within 300 ms"));
	assert_non_null(strstr(err, srv.path));
	/* and the client still works afterwards */
	assert_int_equal(cli_client_call(c, "POST", "/empty", NULL, 0, &j, err, sizeof(err)), 0);
	cli_client_free(c);
}

static void test_no_daemon(void **state)
{
	char path[96], longpath[200], err[CLI_CLIENT_ERR_MAX];
	struct cli_client *c;
	struct cli_watch *w;
	json_t *j;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/none.sock", srv.dir);
	assert_int_equal(cli_client_new(path, &c), 0);
	assert_int_equal(
		cli_client_call(c, "GET", "/localapi/v0/status", NULL, 0, &j, err, sizeof(err)),
		-ECONNREFUSED);
	assert_non_null(strstr(err, "failed to connect to local weftd at /tmp/weft-cli-client."));
	cli_client_free(c);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(cli_client_new(longpath, &c), -ENAMETOOLONG);
	assert_null(c);

	/* a socket file nobody listens on (weftd killed -9): refused, same message */
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		snprintf(path, sizeof(path), "%s/stale.sock", srv.dir);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
		close(fd);
	}
	assert_int_equal(cli_client_new(path, &c), 0);
	assert_int_equal(cli_client_call(c, "GET", "/x", NULL, 0, &j, err, sizeof(err)),
			 -ECONNREFUSED);
	assert_non_null(strstr(err, "(is weftd running? start it, or pass --socket PATH)"));
	/* the watch reports it at its first read */
	assert_int_equal(cli_watch_open(c, &w), 0);
	assert_int_equal(cli_watch_next(w, 0, &j, err, sizeof(err)), -ECONNREFUSED);
	assert_non_null(strstr(err, "failed to connect to local weftd at"));
	cli_watch_free(w);
	cli_client_free(c);
	unlink(path);
}

static void test_watch(void **state)
{
	struct cli_client *c;
	struct cli_watch *w;
	char err[CLI_CLIENT_ERR_MAX];
	uint64_t t0;
	json_t *n;

	(void)state;
	assert_int_equal(cli_client_new(srv.path, &c), 0);
	cli_client_set_limits(c, 1 << 20, 1000);

	atomic_store(&srv.watch_mode, WATCH_SPLIT);
	assert_int_equal(cli_watch_open(c, &w), 0);
	assert_int_equal(cli_watch_next(w, clock_deadline_ms(5000), &n, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(n, "State")), 2);
	json_decref(n);
	/* the second line arrives in two chunks 50 ms apart */
	assert_int_equal(cli_watch_next(w, clock_deadline_ms(5000), &n, err, sizeof(err)), 0);
	assert_string_equal(json_string_value(json_object_get(n, "BrowseToURL")),
			    "http://ctl/register/ab");
	json_decref(n);
	/* an empty line is skipped */
	assert_int_equal(cli_watch_next(w, clock_deadline_ms(5000), &n, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(n, "State")), 6);
	json_decref(n);
	assert_int_equal(cli_watch_next(w, clock_deadline_ms(5000), &n, err, sizeof(err)), -EPIPE);
	assert_non_null(strstr(err, "ended the watch stream"));
	cli_watch_free(w);

	atomic_store(&srv.watch_mode, WATCH_SILENT);
	assert_int_equal(cli_watch_open(c, &w), 0);
	t0 = clock_mono_ns();
	assert_int_equal(cli_watch_next(w, clock_deadline_ms(200), &n, err, sizeof(err)),
			 -ETIMEDOUT);
	assert_true(clock_mono_ns() - t0 >= 190 * CLOCK_NS_PER_MS);
	assert_true(clock_mono_ns() - t0 < 3000 * CLOCK_NS_PER_MS);
	cli_watch_free(w);

	atomic_store(&srv.watch_mode, WATCH_404);
	assert_int_equal(cli_watch_open(c, &w), 0);
	assert_int_equal(cli_watch_next(w, clock_deadline_ms(5000), &n, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no such local API endpoint"));
	cli_watch_free(w);

	atomic_store(&srv.watch_mode, WATCH_GARBAGE);
	assert_int_equal(cli_watch_open(c, &w), 0);
	assert_int_equal(cli_watch_next(w, clock_deadline_ms(5000), &n, err, sizeof(err)), 0);
	json_decref(n);
	assert_int_equal(cli_watch_next(w, clock_deadline_ms(5000), &n, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "malformed JSON"));
	cli_watch_free(w);

	atomic_store(&srv.watch_mode, WATCH_LONG);
	assert_int_equal(cli_watch_open(c, &w), 0);
	assert_int_equal(cli_watch_next(w, clock_deadline_ms(5000), &n, err, sizeof(err)),
			 -EMSGSIZE);
	cli_watch_free(w);
	cli_client_free(c);
}

static void test_lines(void **state)
{
	(void)state;
	assert_int_equal(cli_line_find("", 0), -1);
	assert_int_equal(cli_line_find("abc", 3), -1);
	assert_int_equal(cli_line_find("\n", 1), 0);
	assert_int_equal(cli_line_find("ab\ncd\n", 6), 2);
	assert_int_equal(cli_line_find("ab\0\ncd", 6), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls),	  cmocka_unit_test(test_errors),
		cmocka_unit_test(test_no_daemon), cmocka_unit_test(test_watch),
		cmocka_unit_test(test_lines),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
