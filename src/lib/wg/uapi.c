/* SPDX-License-Identifier: ISC */
/*
 * uapi: wg(8)'s text protocol. The parser is a small state machine fed one
 * line at a time and a table of keys (section, repeatability, flag, value
 * parser); values are checked strictly and errors carry the errno values
 * wireguard-go answers with. The printer sizes its buffer up front so that
 * no realloc leaves key material behind.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/numparse.h"
#include "wg/uapi.h"

enum uapi_state {
	UAPI_S_OP,     /* expecting get=1 or set=1 */
	UAPI_S_GET,    /* after get=1: expecting the blank line */
	UAPI_S_DEVICE, /* set=1 before the first public_key */
	UAPI_S_PEER,   /* set=1 inside a peer section */
	UAPI_S_FAILED,
};

struct uapi_parser {
	enum uapi_state state;
	struct uapi_device_config *cfg; /* the set request being built */
	size_t peers_cap;		/* of cfg->peers */
	size_t aips_cap;		/* of the last peer's allowed_ips */
	size_t n_aips;			/* allowed_ip lines in this request */
	uint32_t seen;			/* uapi_keys bits given in this section */
	unsigned lineno;
	int err;
	const char *err_key; /* a uapi_keys name, or NULL */
	const char *err_why;
	char errbuf[128];
};

enum uapi_section {
	UAPI_SEC_DEVICE,
	UAPI_SEC_PEER,
	UAPI_SEC_ANY, /* public_key: opens a peer section from either */
};

struct uapi_key {
	const char *name;
	enum uapi_section section;
	bool repeatable;
	uint32_t flag; /* set in the section's flags once the value parsed */
	int (*parse)(struct uapi_parser *p, const char *value);
};

static int uapi_fail(struct uapi_parser *p, int err, const char *why)
{
	p->err_why = why;
	return err;
}

static struct uapi_peer_config *uapi_peer(struct uapi_parser *p)
{
	return &p->cfg->peers[p->cfg->n_peers - 1];
}

/* mem_grow for arrays that hold keys: the old block is wiped instead of realloc'ed. */
static int uapi_grow_wiped(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 8;
	void *n;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2; /* need <= UAPI_MAX_PEERS: no overflow */
	n = mem_calloc(ncap, size);
	if (n == NULL)
		return -ENOMEM;
	if (*arr != NULL) {
		memcpy(n, *arr, *cap * size);
		mem_wipe(*arr, *cap * size);
		free(*arr);
	}
	*arr = n;
	*cap = ncap;
	return 0;
}

/* ---- values ---- */

static int uapi_key_hex(struct uapi_parser *p, uint8_t k[static KEY_LEN], const char *v)
{
	return keys_hex_decode(k, v) == 0 ? 0 : uapi_fail(p, -EINVAL, "not 64 hex digits");
}

static int uapi_u16(struct uapi_parser *p, uint16_t *out, const char *v)
{
	uint32_t n;

	if (numparse_u32(v, 0, UINT16_MAX, &n) < 0)
		return uapi_fail(p, -EINVAL, "not a number in 0-65535");
	*out = (uint16_t)n;
	return 0;
}

static int uapi_true(struct uapi_parser *p, const char *v)
{
	return strcmp(v, "true") == 0 ? 0 : uapi_fail(p, -EINVAL, "the only value is true");
}

/* wireguard-go clamps a non-zero key as it sets it, and get=1 shows it so. */
static int uapi_private_key(struct uapi_parser *p, const char *v)
{
	uint8_t *k = p->cfg->private_key.b;

	if (uapi_key_hex(p, k, v) < 0)
		return -EINVAL;
	if (!keys_is_zero(k)) {
		k[0] &= 248;
		k[31] = (uint8_t)((k[31] & 127) | 64);
	}
	return 0;
}

static int uapi_listen_port(struct uapi_parser *p, const char *v)
{
	return uapi_u16(p, &p->cfg->listen_port, v);
}

static int uapi_fwmark(struct uapi_parser *p, const char *v)
{
	if (numparse_u32(v, 0, UINT32_MAX, &p->cfg->fwmark) < 0)
		return uapi_fail(p, -EINVAL, "not a number in 0-4294967295");
	return 0;
}

static int uapi_public_key(struct uapi_parser *p, const char *v)
{
	struct uapi_device_config *c = p->cfg;

	if (c->n_peers == UAPI_MAX_PEERS)
		return uapi_fail(p, -E2BIG, "too many peers in one request");
	if (uapi_grow_wiped((void **)&c->peers, &p->peers_cap, c->n_peers + 1, sizeof(*c->peers)) <
	    0)
		return uapi_fail(p, -ENOMEM, "out of memory");
	if (uapi_key_hex(p, c->peers[c->n_peers].public_key.b, v) < 0)
		return -EINVAL;
	c->n_peers++;
	p->state = UAPI_S_PEER;
	p->seen = 0;
	p->aips_cap = 0;
	return 0;
}

static int uapi_preshared_key(struct uapi_parser *p, const char *v)
{
	return uapi_key_hex(p, uapi_peer(p)->preshared_key.b, v);
}

static int uapi_endpoint(struct uapi_parser *p, const char *v)
{
	if (netendpoint_parse(v, &uapi_peer(p)->endpoint) < 0)
		return uapi_fail(p, -EINVAL, "not ip:port or [ipv6]:port");
	return 0;
}

static int uapi_keepalive(struct uapi_parser *p, const char *v)
{
	return uapi_u16(p, &uapi_peer(p)->persistent_keepalive_interval, v);
}

/* wg(8) sends host bits as the user wrote them; like the kernel, mask them. */
static int uapi_allowed_ip(struct uapi_parser *p, const char *v)
{
	struct uapi_peer_config *peer = uapi_peer(p);
	struct netprefix pfx;

	if (strchr(v, '/') == NULL || netprefix_parse_loose(v, &pfx) < 0)
		return uapi_fail(p, -EINVAL, "not an address/bits prefix");
	if (p->n_aips == UAPI_MAX_ALLOWED_IPS)
		return uapi_fail(p, -E2BIG, "too many allowed_ip lines in one request");
	if (mem_grow((void **)&peer->allowed_ips, &p->aips_cap, peer->n_allowed_ips + 1,
		     sizeof(pfx)) < 0)
		return uapi_fail(p, -ENOMEM, "out of memory");
	peer->allowed_ips[peer->n_allowed_ips++] = pfx;
	p->n_aips++;
	return 0;
}

static int uapi_protocol_version(struct uapi_parser *p, const char *v)
{
	return strcmp(v, "1") == 0 ? 0 : uapi_fail(p, -EINVAL, "the only version is 1");
}

/* The keys of a set request. At most 32 (the bits of uapi_parser.seen). */
static const struct uapi_key uapi_keys[] = {
	{ "private_key", UAPI_SEC_DEVICE, false, UAPI_DEVICE_F_PRIVATE_KEY, uapi_private_key },
	{ "listen_port", UAPI_SEC_DEVICE, false, UAPI_DEVICE_F_LISTEN_PORT, uapi_listen_port },
	{ "fwmark", UAPI_SEC_DEVICE, false, UAPI_DEVICE_F_FWMARK, uapi_fwmark },
	{ "replace_peers", UAPI_SEC_DEVICE, false, UAPI_DEVICE_F_REPLACE_PEERS, uapi_true },
	{ "public_key", UAPI_SEC_ANY, true, 0, uapi_public_key },
	{ "remove", UAPI_SEC_PEER, false, UAPI_PEER_F_REMOVE, uapi_true },
	{ "update_only", UAPI_SEC_PEER, false, UAPI_PEER_F_UPDATE_ONLY, uapi_true },
	{ "preshared_key", UAPI_SEC_PEER, false, UAPI_PEER_F_PRESHARED_KEY, uapi_preshared_key },
	{ "endpoint", UAPI_SEC_PEER, false, UAPI_PEER_F_ENDPOINT, uapi_endpoint },
	{ "persistent_keepalive_interval", UAPI_SEC_PEER, false, UAPI_PEER_F_KEEPALIVE,
	  uapi_keepalive },
	{ "replace_allowed_ips", UAPI_SEC_PEER, false, UAPI_PEER_F_REPLACE_ALLOWED_IPS, uapi_true },
	{ "allowed_ip", UAPI_SEC_PEER, true, 0, uapi_allowed_ip },
	{ "protocol_version", UAPI_SEC_PEER, false, 0, uapi_protocol_version },
};

#define UAPI_NKEYS (sizeof(uapi_keys) / sizeof(uapi_keys[0]))
_Static_assert(UAPI_NKEYS <= 32, "uapi_parser.seen has 32 bits");

/* ---- the state machine ---- */

static int uapi_dispatch(struct uapi_parser *p, const char *name, const char *value)
{
	const struct uapi_key *k = NULL;
	uint32_t bit;
	int r;

	for (size_t i = 0; i < UAPI_NKEYS && k == NULL; i++) {
		if (strcmp(name, uapi_keys[i].name) == 0)
			k = &uapi_keys[i];
	}
	if (k == NULL)
		return uapi_fail(p, -EINVAL, "unknown key");
	p->err_key = k->name;
	if (k->section == UAPI_SEC_PEER && p->state != UAPI_S_PEER)
		return uapi_fail(p, -EINVAL, "peer key before the first public_key");
	if (k->section == UAPI_SEC_DEVICE && p->state != UAPI_S_DEVICE)
		return uapi_fail(p, -EINVAL, "device key after a public_key");
	bit = 1U << (k - uapi_keys);
	if (!k->repeatable && (p->seen & bit) != 0)
		return uapi_fail(p, -EINVAL, "given twice in one section");
	r = k->parse(p, value);
	if (r < 0)
		return r;
	p->seen |= bit;
	if (p->state == UAPI_S_PEER)
		uapi_peer(p)->flags |= k->flag;
	else
		p->cfg->flags |= k->flag;
	return 0;
}

/* Hands the finished request over and starts afresh. */
static int uapi_finish(struct uapi_parser *p, enum uapi_op op, struct uapi_request *req)
{
	req->op = op;
	req->config = p->cfg;
	p->cfg = NULL;
	p->state = UAPI_S_OP;
	p->peers_cap = p->aips_cap = p->n_aips = 0;
	p->seen = 0;
	p->lineno = 0;
	return UAPI_DONE;
}

/* One NUL-terminated line, which may be modified. */
static int uapi_parser_text(struct uapi_parser *p, char *s, struct uapi_request *req)
{
	char *eq;

	switch (p->state) {
	case UAPI_S_OP:
		if (strcmp(s, "get=1") == 0) {
			p->state = UAPI_S_GET;
			return UAPI_MORE;
		}
		if (strcmp(s, "set=1") != 0)
			return uapi_fail(p, -EPROTO, "expected get=1 or set=1");
		p->cfg = mem_calloc(1, sizeof(*p->cfg));
		if (p->cfg == NULL)
			return uapi_fail(p, -ENOMEM, "out of memory");
		p->state = UAPI_S_DEVICE;
		return UAPI_MORE;
	case UAPI_S_GET:
		if (*s != '\0')
			return uapi_fail(p, -EINVAL, "get=1 takes no keys");
		return uapi_finish(p, UAPI_OP_GET, req);
	case UAPI_S_DEVICE:
	case UAPI_S_PEER:
		if (*s == '\0')
			return uapi_finish(p, UAPI_OP_SET, req);
		eq = strchr(s, '=');
		if (eq == NULL)
			return uapi_fail(p, -EPROTO, "expected key=value");
		*eq = '\0';
		return uapi_dispatch(p, s, eq + 1);
	case UAPI_S_FAILED:
		break;
	}
	return p->err;
}

int uapi_parser_line(struct uapi_parser *p, const char *line, size_t len, struct uapi_request *req)
{
	char s[UAPI_LINE_MAX + 1];
	int r;

	if (p->state == UAPI_S_FAILED)
		return p->err;
	p->lineno++;
	p->err_key = NULL;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > UAPI_LINE_MAX) {
		r = uapi_fail(p, -EIO, "line too long");
	} else if (len > 0 && memchr(line, '\0', len) != NULL) {
		r = uapi_fail(p, -EINVAL, "NUL byte in line");
	} else {
		if (len > 0)
			memcpy(s, line, len);
		s[len] = '\0';
		r = uapi_parser_text(p, s, req);
		mem_wipe(s, len + 1);
	}
	if (r < 0) {
		p->state = UAPI_S_FAILED;
		p->err = r;
		snprintf(p->errbuf, sizeof(p->errbuf), "line %u: %s%s%s", p->lineno,
			 p->err_key != NULL ? p->err_key : "", p->err_key != NULL ? ": " : "",
			 p->err_why);
		uapi_device_config_free(p->cfg);
		p->cfg = NULL;
	}
	return r;
}

const char *uapi_parser_error(const struct uapi_parser *p)
{
	return p->state == UAPI_S_FAILED ? p->errbuf : "no error";
}

int uapi_parser_new(struct uapi_parser **out)
{
	*out = mem_calloc(1, sizeof(**out));
	return *out != NULL ? 0 : -ENOMEM;
}

void uapi_parser_free(struct uapi_parser *p)
{
	if (p == NULL)
		return;
	uapi_device_config_free(p->cfg);
	free(p);
}

int uapi_request_parse(const char *buf, size_t len, struct uapi_request *req, size_t *consumed)
{
	struct uapi_parser *p;
	size_t off = 0;
	int r = uapi_parser_new(&p);

	if (r < 0)
		return r;
	r = UAPI_MORE;
	while (r == UAPI_MORE) {
		const char *nl = off < len ? memchr(buf + off, '\n', len - off) : NULL;
		if (nl == NULL) {
			/* A partial line longer than any valid one will never end well. */
			r = len - off > UAPI_LINE_MAX + 1 ? -EIO : -EAGAIN;
			break;
		}
		r = uapi_parser_line(p, buf + off, (size_t)(nl - (buf + off)), req);
		off = (size_t)(nl - buf) + 1;
	}
	if (r == UAPI_DONE) {
		*consumed = off;
		r = 0;
	}
	uapi_parser_free(p);
	return r;
}

void uapi_device_config_free(struct uapi_device_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_peers; i++)
		free(c->peers[i].allowed_ips);
	mem_wipe(c->peers, c->n_peers * sizeof(*c->peers));
	free(c->peers);
	mem_wipe(c, sizeof(*c));
	free(c);
}

/* ---- the get=1 answer ---- */

/* Upper bounds of the text per part; the buffer is sized from them once. */
#define UAPI_DEVICE_TEXT_MAX 128
#define UAPI_PEER_TEXT_MAX 512
#define UAPI_AIP_TEXT_MAX 64
#define UAPI_U64_DIGITS 20
_Static_assert(sizeof("private_key=\n") + KEY_HEX_LEN + 2 * sizeof("listen_port=4294967295\n") <=
		       UAPI_DEVICE_TEXT_MAX,
	       "device text bound");
_Static_assert(sizeof("public_key=\npreshared_key=\nprotocol_version=1\nendpoint=\n") +
			       2 * KEY_HEX_LEN + NETENDPOINT_STRLEN +
			       sizeof("last_handshake_time_sec=\nlast_handshake_time_nsec=\n") +
			       UAPI_U64_DIGITS + 10 + sizeof("tx_bytes=\nrx_bytes=\n") +
			       2 * UAPI_U64_DIGITS +
			       sizeof("persistent_keepalive_interval=65535\n") <=
		       UAPI_PEER_TEXT_MAX,
	       "peer text bound");
_Static_assert(sizeof("allowed_ip=\n") + NETPREFIX_STRLEN <= UAPI_AIP_TEXT_MAX,
	       "allowed_ip text bound");

static void uapi_print_key(struct buf_writer *w, const char *name, const uint8_t k[static KEY_LEN])
{
	char hex[KEY_HEX_LEN];

	keys_hex_encode(hex, k);
	buf_printf(w, "%s=%s\n", name, hex);
	mem_wipe(hex, sizeof(hex));
}

static void uapi_print_device(struct buf_writer *w, const struct uapi_device_info *d)
{
	if (d->private_key != NULL && !keys_is_zero(d->private_key->b))
		uapi_print_key(w, "private_key", d->private_key->b);
	if (d->listen_port != 0)
		buf_printf(w, "listen_port=%u\n", d->listen_port);
	if (d->fwmark != 0)
		buf_printf(w, "fwmark=%u\n", d->fwmark);
}

static void uapi_print_peer(struct buf_writer *w, const struct uapi_peer_info *peer)
{
	static const struct wg_psk nopsk;
	char text[NETENDPOINT_STRLEN];

	uapi_print_key(w, "public_key", peer->public_key.b);
	uapi_print_key(w, "preshared_key",
		       (peer->preshared_key != NULL ? peer->preshared_key : &nopsk)->b);
	buf_printf(w, "protocol_version=1\n");
	if (peer->endpoint.addr.family != NETADDR_NONE)
		buf_printf(w, "endpoint=%s\n",
			   netendpoint_format(&peer->endpoint, text, sizeof(text)));
	buf_printf(w, "last_handshake_time_sec=%llu\nlast_handshake_time_nsec=%u\n",
		   (unsigned long long)peer->last_handshake_sec, peer->last_handshake_nsec);
	buf_printf(w, "tx_bytes=%llu\nrx_bytes=%llu\n", (unsigned long long)peer->tx_bytes,
		   (unsigned long long)peer->rx_bytes);
	buf_printf(w, "persistent_keepalive_interval=%u\n", peer->persistent_keepalive_interval);
	for (size_t i = 0; i < peer->n_allowed_ips; i++)
		buf_printf(w, "allowed_ip=%s\n",
			   netprefix_format(&peer->allowed_ips[i], text, sizeof(text)));
}

static int uapi_get_size(const struct uapi_device_info *d, size_t *size)
{
	size_t n = UAPI_DEVICE_TEXT_MAX + UAPI_ERRNO_TEXT_MAX, part;

	for (size_t i = 0; i < d->n_peers; i++) {
		if (__builtin_mul_overflow(d->peers[i].n_allowed_ips, UAPI_AIP_TEXT_MAX, &part) ||
		    __builtin_add_overflow(part, UAPI_PEER_TEXT_MAX, &part) ||
		    __builtin_add_overflow(n, part, &n))
			return -EOVERFLOW;
	}
	*size = n;
	return 0;
}

int uapi_get_format(const struct uapi_device_info *d, char **out, size_t *len)
{
	struct buf_writer w;
	size_t cap;
	char *text;

	*out = NULL;
	if (uapi_get_size(d, &cap) < 0)
		return -EOVERFLOW;
	text = mem_calloc(1, cap);
	if (text == NULL)
		return -ENOMEM;
	buf_writer_fixed(&w, text, cap);
	uapi_print_device(&w, d);
	for (size_t i = 0; i < d->n_peers; i++)
		uapi_print_peer(&w, &d->peers[i]);
	buf_printf(&w, "errno=0\n\n");
	if (w.err) { /* the bounds above are wrong */
		uapi_text_free(text, cap);
		return -EOVERFLOW;
	}
	*out = text;
	*len = w.len;
	return 0;
}

void uapi_text_free(char *text, size_t len)
{
	if (text == NULL)
		return;
	mem_wipe(text, len);
	free(text);
}

size_t uapi_errno_format(char out[static UAPI_ERRNO_TEXT_MAX], int err)
{
	int n = snprintf(out, UAPI_ERRNO_TEXT_MAX, "errno=%d\n\n", err);

	return n > 0 ? (size_t)n : 0;
}
