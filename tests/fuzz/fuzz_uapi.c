/* SPDX-License-Identifier: ISC */
/*
 * fuzz_uapi: hostile bytes on the UAPI socket. Parses requests one after
 * another both from the whole buffer and line by line (the two must agree),
 * and renders every accepted set request as a get=1 answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "wg/uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Shows the parsed change the way the daemon would and checks the text's shape. */
static void render(const struct uapi_device_config *c)
{
	struct uapi_peer_info *peers = mem_calloc(c->n_peers + 1, sizeof(*peers));
	struct uapi_device_info d = { .private_key = &c->private_key,
				      .listen_port = c->listen_port,
				      .fwmark = c->fwmark,
				      .n_peers = c->n_peers,
				      .peers = peers };
	size_t len, keys = 0;
	char *text;

	if (peers == NULL)
		abort();
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct uapi_peer_config *p = &c->peers[i];
		peers[i].public_key = p->public_key;
		peers[i].preshared_key = &p->preshared_key;
		peers[i].endpoint = p->endpoint;
		peers[i].persistent_keepalive_interval = p->persistent_keepalive_interval;
		peers[i].n_allowed_ips = p->n_allowed_ips;
		peers[i].allowed_ips = p->allowed_ips;
	}
	if (uapi_get_format(&d, &text, &len) != 0)
		abort();
	if (strlen(text) != len || len < 9 || strcmp(text + len - 9, "errno=0\n\n") != 0)
		abort();
	for (const char *s = text; (s = strstr(s, "public_key=")) != NULL; s++)
		keys++;
	if (keys != c->n_peers)
		abort();
	uapi_text_free(text, len);
	free(peers);
}

/* Whole-buffer parsing: how many requests parse before the first error or the end. */
static size_t parse_buffer(const char *buf, size_t size)
{
	struct uapi_request req;
	size_t off = 0, consumed, n = 0;

	while (uapi_request_parse(buf + off, size - off, &req, &consumed) == 0) {
		if (req.op == UAPI_OP_SET)
			render(req.config);
		uapi_device_config_free(req.config);
		off += consumed;
		n++;
	}
	return n;
}

static size_t parse_lines(const char *buf, size_t size)
{
	struct uapi_parser *p;
	struct uapi_request req;
	size_t off = 0, n = 0;
	const char *nl;

	if (uapi_parser_new(&p) != 0)
		abort();
	while (off < size && (nl = memchr(buf + off, '\n', size - off)) != NULL) {
		int r = uapi_parser_line(p, buf + off, (size_t)(nl - buf - off), &req);
		off = (size_t)(nl - buf) + 1;
		if (r < 0)
			break;
		if (r == UAPI_DONE) {
			uapi_device_config_free(req.config);
			n++;
		}
	}
	uapi_parser_free(p);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;

	if (parse_buffer(buf, size) != parse_lines(buf, size))
		abort();
	return 0;
}
