/* SPDX-License-Identifier: ISC */
/* prefs: profile preferences and masked-prefs patches (see prefs.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipn/prefs.h"

enum ipn_field_kind {
	IPN_BOOL,
	IPN_STRING,
	IPN_TAGS,
	IPN_ROUTES,
};

/* The declarative table: JSON name, kind, where it lives, and its string bound. */
struct ipn_field {
	const char *name;
	enum ipn_field_kind kind;
	size_t off;
	size_t cap;
	bool (*valid)(const char *s, char *err, size_t errlen);
};

#define IPN_F(name, kind, member, valid)                                                           \
	{ name, kind, offsetof(struct ipn_prefs, member),                                        \
	  sizeof(((struct ipn_prefs *)0)->member), valid }

static bool ipn_valid_user(const char *s, char *err, size_t errlen);

static const struct ipn_field ipn_fields[] = {
	IPN_F("ControlURL", IPN_STRING, control_url, ipn_valid_control_url),
	IPN_F("RouteAll", IPN_BOOL, route_all, NULL),
	IPN_F("CorpDNS", IPN_BOOL, corp_dns, NULL),
	IPN_F("WantRunning", IPN_BOOL, want_running, NULL),
	IPN_F("LoggedOut", IPN_BOOL, logged_out, NULL),
	IPN_F("ShieldsUp", IPN_BOOL, shields_up, NULL),
	IPN_F("RunSSH", IPN_BOOL, run_ssh, NULL),
	IPN_F("Hostname", IPN_STRING, hostname, ipn_valid_hostname),
	IPN_F("OperatorUser", IPN_STRING, operator_user, ipn_valid_user),
	IPN_F("ProfileName", IPN_STRING, profile_name, NULL),
	IPN_F("AdvertiseTags", IPN_TAGS, tags, NULL),
	IPN_F("AdvertiseRoutes", IPN_ROUTES, routes, NULL),
};
#define IPN_NFIELDS (sizeof(ipn_fields) / sizeof(ipn_fields[0]))

void ipn_prefs_init(struct ipn_prefs *p)
{
	memset(p, 0, sizeof(*p));
	p->corp_dns = true;
}

void ipn_prefs_free(struct ipn_prefs *p)
{
	free(p->tags);
	free(p->routes);
	p->tags = NULL;
	p->routes = NULL;
	p->ntags = p->nroutes = 0;
}

int ipn_prefs_copy(struct ipn_prefs *dst, const struct ipn_prefs *src)
{
	*dst = *src;
	dst->tags = NULL;
	dst->routes = NULL;
	if (src->ntags > 0) {
		dst->tags = malloc(src->ntags * sizeof(*dst->tags));
		if (dst->tags == NULL)
			goto fail;
		memcpy(dst->tags, src->tags, src->ntags * sizeof(*dst->tags));
	}
	if (src->nroutes > 0) {
		dst->routes = malloc(src->nroutes * sizeof(*dst->routes));
		if (dst->routes == NULL)
			goto fail;
		memcpy(dst->routes, src->routes, src->nroutes * sizeof(*dst->routes));
	}
	return 0;
fail:
	ipn_prefs_free(dst);
	return -ENOMEM;
}

bool ipn_prefs_equal(const struct ipn_prefs *a, const struct ipn_prefs *b)
{
	if (strcmp(a->control_url, b->control_url) != 0 || a->route_all != b->route_all ||
	    a->corp_dns != b->corp_dns || a->want_running != b->want_running ||
	    a->logged_out != b->logged_out || a->shields_up != b->shields_up ||
	    a->run_ssh != b->run_ssh || strcmp(a->hostname, b->hostname) != 0 ||
	    strcmp(a->operator_user, b->operator_user) != 0 ||
	    strcmp(a->profile_name, b->profile_name) != 0 || a->ntags != b->ntags ||
	    a->nroutes != b->nroutes)
		return false;
	for (size_t i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i], b->tags[i]) != 0)
			return false;
	for (size_t i = 0; i < a->nroutes; i++)
		if (!netprefix_eq(&a->routes[i], &b->routes[i]))
			return false;
	return true;
}

/* ---- validators ----------------------------------------------------------------------- */

static bool ipn_label_ok(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

bool ipn_valid_hostname(const char *s, char *err, size_t errlen)
{
	if (s[0] == '\0' || ipn_label_ok(s, strlen(s)))
		return true;
	snprintf(err, errlen, "`%.80s' is not a valid hostname: 1-63 letters, digits or '-', "
			      "not starting or ending with '-'", s);
	return false;
}

bool ipn_valid_tag(const char *s, char *err, size_t errlen)
{
	if (strncmp(s, "tag:", 4) == 0 && ipn_label_ok(s + 4, strlen(s + 4)))
		return true;
	snprintf(err, errlen, "`%.80s' is not a valid tag: tags look like tag:name, where name "
			      "is 1-63 letters, digits or '-'", s);
	return false;
}

bool ipn_valid_control_url(const char *s, char *err, size_t errlen)
{
	const char *host;

	if (s[0] == '\0')
		return true;
	if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else
		host = NULL;
	if (host != NULL && *host != '\0' && *host != '/' && strlen(s) <= IPN_URL_MAX &&
	    strpbrk(s, " \t\r\n") == NULL)
		return true;
	snprintf(err, errlen, "`%.80s' is not a valid server URL: use http://HOST[:PORT] or "
			      "https://HOST[:PORT]", s);
	return false;
}

static bool ipn_valid_user(const char *s, char *err, size_t errlen)
{
	for (const char *c = s; *c != '\0'; c++) {
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.') {
			snprintf(err, errlen, "`%.64s' is not a valid user name", s);
			return false;
		}
	}
	return true;
}

/* ---- JSON ----------------------------------------------------------------------------- */

json_t *ipn_prefs_to_json(const struct ipn_prefs *p)
{
	json_t *o = json_object(), *tags = json_array(), *routes = json_array();
	char buf[NETPREFIX_STRLEN];
	int bad = o == NULL || tags == NULL || routes == NULL;

	for (size_t i = 0; !bad && i < p->ntags; i++)
		bad |= json_array_append_new(tags, json_string(p->tags[i]));
	for (size_t i = 0; !bad && i < p->nroutes; i++)
		bad |= json_array_append_new(routes, json_string(netprefix_format(&p->routes[i], buf,
										   sizeof(buf))));
	for (size_t i = 0; !bad && i < IPN_NFIELDS; i++) {
		const struct ipn_field *f = &ipn_fields[i];
		const char *base = (const char *)p + f->off;
		switch (f->kind) {
		case IPN_BOOL:
			bad |= json_object_set_new(o, f->name, json_boolean(*(const bool *)base));
			break;
		case IPN_STRING:
			bad |= json_object_set_new(o, f->name, json_string(base));
			break;
		case IPN_TAGS:
			bad |= json_object_set(o, f->name, tags);
			break;
		case IPN_ROUTES:
			bad |= json_object_set(o, f->name, routes);
			break;
		}
	}
	json_decref(tags);
	json_decref(routes);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const struct ipn_field *ipn_field_find(const char *name)
{
	for (size_t i = 0; i < IPN_NFIELDS; i++)
		if (strcmp(ipn_fields[i].name, name) == 0)
			return &ipn_fields[i];
	return NULL;
}

static int ipn_set_tags(struct ipn_prefs *p, const json_t *v, char *err, size_t errlen)
{
	size_t n = json_array_size(v), i;
	json_t *t;

	if (!json_is_array(v) || n > IPN_TAGS_MAX) {
		snprintf(err, errlen, "AdvertiseTags: want a list of at most %d tags", IPN_TAGS_MAX);
		return -EINVAL;
	}
	free(p->tags);
	p->tags = NULL;
	p->ntags = 0;
	if (n == 0)
		return 0;
	p->tags = calloc(n, sizeof(*p->tags));
	if (p->tags == NULL)
		return -ENOMEM;
	json_array_foreach(v, i, t) {
		const char *s = json_string_value(t);
		if (s == NULL || !ipn_valid_tag(s, err, errlen) || strlen(s) >= sizeof(*p->tags)) {
			if (s == NULL)
				snprintf(err, errlen, "AdvertiseTags: want strings");
			return -EINVAL;
		}
		snprintf(p->tags[i], sizeof(*p->tags), "%s", s);
		p->ntags++;
	}
	return 0;
}

static int ipn_set_routes(struct ipn_prefs *p, const json_t *v, char *err, size_t errlen)
{
	size_t n = json_array_size(v), i;
	json_t *t;

	if (!json_is_array(v) || n > IPN_ROUTES_MAX) {
		snprintf(err, errlen, "AdvertiseRoutes: want a list of at most %d prefixes",
			 IPN_ROUTES_MAX);
		return -EINVAL;
	}
	free(p->routes);
	p->routes = NULL;
	p->nroutes = 0;
	if (n == 0)
		return 0;
	p->routes = calloc(n, sizeof(*p->routes));
	if (p->routes == NULL)
		return -ENOMEM;
	json_array_foreach(v, i, t) {
		const char *s = json_string_value(t);
		int r = s != NULL ? netprefix_parse(s, &p->routes[i]) : -EINVAL;
		if (r < 0) {
			snprintf(err, errlen, "AdvertiseRoutes: `%.60s' is not a prefix%s",
				 s != NULL ? s : "(not a string)",
				 r == -EDOM ? " (host bits are set)" : "");
			return -EINVAL;
		}
		p->nroutes++;
	}
	return 0;
}

static int ipn_set_field(struct ipn_prefs *p, const struct ipn_field *f, const json_t *v, char *err,
			 size_t errlen)
{
	char *base = (char *)p + f->off;
	const char *s;

	switch (f->kind) {
	case IPN_BOOL:
		if (!json_is_boolean(v)) {
			snprintf(err, errlen, "%s: want true or false", f->name);
			return -EINVAL;
		}
		*(bool *)base = json_is_true(v);
		return 0;
	case IPN_STRING:
		s = json_string_value(v);
		if (s == NULL || strlen(s) >= f->cap) {
			snprintf(err, errlen, "%s: want a string of at most %zu characters", f->name,
				 f->cap - 1);
			return -EINVAL;
		}
		if (f->valid != NULL && !f->valid(s, err, errlen))
			return -EINVAL;
		memcpy(base, s, strlen(s) + 1);
		return 0;
	case IPN_TAGS:
		return ipn_set_tags(p, v, err, errlen);
	case IPN_ROUTES:
		return ipn_set_routes(p, v, err, errlen);
	}
	return -EINVAL;
}

int ipn_prefs_from_json(struct ipn_prefs *p, const json_t *j, char *err, size_t errlen)
{
	struct ipn_prefs tmp;
	const char *key;
	json_t *v;
	int r = 0;

	if (!json_is_object(j)) {
		snprintf(err, errlen, "prefs: want a JSON object");
		return -EINVAL;
	}
	ipn_prefs_init(&tmp);
	json_object_foreach((json_t *)j, key, v) {
		const struct ipn_field *f = ipn_field_find(key);
		if (f == NULL) {
			snprintf(err, errlen, "prefs: unknown field `%.40s'", key);
			r = -EINVAL;
			break;
		}
		r = ipn_set_field(&tmp, f, v, err, errlen);
		if (r < 0)
			break;
	}
	if (r < 0) {
		ipn_prefs_free(&tmp);
		return r;
	}
	ipn_prefs_free(p);
	*p = tmp;
	return 0;
}

int ipn_prefs_apply_masked(struct ipn_prefs *p, const json_t *masked, char *err, size_t errlen)
{
	struct ipn_prefs tmp;
	const char *key;
	json_t *v;
	int r;

	if (!json_is_object(masked)) {
		snprintf(err, errlen, "masked prefs: want a JSON object");
		return -EINVAL;
	}
	r = ipn_prefs_copy(&tmp, p);
	if (r < 0)
		return r;
	json_object_foreach((json_t *)masked, key, v) {
		size_t kl = strlen(key);
		const struct ipn_field *f;
		char name[64];

		if (kl > 3 && kl < sizeof(name) && strcmp(key + kl - 3, "Set") == 0) {
			/* "XSet": must be a boolean and name a field. */
			memcpy(name, key, kl - 3);
			name[kl - 3] = '\0';
			if (ipn_field_find(name) == NULL || !json_is_boolean(v)) {
				snprintf(err, errlen, "masked prefs: unknown field `%.40s'", key);
				r = -EINVAL;
				break;
			}
			continue;
		}
		f = ipn_field_find(key);
		if (f == NULL) {
			snprintf(err, errlen, "masked prefs: unknown field `%.40s'", key);
			r = -EINVAL;
			break;
		}
		snprintf(name, sizeof(name), "%sSet", key);
		if (!json_is_true(json_object_get(masked, name)))
			continue; /* present but not marked: ignored, as Tailscale does */
		r = ipn_set_field(&tmp, f, v, err, errlen);
		if (r < 0)
			break;
	}
	if (r < 0) {
		ipn_prefs_free(&tmp);
		return r;
	}
	ipn_prefs_free(p);
	*p = tmp;
	return 0;
}
