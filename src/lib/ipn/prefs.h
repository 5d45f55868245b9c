/* SPDX-License-Identifier: ISC */
/*
 * prefs: a profile's preferences (Tailscale's ipn.Prefs names) as one
 * struct, their JSON form, and "masked prefs" patches (`Field` plus
 * `FieldSet: true`) validated as a whole before anything changes. Shared by
 * weftd (stores and applies them) and weft (builds patches from flags).
 */
#ifndef WEFT_IPN_PREFS_H
#define WEFT_IPN_PREFS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/netaddr.h"

#define IPN_HOSTNAME_MAX 63
#define IPN_URL_MAX 2048
#define IPN_USER_MAX 64
#define IPN_PROFILE_NAME_MAX 64
#define IPN_TAGS_MAX 64
#define IPN_ROUTES_MAX 1024

struct ipn_prefs {
	char control_url[IPN_URL_MAX + 1];
	bool route_all;	   /* --accept-routes */
	bool corp_dns;	   /* --accept-dns */
	bool want_running; /* up / down */
	bool logged_out;
	bool shields_up;
	bool run_ssh;
	char hostname[IPN_HOSTNAME_MAX + 1]; /* "" = the OS hostname */
	char operator_user[IPN_USER_MAX + 1];
	char profile_name[IPN_PROFILE_NAME_MAX + 1];
	size_t ntags;
	char (*tags)[IPN_HOSTNAME_MAX + 5]; /* "tag:" + name */
	size_t nroutes;
	struct netprefix *routes;
};

/* Defaults as Tailscale's: accept DNS on, routes off, not running. */
void ipn_prefs_init(struct ipn_prefs *p);
void ipn_prefs_free(struct ipn_prefs *p);
int ipn_prefs_copy(struct ipn_prefs *dst, const struct ipn_prefs *src)
	__attribute__((warn_unused_result));
bool ipn_prefs_equal(const struct ipn_prefs *a, const struct ipn_prefs *b);

/* The JSON object of docs/LOCALAPI.md; NULL on ENOMEM. */
json_t *ipn_prefs_to_json(const struct ipn_prefs *p);
/*
 * Reads a full prefs object (missing fields keep their defaults). Unknown
 * fields and invalid values fail with a message in err (e.g. "Hostname:
 * `a_b' is not a DNS label").
 */
int ipn_prefs_from_json(struct ipn_prefs *p, const json_t *j, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/*
 * Applies masked prefs: for each `XSet: true`, field X from the object.
 * Validated in full on a copy first: on error *p is unchanged.
 */
int ipn_prefs_apply_masked(struct ipn_prefs *p, const json_t *masked, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Validators shared with the CLI's flag parsing; each writes a why on failure. */
bool ipn_valid_hostname(const char *s, char *err, size_t errlen);
bool ipn_valid_tag(const char *s, char *err, size_t errlen);
bool ipn_valid_control_url(const char *s, char *err, size_t errlen);

#endif
