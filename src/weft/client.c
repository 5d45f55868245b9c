/* SPDX-License-Identifier: ISC */
/*
 * client: local API requests over weftd's unix socket through libcurl (see
 * client.h). libcurl rather than libevent's evhttp client because the
 * latter (2.1) always re-dials by host name and cannot use a unix socket.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <curl/curl.h>

#include "core/clock.h"
#include "core/mem.h"
#include "weft/client.h"
#include "weft_config.h"

#define CLI_CONNECT_TIMEOUT_MS 5000
#define CLI_POLL_MS 1000

struct cli_client {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	CURL *easy; /* reused by every call: one connection setup per request is cheap here */
	struct curl_slist *hdrs;
	size_t body_max, line_max;
};

/* A growing receive buffer with a cap; `off` is where unread data starts. */
struct cli_body {
	char *p;
	size_t len, cap, off, max;
	bool over;
};

struct cli_watch {
	struct cli_client *c;
	CURLM *multi;
	CURL *easy;
	struct cli_body buf;
	long code; /* the answer's HTTP status once known */
	bool done;
	CURLcode result;
};

int cli_client_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
}

void cli_client_global_cleanup(void)
{
	curl_global_cleanup();
}

long cli_line_find(const char *buf, size_t len)
{
	const char *nl = len > 0 ? memchr(buf, '\n', len) : NULL;

	return nl != NULL ? (long)(nl - buf) : -1;
}

static void cli_body_free(struct cli_body *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static size_t cli_body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct cli_body *b = arg;
	size_t n = size * nmemb;

	if (b->off > 0) { /* drop what was read */
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (n > b->max - b->len) {
		b->over = true;
		return 0; /* libcurl stops with CURLE_WRITE_ERROR */
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap > 0 ? b->cap : 4096;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->over = true;
			return 0;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, ptr, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

int cli_client_new(const char *socket_path, struct cli_client **out)
{
	struct cli_client *c;

	*out = NULL;
	if (strlen(socket_path) >= sizeof(c->path))
		return -ENAMETOOLONG;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	snprintf(c->path, sizeof(c->path), "%s", socket_path);
	c->body_max = CLI_CLIENT_BODY_MAX;
	c->line_max = CLI_CLIENT_LINE_MAX;
	c->easy = curl_easy_init();
	c->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (c->hdrs != NULL)
		c->hdrs = curl_slist_append(c->hdrs, "Expect:"); /* no 100-continue round trip */
	if (c->easy == NULL || c->hdrs == NULL) {
		cli_client_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void cli_client_set_limits(struct cli_client *c, size_t body_max, size_t line_max)
{
	c->body_max = body_max;
	c->line_max = line_max;
}

void cli_client_free(struct cli_client *c)
{
	if (c == NULL)
		return;
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->hdrs);
	free(c);
}

/* Options every request shares: the socket, no proxy, http only, our caps. */
static int cli_easy_setup(struct cli_client *c, CURL *h, const char *method, const char *path,
			  const char *body, uint64_t timeout_ms, struct cli_body *b)
{
	char url[1024];
	int r = 0;

	if (snprintf(url, sizeof(url), "http://local-weftd.sock%s", path) >= (int)sizeof(url))
		return -ENAMETOOLONG;
	curl_easy_reset(h);
	r |= curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->path);
	r |= curl_easy_setopt(h, CURLOPT_URL, url);
	r |= curl_easy_setopt(h, CURLOPT_PROXY, "");
	r |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	r |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	r |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CLI_CONNECT_TIMEOUT_MS);
	r |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	r |= curl_easy_setopt(h, CURLOPT_USERAGENT, "weft/" WEFT_VERSION);
	r |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdrs);
	r |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cli_body_write);
	r |= curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	if (strcmp(method, "GET") == 0) {
		r |= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		/* Always a body, if empty, so that every write carries Content-Length. */
		r |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		r |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
		r |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
				      (long)(body != NULL ? strlen(body) : 0));
	}
	return r == 0 ? 0 : -EINVAL;
}

/* A transport failure as one line that says what to do. */
static int cli_transport_error(struct cli_client *c, CURL *h, CURLcode rc, const struct cli_body *b,
			       const char *path, uint64_t timeout_ms, char *err, size_t errlen)
{
	long oserr = 0;

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
	if (rc == CURLE_COULDNT_CONNECT) {
		if (oserr == EACCES || oserr == EPERM) {
			snprintf(
				err, errlen,
				"cannot open local weftd's socket %s: permission denied (its directory "
				"or the socket does not let this user in; try as root)",
				c->path);
			return -EACCES;
		}
		snprintf(
			err, errlen,
			"failed to connect to local weftd at %s (is weftd running? start it, or pass "
			"--socket PATH)",
			c->path);
		return -ECONNREFUSED;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, errlen, "weftd at %s did not answer %s within %llu ms (see its log)",
			 c->path, path, (unsigned long long)timeout_ms);
		return -ETIMEDOUT;
	}
	if (rc == CURLE_WRITE_ERROR && b->over) {
		snprintf(err, errlen, "weftd's answer to %s is larger than %zu bytes", path,
			 b->max);
		return -EMSGSIZE;
	}
	if (rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
	    rc == CURLE_PARTIAL_FILE) {
		snprintf(err, errlen,
			 "weftd at %s closed the connection without answering %s (did it stop? see "
			 "its log)",
			 c->path, path);
		return -ECONNRESET;
	}
	snprintf(err, errlen, "local API request %s to %s failed: %s", path, c->path,
		 curl_easy_strerror(rc));
	return -EIO;
}

/* An answer with a non-2xx status: weftd's {"error": "..."} message passed through. */
static int cli_http_error(long code, const struct cli_body *b, const char *path, char *err,
			  size_t errlen)
{
	json_error_t je;
	json_t *j = b->len > 0 ? json_loadb(b->p, b->len, 0, &je) : NULL;
	const char *msg = json_string_value(json_object_get(j, "error"));

	if (msg != NULL && msg[0] != '\0')
		snprintf(err, errlen, "%s", msg);
	else
		snprintf(err, errlen, "weftd answered %s with HTTP %ld", path, code);
	json_decref(j);
	switch (code) {
	case 400:
		return -EINVAL;
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	default:
		return -EIO;
	}
}

static int cli_parse_body(const char *p, size_t len, const char *path, json_t **out, char *err,
			  size_t errlen)
{
	json_error_t je;

	*out = NULL;
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len == 0)
		return 0;
	*out = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
	if (*out == NULL) {
		snprintf(err, errlen, "weftd sent malformed JSON for %s: %s", path, je.text);
		return -EPROTO;
	}
	return 0;
}

int cli_client_call_text(struct cli_client *c, const char *method, const char *path,
			 const char *body, uint64_t timeout_ms, json_t **out, char *err,
			 size_t errlen)
{
	struct cli_body b = { .max = c->body_max };
	long code = 0;
	CURLcode rc;
	int r;

	*out = NULL;
	if (timeout_ms == 0)
		timeout_ms = CLI_CLIENT_TIMEOUT_MS;
	r = cli_easy_setup(c, c->easy, method, path, body, timeout_ms, &b);
	if (r < 0) {
		snprintf(err, errlen, "cannot prepare the request %s", path);
		goto out;
	}
	rc = curl_easy_perform(c->easy);
	if (rc != CURLE_OK) {
		r = cli_transport_error(c, c->easy, rc, &b, path, timeout_ms, err, errlen);
		goto out;
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299)
		r = cli_http_error(code, &b, path, err, errlen);
	else
		r = cli_parse_body(b.p, b.len, path, out, err, errlen);
out:
	curl_easy_reset(c->easy); /* forget the body pointer */
	cli_body_free(&b);
	return r;
}

int cli_client_call(struct cli_client *c, const char *method, const char *path, const json_t *body,
		    uint64_t timeout_ms, json_t **out, char *err, size_t errlen)
{
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	int r;

	*out = NULL;
	if (body != NULL && text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = cli_client_call_text(c, method, path, text, timeout_ms, out, err, errlen);
	if (text != NULL)
		mem_wipe(text, strlen(text)); /* it may carry an auth key */
	free(text);
	return r;
}

/* ---- the watch stream ----------------------------------------------------------------- */

int cli_watch_open(struct cli_client *c, struct cli_watch **out)
{
	struct cli_watch *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (w == NULL)
		return -ENOMEM;
	w->c = c;
	w->buf.max = c->line_max;
	w->multi = curl_multi_init();
	w->easy = curl_easy_init();
	if (w->multi == NULL || w->easy == NULL ||
	    cli_easy_setup(c, w->easy, "GET", "/localapi/v0/watch-ipn-bus", NULL, 0, &w->buf) < 0 ||
	    curl_multi_add_handle(w->multi, w->easy) != CURLM_OK) {
		cli_watch_free(w);
		return -ENOMEM;
	}
	/* The stream has no end of its own: only the connect has a timeout. */
	curl_easy_setopt(w->easy, CURLOPT_TIMEOUT_MS, 0L);
	*out = w;
	return 0;
}

void cli_watch_free(struct cli_watch *w)
{
	if (w == NULL)
		return;
	if (w->multi != NULL && w->easy != NULL)
		curl_multi_remove_handle(w->multi, w->easy);
	if (w->easy != NULL)
		curl_easy_cleanup(w->easy);
	if (w->multi != NULL)
		curl_multi_cleanup(w->multi);
	cli_body_free(&w->buf);
	free(w);
}

static const char cli_watch_path[] = "/localapi/v0/watch-ipn-bus";

static int cli_watch_ended(struct cli_watch *w, char *err, size_t errlen)
{
	if (w->result != CURLE_OK)
		return cli_transport_error(w->c, w->easy, w->result, &w->buf, cli_watch_path,
					   CLI_CONNECT_TIMEOUT_MS, err, errlen);
	if (w->code != 200) {
		struct cli_body rest = w->buf;
		rest.p += rest.off;
		rest.len -= rest.off;
		return cli_http_error(w->code, &rest, cli_watch_path, err, errlen);
	}
	snprintf(err, errlen, "weftd at %s ended the watch stream (did it stop? see its log)",
		 w->c->path);
	return -EPIPE;
}

/* Runs libcurl until more data arrives, the stream ends or wait_ms pass. */
static void cli_watch_pump(struct cli_watch *w, int wait_ms)
{
	size_t before = w->buf.len - w->buf.off;
	struct CURLMsg *m;
	int running = 0, left;

	curl_multi_perform(w->multi, &running);
	while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
		if (m->msg == CURLMSG_DONE && m->easy_handle == w->easy) {
			w->done = true;
			w->result = m->data.result;
		}
	}
	if (w->code == 0)
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->code);
	if (!w->done && w->buf.len - w->buf.off == before)
		curl_multi_poll(w->multi, NULL, 0, wait_ms, NULL);
}

int cli_watch_next(struct cli_watch *w, uint64_t deadline_ns, json_t **out, char *err,
		   size_t errlen)
{
	*out = NULL;
	for (;;) {
		struct cli_body *b = &w->buf;
		long n = w->code == 200 && b->p != NULL ?
				 cli_line_find(b->p + b->off, b->len - b->off) :
				 -1;
		uint64_t now;
		int wait_ms = CLI_POLL_MS;

		if (n >= 0) {
			const char *line = b->p + b->off;
			int r;
			b->off += (size_t)n + 1;
			r = cli_parse_body(line, (size_t)n, cli_watch_path, out, err, errlen);
			if (r < 0)
				return r;
			if (*out == NULL)
				continue; /* an empty line */
			if (!json_is_object(*out)) {
				json_decref(*out);
				*out = NULL;
				snprintf(err, errlen,
					 "weftd sent a notification that is not an object");
				return -EPROTO;
			}
			return 0;
		}
		if (w->done)
			return cli_watch_ended(w, err, errlen);
		now = clock_mono_ns();
		if (deadline_ns != 0) {
			uint64_t left;
			if (now >= deadline_ns) {
				snprintf(err, errlen, "timed out");
				return -ETIMEDOUT;
			}
			left = (deadline_ns - now) / CLOCK_NS_PER_MS + 1;
			if (left < (uint64_t)wait_ms)
				wait_ms = (int)left;
		}
		cli_watch_pump(w, wait_ms);
	}
}
