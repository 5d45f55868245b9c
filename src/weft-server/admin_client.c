/* SPDX-License-Identifier: ISC */
/*
 * admin_client: how the admin commands reach a running server (see
 * admin_client.h): the local admin socket, or a remote server's /api/v1
 * with an API key, through libcurl (which, unlike libevent's client, speaks
 * HTTP over a unix socket and verifies TLS).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/mem.h"
#include "json/jsonx.h"
#include "weft-server/admin_client.h"
#include "weft-server/config.h"
#include "weft_config.h"

#define ADMIN_BODY_MAX (256u << 20)

struct admin_client {
	CURL *h;
	struct curl_slist *hdrs;
	char base[1024];
	char socket[4096]; /* "" for remote */
	long timeout_ms;
	bool insecure;
	char where[1100]; /* for messages */
};

struct admin_body {
	char *p;
	size_t len, cap;
	bool over;
};

static size_t admin_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct admin_body *b = arg;
	size_t n = size * nmemb;

	if (b->len + n + 1 > ADMIN_BODY_MAX) {
		b->over = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, ptr, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

int admin_client_new(const struct srv_config *cfg, struct admin_client **out, char *err,
		     size_t errlen)
{
	const char *addr = getenv("WEFT_CLI_ADDRESS"), *key = getenv("WEFT_CLI_API_KEY");
	struct admin_client *c;
	char auth[AUTHKEY_HDR_MAX];

	*out = NULL;
	if (addr == NULL || addr[0] == '\0')
		addr = cfg->cli_address;
	if (key == NULL || key[0] == '\0')
		key = cfg->cli_api_key;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->h = curl_easy_init()) == NULL) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->timeout_ms = (long)(cfg->cli_timeout_ns / 1000000ULL);
	if (c->timeout_ms <= 0)
		c->timeout_ms = 5000;
	c->insecure = cfg->cli_insecure;
	if (addr != NULL && addr[0] != '\0') {
		if (key == NULL || key[0] == '\0') {
			snprintf(err, errlen,
				 "remote server %s needs an API key: set cli.api_key or "
				 "WEFT_CLI_API_KEY (create one on the server with weft-server "
				 "apikeys create)",
				 addr);
			admin_client_free(c);
			return -EINVAL;
		}
		snprintf(c->base, sizeof(c->base), "%s%s",
			 strstr(addr, "://") ? "" : "https://", addr);
		snprintf(c->where, sizeof(c->where), "%s", c->base);
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
		c->hdrs = curl_slist_append(c->hdrs, auth);
		mem_wipe(auth, sizeof(auth));
	} else {
		snprintf(c->socket, sizeof(c->socket), "%s", cfg->unix_socket);
		snprintf(c->base, sizeof(c->base), "http://weft-server");
		snprintf(c->where, sizeof(c->where), "admin socket %s", cfg->unix_socket);
	}
	c->hdrs = curl_slist_append(c->hdrs, "Content-Type: application/json");
	*out = c;
	return 0;
}

void admin_client_free(struct admin_client *c)
{
	if (c == NULL)
		return;
	curl_slist_free_all(c->hdrs); /* holds the API key: libcurl frees, we cannot wipe */
	curl_easy_cleanup(c->h);
	free(c);
}

/* The server's message from an error body ({"message": ...}), or the status. */
static void admin_error_text(const struct admin_body *b, long code, char *err, size_t errlen)
{
	struct jsonx_err jerr;
	json_t *j = NULL;
	const char *m = NULL;

	if (b->len > 0 && jsonx_load(b->p, b->len, &j, &jerr) == 0)
		m = json_string_value(json_object_get(j, "message"));
	if (m != NULL)
		snprintf(err, errlen, "%s", m);
	else
		snprintf(err, errlen, "the server answered %ld", code);
	json_decref(j);
}

int admin_call(struct admin_client *c, const char *method, const char *path, const json_t *body,
	       json_t **out, char *err, size_t errlen)
{
	struct admin_body b = { 0 };
	struct jsonx_err jerr;
	char url[2048], *text = NULL;
	long code = 0;
	CURLcode cr;
	CURL *h = c->h;
	int r;

	*out = NULL;
	curl_easy_reset(h);
	snprintf(url, sizeof(url), "%s%s", c->base, path);
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (c->socket[0] != '\0')
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "weft-server/" WEFT_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, admin_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text ? text : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(text ? strlen(text) : 0));
	}
	cr = curl_easy_perform(h);
	free(text);
	if (cr != CURLE_OK) {
		if (c->socket[0] != '\0' && (cr == CURLE_COULDNT_CONNECT))
			snprintf(err, errlen,
				 "cannot reach weft-server on its admin socket %s: is `weft-server "
				 "serve` running (with the same --config)?",
				 c->socket);
		else
			snprintf(err, errlen, "cannot reach weft-server at %s: %s", c->where,
				 b.over ? "answer too large" : curl_easy_strerror(cr));
		free(b.p);
		return -ECONNREFUSED;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code >= 300) {
		admin_error_text(&b, code, err, errlen);
		free(b.p);
		return code == 404 ? -ENOENT : code == 401 || code == 403 ? -EACCES :
		       code == 409 ? -EEXIST : -EINVAL;
	}
	r = 0;
	if (b.len > 0 && jsonx_load(b.p, b.len, out, &jerr) < 0) {
		snprintf(err, errlen, "the server's answer is not JSON: %s", jerr.msg);
		r = -EPROTO;
	}
	free(b.p);
	return r;
}
