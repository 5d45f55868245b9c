/* SPDX-License-Identifier: ISC */
/*
 * filter: FilterRule JSON to a compiled matcher, packet parsing, and the
 * inbound/outbound decisions (see filter.h).
 *
 * Compiled form. Every source entry of every rule becomes one or more
 * prefixes (a range "a-b" splits into aligned blocks), so the sources of
 * all rules form a laminar family: two prefixes are nested or disjoint. The
 * family is kept as a sorted array of elementary intervals, each naming the
 * deepest prefix covering it, plus a parent link per prefix. A packet's
 * source finds its deepest prefix by binary search and walks up the parents
 * (at most one step per prefix length, in practice two or three). Each
 * prefix carries a table: the union of the rules that list it, shared by
 * every prefix with the same rule set. A table is built the same way over
 * destination prefixes; each destination holds its protocols and, per
 * protocol, merged disjoint port ranges. The cost of a check is therefore a
 * few binary searches whatever the number of rules.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/netaddr.h"
#include "filter/conntrack.h"
#include "filter/filter.h"
#include "json/jsonx.h"

/* 128-bit arithmetic on addresses (GCC and clang on 64-bit targets). */
__extension__ typedef unsigned __int128 u128;

#define F_V4 0
#define F_V6 1
#define F_PROTO_TCP 6
#define F_PROTO_UDP 17
#define F_PROTO_ICMP 1
#define F_PROTO_ICMP6 58
#define F_PROTO_SCTP 132

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

const char *const filter_verdict_names[FILTER_VERDICT_COUNT] = {
	[FILTER_ACCEPT_RULE] = "filter_accept_rule",
	[FILTER_ACCEPT_FLOW] = "filter_accept_flow",
	[FILTER_ACCEPT_ICMP_ERROR] = "filter_accept_icmp_error",
	[FILTER_ACCEPT_FRAGMENT] = "filter_accept_fragment",
	[FILTER_DROP_NO_RULE] = "filter_drop_no_rule",
	[FILTER_DROP_ICMP_ERROR] = "filter_drop_icmp_error",
	[FILTER_DROP_MALFORMED] = "filter_drop_malformed",
};

/* ---- compiled form ----------------------------------------------------------------------- */

/* A laminar family of prefixes of one address family, and its interval index. */
struct fnodes {
	size_t n;
	u128 *lo, *hi;
	int32_t *parent;
	uint32_t *val;	/* sources: table; destinations: first protocol entry */
	uint32_t *nval; /* destinations: protocol entries */
	size_t nint;
	u128 *start; /* elementary intervals, ascending */
	int32_t *deep;
};

struct fproto {
	uint8_t proto;
	bool all;	   /* one entry opens every port (what port-less protocols need) */
	uint32_t off, cnt; /* port ranges */
};

struct frange {
	uint16_t lo, hi;
};

struct ftable {
	struct fnodes dst[2];
	struct fproto *protos;
	struct frange *ranges;
};

struct filter {
	struct arena *a;
	json_t *rules;
	struct fnodes src[2];
	struct ftable *tables;
	size_t ntables;
	struct filter_info info;
};

/* ---- decoded rules (build time only) ------------------------------------------------------ */

struct bsrc {
	u128 lo, hi;
	uint32_t rule;
	uint8_t fam;
};

struct bdst {
	u128 lo, hi;
	uint16_t plo, phi;
	uint8_t fam;
};

struct bent { /* one (destination, protocol, ports) of a table being built */
	u128 lo, hi;
	uint16_t plo, phi;
	uint8_t fam, proto;
};

struct brule {
	uint8_t protos[32]; /* bitmap */
	size_t dst_off, ndst;
};

struct build {
	struct bsrc *src;
	size_t nsrc, capsrc;
	struct bdst *dst;
	size_t ndst, capdst;
	struct brule *rules;
	size_t nrules;
	struct filter_err *err;
};

static int bfail(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bfail(struct build *b, const char *fmt, ...)
{
	va_list ap;

	if (b->err != NULL) {
		va_start(ap, fmt);
		vsnprintf(b->err->msg, sizeof(b->err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *nv;
	size_t ncap;

	if (n < *cap)
		return 0;
	if (n >= FILTER_MAX_ENTRIES)
		return -E2BIG;
	ncap = *cap ? *cap * 2 : 64;
	if ((nv = realloc(*v, ncap * size)) == NULL)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static u128 addr_key(const struct netaddr *a)
{
	if (a->family == NETADDR_V4)
		return ((uint32_t)a->a[0] << 24) | ((uint32_t)a->a[1] << 16) |
		       ((uint32_t)a->a[2] << 8) | a->a[3];
	return ((u128)load_be64(a->a) << 64) | load_be64(a->a + 8);
}

static u128 fam_max(uint8_t fam)
{
	return fam == F_V4 ? (u128)0xffffffffu : ~(u128)0;
}

/* All-ones in the low `bits` bits (bits <= 128). */
static u128 low_mask(unsigned bits)
{
	return bits >= 128 ? ~(u128)0 : ((u128)1 << bits) - 1;
}

static unsigned ctz128(u128 v, unsigned width)
{
	uint64_t lo = (uint64_t)v, hi = (uint64_t)(v >> 64);

	if (v == 0)
		return width;
	if (lo != 0)
		return (unsigned)__builtin_ctzll(lo);
	return 64 + (unsigned)__builtin_ctzll(hi);
}

/* Calls fn for each aligned block (prefix) of [lo, hi], in order. */
static int split_range(struct build *b, uint8_t fam, u128 lo, u128 hi,
		       int (*fn)(struct build *, void *, uint8_t, u128, u128), void *arg)
{
	unsigned width = fam == F_V4 ? 32 : 128;
	int r;

	for (;;) {
		unsigned k = ctz128(lo, width);
		u128 last;

		if (k > width)
			k = width;
		while ((last = lo | low_mask(k)) > hi || last < lo)
			k--;
		if ((r = fn(b, arg, fam, lo, last)) < 0)
			return r;
		if (last == hi)
			return 0;
		lo = last + 1;
	}
}

/*
 * An address spec of a rule: "*", an address, a CIDR or a range "a-b". For
 * each block covered calls fn.
 */
static int parse_spec(struct build *b, const char *s, const char *path,
		      int (*fn)(struct build *, void *, uint8_t, u128, u128), void *arg)
{
	char tmp[NETADDR_STRLEN * 2 + 2];
	struct netprefix p;
	struct netaddr x, y;
	const char *dash;
	uint8_t fam;
	u128 lo, hi;
	int r;

	if (strcmp(s, "*") == 0) {
		if ((r = fn(b, arg, F_V4, 0, fam_max(F_V4))) < 0)
			return r;
		return fn(b, arg, F_V6, 0, fam_max(F_V6));
	}
	if ((dash = strchr(s, '-')) != NULL) {
		size_t l = (size_t)(dash - s);

		if (l >= NETADDR_STRLEN || strlen(dash + 1) >= NETADDR_STRLEN)
			return bfail(b, "%s: `%.60s': not an address range", path, s);
		memcpy(tmp, s, l);
		tmp[l] = '\0';
		if (netaddr_parse(tmp, &x) < 0 || netaddr_parse(dash + 1, &y) < 0 ||
		    x.family != y.family)
			return bfail(b, "%s: `%.60s': not an address range", path, s);
		if (netaddr_cmp(&x, &y) > 0)
			return bfail(b, "%s: `%.60s': the range ends before it starts", path, s);
		fam = x.family == NETADDR_V4 ? F_V4 : F_V6;
		return split_range(b, fam, addr_key(&x), addr_key(&y), fn, arg);
	}
	if (netprefix_parse_loose(s, &p) < 0)
		return bfail(b, "%s: `%.60s': not \"*\", an address, a prefix or a range", path, s);
	fam = p.addr.family == NETADDR_V4 ? F_V4 : F_V6;
	lo = addr_key(&p.addr);
	hi = lo | low_mask((fam == F_V4 ? 32u : 128u) - p.bits);
	return fn(b, arg, fam, lo, hi);
}

static int add_src_block(struct build *b, void *arg, uint8_t fam, u128 lo, u128 hi)
{
	int r;

	(void)arg;
	if ((r = grow((void **)&b->src, &b->capsrc, b->nsrc, sizeof(*b->src))) < 0)
		return r == -E2BIG ? bfail(b, "more than %d source entries", FILTER_MAX_ENTRIES) :
				     r;
	b->src[b->nsrc++] =
		(struct bsrc){ .lo = lo, .hi = hi, .rule = (uint32_t)(b->nrules - 1), .fam = fam };
	return 0;
}

struct dst_ports {
	uint16_t lo, hi;
};

static int add_dst_block(struct build *b, void *arg, uint8_t fam, u128 lo, u128 hi)
{
	const struct dst_ports *ports = arg;
	int r;

	if ((r = grow((void **)&b->dst, &b->capdst, b->ndst, sizeof(*b->dst))) < 0)
		return r == -E2BIG ?
			       bfail(b, "more than %d destination entries", FILTER_MAX_ENTRIES) :
			       r;
	b->dst[b->ndst++] =
		(struct bdst){ .lo = lo, .hi = hi, .plo = ports->lo, .phi = ports->hi, .fam = fam };
	return 0;
}

static int decode_port(struct build *b, const json_t *v, const char *path, uint16_t *out)
{
	uint64_t n;

	if (jsonx_uint(v, &n) < 0 || n > 65535)
		return bfail(b, "%s: want a port number 0-65535", path);
	*out = (uint16_t)n;
	return 0;
}

static int decode_dstports(struct build *b, const json_t *arr, const char *rpath)
{
	static const struct jsonx_field dfields[] = {
		{ "IP", JSONX_STRING, JSONX_F_REQUIRED, 128 },
		{ "Ports", JSONX_OBJECT, JSONX_F_REQUIRED, 0 },
	};
	static const struct jsonx_field pfields[] = {
		{ "First", JSONX_UINT, JSONX_F_REQUIRED, 0 },
		{ "Last", JSONX_UINT, JSONX_F_REQUIRED, 0 },
	};
	char path[JSONX_PATH_LEN], ppath[JSONX_PATH_LEN], fpath[JSONX_PATH_LEN];
	const json_t *d[2], *pv[2];
	struct jsonx_err jerr;
	struct dst_ports ports;
	json_t *e;
	size_t i;
	int r;

	json_array_foreach((json_t *)arr, i, e) {
		jsonx_path_index(path, rpath, i);
		if (jsonx_check(e, dfields, 2, d, path, &jerr) < 0)
			return bfail(b, "%s", jerr.msg);
		jsonx_path_field(ppath, path, "Ports");
		if (jsonx_check(d[1], pfields, 2, pv, ppath, &jerr) < 0)
			return bfail(b, "%s", jerr.msg);
		jsonx_path_field(fpath, ppath, "First");
		if ((r = decode_port(b, pv[0], fpath, &ports.lo)) < 0)
			return r;
		jsonx_path_field(fpath, ppath, "Last");
		if ((r = decode_port(b, pv[1], fpath, &ports.hi)) < 0)
			return r;
		if (ports.lo > ports.hi)
			return bfail(b, "%s: First %u is above Last %u", ppath, ports.lo, ports.hi);
		jsonx_path_field(fpath, path, "IP");
		if ((r = parse_spec(b, json_string_value(d[0]), fpath, add_dst_block, &ports)) < 0)
			return r;
	}
	return 0;
}

static void proto_set(struct brule *r, unsigned p)
{
	r->protos[p / 8] |= (uint8_t)(1u << (p % 8));
}

static bool proto_has(const struct brule *r, unsigned p)
{
	return (r->protos[p / 8] >> (p % 8)) & 1u;
}

static int decode_rule(struct build *b, const json_t *rule, size_t idx)
{
	enum { R_SRC, R_DST, R_PROTO, R_CAP, R_N };
	static const struct jsonx_field fields[R_N] = {
		[R_SRC] = { "SrcIPs", JSONX_ARRAY, JSONX_F_NULL, FILTER_MAX_ENTRIES },
		[R_DST] = { "DstPorts", JSONX_ARRAY, JSONX_F_NULL, FILTER_MAX_ENTRIES },
		[R_PROTO] = { "IPProto", JSONX_ARRAY, JSONX_F_NULL, 256 },
		[R_CAP] = { "CapGrant", JSONX_ARRAY, JSONX_F_NULL, FILTER_MAX_ENTRIES },
	};
	char path[JSONX_PATH_LEN], fpath[JSONX_PATH_LEN], epath[JSONX_PATH_LEN];
	const json_t *f[R_N];
	struct jsonx_err jerr;
	struct brule *br = &b->rules[b->nrules++];
	json_t *e;
	size_t i;
	int r;

	memset(br, 0, sizeof(*br));
	jsonx_path_index(path, "", idx);
	if (jsonx_check(rule, fields, R_N, f, path, &jerr) < 0)
		return bfail(b, "%s", jerr.msg);
	if (f[R_CAP] != NULL && f[R_DST] == NULL)
		return 1; /* a capability grant: no effect on packets */
	if (json_array_size(f[R_PROTO]) == 0) {
		proto_set(br, F_PROTO_TCP);
		proto_set(br, F_PROTO_UDP);
		proto_set(br, F_PROTO_ICMP);
		proto_set(br, F_PROTO_ICMP6);
	}
	jsonx_path_field(fpath, path, "IPProto");
	json_array_foreach((json_t *)f[R_PROTO], i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 0 ||
		    json_integer_value(e) > 255) {
			jsonx_path_index(epath, fpath, i);
			return bfail(b, "%s: want a protocol number 0-255", epath);
		}
		proto_set(br, (unsigned)json_integer_value(e));
	}
	jsonx_path_field(fpath, path, "SrcIPs");
	json_array_foreach((json_t *)f[R_SRC], i, e) {
		jsonx_path_index(epath, fpath, i);
		if (!json_is_string(e))
			return bfail(b, "%s: expected string", epath);
		if ((r = parse_spec(b, json_string_value(e), epath, add_src_block, NULL)) < 0)
			return r;
	}
	br->dst_off = b->ndst;
	jsonx_path_field(fpath, path, "DstPorts");
	if (f[R_DST] != NULL && (r = decode_dstports(b, f[R_DST], fpath)) < 0)
		return r;
	br->ndst = b->ndst - br->dst_off;
	return 0;
}

/* ---- building the index ------------------------------------------------------------------ */

/* Orders prefixes by start, outer before inner. */
static int cmp_range(u128 alo, u128 ahi, u128 blo, u128 bhi)
{
	if (alo != blo)
		return alo < blo ? -1 : 1;
	if (ahi != bhi)
		return ahi > bhi ? -1 : 1;
	return 0;
}

static int cmp_bsrc(const void *x, const void *y)
{
	const struct bsrc *a = x, *b = y;
	int c;

	if (a->fam != b->fam)
		return a->fam < b->fam ? -1 : 1;
	if ((c = cmp_range(a->lo, a->hi, b->lo, b->hi)) != 0)
		return c;
	return a->rule < b->rule ? -1 : a->rule > b->rule;
}

static int cmp_bent(const void *x, const void *y)
{
	const struct bent *a = x, *b = y;
	int c;

	if (a->fam != b->fam)
		return a->fam < b->fam ? -1 : 1;
	if ((c = cmp_range(a->lo, a->hi, b->lo, b->hi)) != 0)
		return c;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->plo != b->plo)
		return a->plo < b->plo ? -1 : 1;
	return a->phi < b->phi ? -1 : a->phi > b->phi;
}

static int cmp_u128(const void *x, const void *y)
{
	u128 a, b;

	memcpy(&a, x, sizeof(a));
	memcpy(&b, y, sizeof(b));
	return a < b ? -1 : a > b;
}

/*
 * Given x->n distinct prefixes in x->lo/hi, sorted by start (outer first),
 * fills parent links and the elementary intervals.
 */
static int index_build(struct arena *a, struct fnodes *x)
{
	int32_t *stack = NULL;
	u128 *bounds = NULL;
	size_t sp = 0, nb = 0, k = 0;
	int rc = -ENOMEM;

	x->parent = arena_calloc(a, x->n + 1, sizeof(*x->parent));
	x->start = arena_calloc(a, 2 * x->n + 1, sizeof(*x->start));
	x->deep = arena_calloc(a, 2 * x->n + 1, sizeof(*x->deep));
	stack = calloc(x->n + 1, sizeof(*stack));
	bounds = calloc(2 * x->n + 1, sizeof(*bounds));
	if (x->parent == NULL || x->start == NULL || x->deep == NULL || stack == NULL ||
	    bounds == NULL)
		goto out;
	for (size_t i = 0; i < x->n; i++) {
		while (sp > 0 && x->hi[stack[sp - 1]] < x->lo[i])
			sp--;
		x->parent[i] = sp > 0 ? stack[sp - 1] : -1;
		stack[sp++] = (int32_t)i;
		bounds[nb++] = x->lo[i];
		if (x->hi[i] != ~(u128)0)
			bounds[nb++] = x->hi[i] + 1;
	}
	qsort(bounds, nb, sizeof(*bounds), cmp_u128);
	sp = 0;
	x->nint = 0;
	for (size_t i = 0; i < nb; i++) {
		int32_t deep;

		if (i > 0 && bounds[i] == bounds[i - 1])
			continue;
		while (sp > 0 && x->hi[stack[sp - 1]] < bounds[i])
			sp--;
		while (k < x->n && x->lo[k] <= bounds[i])
			stack[sp++] = (int32_t)k++;
		deep = sp > 0 ? stack[sp - 1] : -1;
		if (x->nint > 0 && x->deep[x->nint - 1] == deep)
			continue;
		x->start[x->nint] = bounds[i];
		x->deep[x->nint++] = deep;
	}
	rc = 0;
out:
	free(stack);
	free(bounds);
	return rc;
}

/* The deepest prefix containing key, or -1: a branch-free search for the last start <= key. */
static int32_t index_find(const struct fnodes *x, u128 key)
{
	const u128 *base = x->start;
	size_t n = x->nint;

	if (n == 0 || key < base[0])
		return -1;
	while (n > 1) {
		size_t half = n / 2;

		base = base[half] <= key ? base + half : base;
		n -= half;
	}
	return x->deep[base - x->start];
}

static int nodes_alloc(struct arena *a, struct fnodes *x, size_t n, bool with_nval)
{
	x->n = n;
	x->lo = arena_calloc(a, n + 1, sizeof(*x->lo));
	x->hi = arena_calloc(a, n + 1, sizeof(*x->hi));
	x->val = arena_calloc(a, n + 1, sizeof(*x->val));
	x->nval = with_nval ? arena_calloc(a, n + 1, sizeof(*x->nval)) : NULL;
	if (x->lo == NULL || x->hi == NULL || x->val == NULL || (with_nval && x->nval == NULL))
		return -ENOMEM;
	return 0;
}

/* Builds one table from the rules `rules[0..n)`. */
static int table_build(struct filter *f, const struct build *b, const uint32_t *rules, size_t n,
		       struct ftable *t)
{
	struct bent *ent = NULL;
	size_t nent = 0, cap = 0, i, j;
	size_t ndst[2] = { 0, 0 }, nprotos = 0, nranges = 0;
	int rc = -ENOMEM;

	for (i = 0; i < n; i++) {
		const struct brule *r = &b->rules[rules[i]];

		for (j = 0; j < r->ndst; j++) {
			const struct bdst *d = &b->dst[r->dst_off + j];

			for (unsigned p = 0; p < 256; p++) {
				if (!proto_has(r, p))
					continue;
				if ((rc = grow((void **)&ent, &cap, nent, sizeof(*ent))) < 0)
					goto out;
				ent[nent++] = (struct bent){ .lo = d->lo,
							     .hi = d->hi,
							     .plo = d->plo,
							     .phi = d->phi,
							     .fam = d->fam,
							     .proto = (uint8_t)p };
			}
		}
	}
	if (nent > 0)
		qsort(ent, nent, sizeof(*ent), cmp_bent);
	/* Count distinct destinations per family, protocols, and (upper bound) ranges. */
	for (i = 0; i < nent; i++) {
		bool newdst = i == 0 || ent[i].fam != ent[i - 1].fam ||
			      ent[i].lo != ent[i - 1].lo || ent[i].hi != ent[i - 1].hi;

		ndst[ent[i].fam] += newdst;
		nprotos += newdst || ent[i].proto != ent[i - 1].proto;
	}
	nranges = nent;
	rc = -ENOMEM;
	if (nodes_alloc(f->a, &t->dst[F_V4], ndst[F_V4], true) < 0 ||
	    nodes_alloc(f->a, &t->dst[F_V6], ndst[F_V6], true) < 0 ||
	    (t->protos = arena_calloc(f->a, nprotos + 1, sizeof(*t->protos))) == NULL ||
	    (t->ranges = arena_calloc(f->a, nranges + 1, sizeof(*t->ranges))) == NULL)
		goto out;
	{
		size_t di[2] = { 0, 0 }, pi = 0, ri = 0;
		struct fnodes *x = NULL;

		for (i = 0; i < nent; i++) {
			const struct bent *e = &ent[i];
			bool newdst = i == 0 || e->fam != ent[i - 1].fam ||
				      e->lo != ent[i - 1].lo || e->hi != ent[i - 1].hi;
			struct fproto *pr;
			struct frange *last;

			if (newdst) {
				x = &t->dst[e->fam];
				x->lo[di[e->fam]] = e->lo;
				x->hi[di[e->fam]] = e->hi;
				x->val[di[e->fam]] = (uint32_t)pi;
				di[e->fam]++;
			}
			if (newdst || e->proto != ent[i - 1].proto) {
				t->protos[pi] =
					(struct fproto){ .proto = e->proto, .off = (uint32_t)ri };
				x->nval[di[e->fam] - 1]++;
				pi++;
			}
			/* Entries come sorted by start: merge overlapping and adjacent ranges. */
			pr = &t->protos[pi - 1];
			pr->all |= e->plo == 0 && e->phi == 65535;
			last = pr->cnt > 0 ? &t->ranges[ri - 1] : NULL;
			if (last != NULL && (uint32_t)e->plo <= (uint32_t)last->hi + 1) {
				if (e->phi > last->hi)
					last->hi = e->phi;
				continue;
			}
			t->ranges[ri++] = (struct frange){ .lo = e->plo, .hi = e->phi };
			pr->cnt++;
		}
		f->info.dst_prefixes += ndst[F_V4] + ndst[F_V6];
		f->info.port_ranges += ri;
	}
	if (index_build(f->a, &t->dst[F_V4]) < 0 || index_build(f->a, &t->dst[F_V6]) < 0)
		goto out;
	rc = 0;
out:
	free(ent);
	return rc;
}

/* A source prefix and its rules (a run of the sorted source list). */
struct snode {
	const struct bsrc *src; /* the run, sorted by rule */
	size_t first, n;	/* its place in b->src */
	uint32_t table;
};

static int cmp_snode_rules(const void *x, const void *y)
{
	const struct snode *a = *(const struct snode *const *)x,
			   *c = *(const struct snode *const *)y;

	for (size_t i = 0; i < a->n && i < c->n; i++)
		if (a->src[i].rule != c->src[i].rule)
			return a->src[i].rule < c->src[i].rule ? -1 : 1;
	return a->n < c->n ? -1 : a->n > c->n;
}

static bool snode_same_rules(const struct build *b, const struct snode *a, const struct snode *c)
{
	if (a->n != c->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (b->src[a->first + i].rule != b->src[c->first + i].rule)
			return false;
	return true;
}

static int compile(struct filter *f, struct build *b)
{
	struct snode *nodes = NULL, **order = NULL;
	uint32_t *rl = NULL;
	size_t nn = 0, i, w, fam_count[2] = { 0, 0 };
	int rc = -ENOMEM;

	/* Sources: sorted, duplicates (same prefix listed twice by one rule) dropped. */
	if (b->nsrc > 0)
		qsort(b->src, b->nsrc, sizeof(*b->src), cmp_bsrc);
	for (i = 0, w = 0; i < b->nsrc; i++) {
		if (w > 0 && cmp_bsrc(&b->src[w - 1], &b->src[i]) == 0)
			continue;
		b->src[w++] = b->src[i];
	}
	b->nsrc = w;
	if ((nodes = calloc(b->nsrc + 1, sizeof(*nodes))) == NULL ||
	    (order = calloc(b->nsrc + 1, sizeof(*order))) == NULL ||
	    (rl = calloc(b->nrules + 1, sizeof(*rl))) == NULL)
		goto out;
	for (i = 0; i < b->nsrc; i++) {
		if (i == 0 || b->src[i].fam != b->src[i - 1].fam ||
		    b->src[i].lo != b->src[i - 1].lo || b->src[i].hi != b->src[i - 1].hi) {
			nodes[nn++] = (struct snode){ .src = &b->src[i], .first = i };
			fam_count[b->src[i].fam]++;
		}
		nodes[nn - 1].n++;
	}
	/* One table per distinct rule set. */
	for (i = 0; i < nn; i++)
		order[i] = &nodes[i];
	qsort(order, nn, sizeof(*order), cmp_snode_rules);
	for (i = 0; i < nn; i++)
		f->ntables += i == 0 || !snode_same_rules(b, order[i - 1], order[i]);
	if ((f->tables = arena_calloc(f->a, f->ntables + 1, sizeof(*f->tables))) == NULL)
		goto out;
	for (i = 0, w = 0; i < nn; i++) {
		if (i > 0 && snode_same_rules(b, order[i - 1], order[i])) {
			order[i]->table = order[i - 1]->table;
			continue;
		}
		for (size_t k = 0; k < order[i]->n; k++)
			rl[k] = b->src[order[i]->first + k].rule;
		if ((rc = table_build(f, b, rl, order[i]->n, &f->tables[w])) < 0)
			goto out;
		order[i]->table = (uint32_t)w++;
	}
	rc = -ENOMEM;
	/* The source index per family: nodes are already in (family, start, outer first) order. */
	if (nodes_alloc(f->a, &f->src[F_V4], fam_count[F_V4], false) < 0 ||
	    nodes_alloc(f->a, &f->src[F_V6], fam_count[F_V6], false) < 0)
		goto out;
	{
		size_t fi[2] = { 0, 0 };

		for (i = 0; i < nn; i++) {
			const struct bsrc *s = &b->src[nodes[i].first];
			struct fnodes *x = &f->src[s->fam];

			x->lo[fi[s->fam]] = s->lo;
			x->hi[fi[s->fam]] = s->hi;
			x->val[fi[s->fam]++] = nodes[i].table;
		}
	}
	if (index_build(f->a, &f->src[F_V4]) < 0 || index_build(f->a, &f->src[F_V6]) < 0)
		goto out;
	f->info.src_prefixes = nn;
	f->info.tables = f->ntables;
	rc = 0;
out:
	free(nodes);
	free(order);
	free(rl);
	return rc;
}

int filter_new(const json_t *rules, struct filter **out, struct filter_err *err)
{
	struct build b = { .err = err };
	struct filter *f = NULL;
	json_t *e;
	size_t i;
	int rc;

	*out = NULL;
	if (err != NULL)
		err->msg[0] = '\0';
	if (!json_is_array(rules))
		return bfail(&b, "PacketFilter: expected an array");
	if (json_array_size(rules) > FILTER_MAX_RULES)
		return bfail(&b, "PacketFilter: more than %d rules", FILTER_MAX_RULES);
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (b.rules = calloc(json_array_size(rules) + 1, sizeof(*b.rules))) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = arena_new(16384, &f->a)) < 0)
		goto fail;
	json_array_foreach((json_t *)rules, i, e) {
		if ((rc = decode_rule(&b, e, i)) < 0)
			goto fail;
		f->info.cap_rules += rc == 1;
	}
	f->info.rules = json_array_size(rules);
	if ((rc = compile(f, &b)) < 0)
		goto fail;
	f->rules = json_incref((json_t *)rules);
	f->info.bytes = arena_used(f->a);
	free(b.src);
	free(b.dst);
	free(b.rules);
	*out = f;
	return 0;
fail:
	if (rc == -ENOMEM && err != NULL)
		snprintf(err->msg, sizeof(err->msg), "out of memory compiling the packet filter");
	free(b.src);
	free(b.dst);
	free(b.rules);
	filter_free(f);
	return rc;
}

void filter_free(struct filter *f)
{
	if (f == NULL)
		return;
	json_decref(f->rules);
	arena_free(f->a);
	free(f);
}

struct filter_info filter_get_info(const struct filter *f)
{
	return f->info;
}

const json_t *filter_rules(const struct filter *f)
{
	return f->rules;
}

/* ---- matching ---------------------------------------------------------------------------- */

static bool ports_ok(const struct ftable *t, const struct fproto *pr, unsigned fam, uint8_t proto,
		     uint16_t port)
{
	const struct frange *r = t->ranges + pr->off;
	size_t lo = 0, hi = pr->cnt;

	if (proto == (fam == F_V4 ? F_PROTO_ICMP6 : F_PROTO_ICMP))
		return pr->all; /* the other family's ICMP: a protocol without ports here */
	switch (proto) {
	case F_PROTO_TCP:
	case F_PROTO_UDP:
	case F_PROTO_SCTP:
		if (pr->cnt == 0 || port < r[0].lo)
			return false;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (r[mid].lo <= port)
				lo = mid;
			else
				hi = mid;
		}
		return port <= r[lo].hi;
	case F_PROTO_ICMP:
	case F_PROTO_ICMP6:
		return pr->cnt > 0;
	default:
		/* No ports to match on: only an entry opening all of them applies. */
		return pr->all;
	}
}

static bool table_match(const struct ftable *t, unsigned fam, u128 dst, uint8_t proto,
			uint16_t port)
{
	const struct fnodes *x = &t->dst[fam];

	for (int32_t m = index_find(x, dst); m >= 0; m = x->parent[m]) {
		const struct fproto *pr = t->protos + x->val[m];
		size_t lo = 0, hi = x->nval[m];

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (pr[mid].proto < proto)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < x->nval[m] && pr[lo].proto == proto &&
		    ports_ok(t, &pr[lo], fam, proto, port))
			return true;
	}
	return false;
}

bool filter_match(const struct filter *f, const struct filter_tuple *t)
{
	unsigned fam;
	const struct fnodes *x;
	u128 src, dst;

	if (t->src.family != t->dst.family ||
	    (t->src.family != NETADDR_V4 && t->src.family != NETADDR_V6))
		return false;
	fam = t->src.family == NETADDR_V4 ? F_V4 : F_V6;
	x = &f->src[fam];
	src = addr_key(&t->src);
	dst = addr_key(&t->dst);
	for (int32_t n = index_find(x, src); n >= 0; n = x->parent[n])
		if (table_match(&f->tables[x->val[n]], fam, dst, t->proto, t->dport))
			return true;
	return false;
}

/* ---- packets ----------------------------------------------------------------------------- */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Ports (or the echo identifier) of a transport header of `len` bytes, as far as present. */
static void l4_ports(uint8_t proto, bool v6, const uint8_t *l4, size_t len, struct filter_tuple *t)
{
	t->sport = t->dport = 0;
	if ((proto == F_PROTO_TCP || proto == F_PROTO_UDP || proto == F_PROTO_SCTP) && len >= 4) {
		t->sport = be16(l4);
		t->dport = be16(l4 + 2);
	} else if (proto == (v6 ? F_PROTO_ICMP6 : F_PROTO_ICMP) && len >= 6 &&
		   (l4[0] == (v6 ? 128 : 8) || l4[0] == (v6 ? 129 : 0))) {
		t->sport = be16(l4 + 4);
	}
}

/*
 * Walks IPv6 extension headers from `nh` at offset off in p[0..len): the
 * transport protocol and its offset, or a non-first fragment. -EINVAL when a
 * header does not fit.
 */
static int v6_walk(const uint8_t *p, size_t len, uint8_t *nh, size_t *off, bool *frag)
{
	*frag = false;
	for (int i = 0; i < 8; i++) {
		size_t hl;

		switch (*nh) {
		case 0:	 /* hop-by-hop */
		case 43: /* routing */
		case 60: /* destination options */
			if (*off + 2 > len)
				return -EINVAL;
			hl = ((size_t)p[*off + 1] + 1) * 8;
			break;
		case 51: /* authentication header */
			if (*off + 2 > len)
				return -EINVAL;
			hl = ((size_t)p[*off + 1] + 2) * 4;
			break;
		case 44: /* fragment */
			if (*off + 8 > len)
				return -EINVAL;
			hl = 8;
			if ((be16(p + *off + 2) >> 3) != 0)
				*frag = true;
			break;
		default:
			return 0;
		}
		if (*off + hl > len)
			return -EINVAL;
		*nh = p[*off];
		*off += hl;
		if (*frag)
			return 0;
	}
	return -EINVAL; /* more extension headers than any real packet carries */
}

/* The packet inside an ICMP error: as much of its header as the error quotes. */
static int parse_inner(const uint8_t *p, size_t len, bool v6, struct filter_tuple *t)
{
	size_t off;
	uint8_t nh;
	bool frag;

	if (!v6) {
		size_t ihl;

		if (len < 20 || (p[0] >> 4) != 4 || (ihl = (size_t)(p[0] & 15) * 4) < 20 ||
		    ihl > len)
			return -EINVAL;
		netaddr_from_v4(&t->src, p + 12);
		netaddr_from_v4(&t->dst, p + 16);
		t->proto = p[9];
		if ((be16(p + 6) & 0x1fff) == 0)
			l4_ports(t->proto, false, p + ihl, len - ihl, t);
		return 0;
	}
	if (len < 40 || (p[0] >> 4) != 6)
		return -EINVAL;
	netaddr_from_v6(&t->src, p + 8);
	netaddr_from_v6(&t->dst, p + 24);
	nh = p[6];
	off = 40;
	if (v6_walk(p, len, &nh, &off, &frag) < 0)
		return -EINVAL;
	t->proto = nh;
	if (!frag)
		l4_ports(nh, true, p + off, len - off, t);
	return 0;
}

static bool icmp_is_error(bool v6, uint8_t type)
{
	if (v6)
		return type >= 1 && type <= 4; /* unreachable, too big, time exceeded, parameter */
	return type == 3 || type == 11 || type == 12;
}

static int parse_l4(const uint8_t *l4, size_t len, bool v6, struct filter_pkt *out)
{
	uint8_t proto = out->t.proto;

	switch (proto) {
	case F_PROTO_TCP:
		if (len < 20 || (size_t)(l4[12] >> 4) * 4 < 20 || (size_t)(l4[12] >> 4) * 4 > len)
			return -EINVAL;
		out->tcp_flags = l4[13];
		break;
	case F_PROTO_UDP:
		if (len < 8)
			return -EINVAL;
		break;
	case F_PROTO_SCTP:
		if (len < 12)
			return -EINVAL;
		break;
	case F_PROTO_ICMP:
	case F_PROTO_ICMP6:
		if (proto != (v6 ? F_PROTO_ICMP6 : F_PROTO_ICMP))
			break; /* ICMPv4 in IPv6 or the reverse: some other protocol here */
		if (len < 8)
			return -EINVAL;
		out->icmp_type = l4[0];
		out->icmp_echo_req = l4[0] == (v6 ? 128 : 8);
		out->icmp_echo_rep = l4[0] == (v6 ? 129 : 0);
		if (icmp_is_error(v6, l4[0])) {
			out->kind = FILTER_PK_ICMP_ERROR;
			return parse_inner(l4 + 8, len - 8, v6, &out->inner);
		}
		break;
	default:
		break;
	}
	l4_ports(proto, v6, l4, len, &out->t);
	return 0;
}

int filter_pkt_parse(const uint8_t *p, size_t len, struct filter_pkt *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = FILTER_PK_NORMAL;
	if (len < 1)
		return -EINVAL;
	if ((p[0] >> 4) == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4, tot;

		if (len < 20 || ihl < 20 || ihl > len || (tot = be16(p + 2)) < ihl || tot > len)
			return -EINVAL;
		netaddr_from_v4(&out->t.src, p + 12);
		netaddr_from_v4(&out->t.dst, p + 16);
		out->t.proto = p[9];
		if ((be16(p + 6) & 0x1fff) != 0) {
			out->kind = FILTER_PK_FRAGMENT;
			return 0;
		}
		return parse_l4(p + ihl, tot - ihl, false, out);
	}
	if ((p[0] >> 4) == 6) {
		size_t off = 40, tot;
		uint8_t nh;
		bool frag;

		if (len < 40 || (tot = 40 + (size_t)be16(p + 4)) > len)
			return -EINVAL;
		netaddr_from_v6(&out->t.src, p + 8);
		netaddr_from_v6(&out->t.dst, p + 24);
		nh = p[6];
		if (v6_walk(p, tot, &nh, &off, &frag) < 0)
			return -EINVAL;
		out->t.proto = nh;
		if (frag) {
			out->kind = FILTER_PK_FRAGMENT;
			return 0;
		}
		return parse_l4(p + off, tot - off, true, out);
	}
	return -EINVAL;
}

/* ---- decisions --------------------------------------------------------------------------- */

static bool is_icmp(const struct filter_tuple *t)
{
	return (t->proto == F_PROTO_ICMP && t->src.family == NETADDR_V4) ||
	       (t->proto == F_PROTO_ICMP6 && t->src.family == NETADDR_V6);
}

/* The flow key of a tuple in its own direction. */
static void key_of(const struct filter_tuple *t, struct conntrack_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = t->src.family;
	k->proto = t->proto;
	k->sport = t->sport;
	k->dport = is_icmp(t) ? 0 : t->dport;
	memcpy(k->src, t->src.a, sizeof(k->src));
	memcpy(k->dst, t->dst.a, sizeof(k->dst));
}

/* The key of the flow a packet with tuple t answers (t reversed; echo keeps its id). */
static void key_of_reply(const struct filter_tuple *t, struct conntrack_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = t->src.family;
	k->proto = t->proto;
	if (is_icmp(t)) {
		k->sport = t->sport;
	} else {
		k->sport = t->dport;
		k->dport = t->sport;
	}
	memcpy(k->src, t->dst.a, sizeof(k->src));
	memcpy(k->dst, t->src.a, sizeof(k->dst));
}

static void reverse(const struct filter_tuple *t, struct filter_tuple *r)
{
	r->src = t->dst;
	r->dst = t->src;
	r->proto = t->proto;
	r->sport = t->dport;
	r->dport = t->sport;
}

enum filter_verdict filter_inbound(const struct filter *f, struct conntrack *ct,
				   const struct filter_pkt *p, uint64_t now)
{
	struct conntrack_key k;
	struct filter_tuple rev;
	bool closing;

	if (p->kind == FILTER_PK_FRAGMENT)
		return FILTER_ACCEPT_FRAGMENT;
	if (p->kind == FILTER_PK_ICMP_ERROR) {
		/* `inner` is a packet we sent: one of our flows, or our side of one a rule allows.
		 */
		key_of(&p->inner, &k);
		if (ct != NULL && conntrack_has(ct, &k, now))
			return FILTER_ACCEPT_ICMP_ERROR;
		reverse(&p->inner, &rev);
		if (f == NULL || filter_match(f, &rev))
			return FILTER_ACCEPT_ICMP_ERROR;
		return FILTER_DROP_ICMP_ERROR;
	}
	if (f == NULL || filter_match(f, &p->t))
		return FILTER_ACCEPT_RULE;
	if (is_icmp(&p->t) && !p->icmp_echo_rep)
		return FILTER_DROP_NO_RULE;
	key_of_reply(&p->t, &k);
	closing = p->t.proto == F_PROTO_TCP && (p->tcp_flags & (TCP_FIN | TCP_RST));
	if (ct != NULL && conntrack_reply(ct, &k, closing, now))
		return FILTER_ACCEPT_FLOW;
	return FILTER_DROP_NO_RULE;
}

void filter_outbound(const struct filter *f, struct conntrack *ct, const struct filter_pkt *p,
		     uint64_t now)
{
	struct conntrack_key k;
	struct filter_tuple rev;

	if (ct == NULL || p->kind != FILTER_PK_NORMAL)
		return;
	key_of(&p->t, &k);
	if (p->t.proto == F_PROTO_TCP) {
		/* Only a SYN opens: an answer to an inbound connection must not. */
		if ((p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			conntrack_open(ct, &k, now);
		else
			(void)conntrack_touch(ct, &k, (p->tcp_flags & (TCP_FIN | TCP_RST)) != 0,
					      now);
		return;
	}
	if (is_icmp(&p->t)) {
		if (p->icmp_echo_req)
			conntrack_open(ct, &k, now);
		return;
	}
	if (conntrack_touch(ct, &k, false, now))
		return;
	reverse(&p->t, &rev);
	if (f == NULL || filter_match(f, &rev))
		return; /* the peer may send this anyway: no flow needed */
	conntrack_open(ct, &k, now);
}
