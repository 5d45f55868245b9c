/* SPDX-License-Identifier: ISC */
/* prefflags: preference flags and up's reset check (see prefflags.h). */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/netaddr.h"
#include "ipn/prefs.h"
#include "weft/prefflags.h"

struct cli_pref_def {
	const char *flag;
	const char *field;
	enum cli_flag_kind kind;
	const char *arg;
	const char *def;
	const char *help;
};

static const struct cli_pref_def cli_pref_defs[CLI_PREF_COUNT] = {
	[CLI_PREF_LOGIN_SERVER] = { "login-server", "ControlURL", CLI_FLAG_STRING, "URL", NULL,
				    "the weft-server to join (http:// or https:// URL)" },
	[CLI_PREF_ACCEPT_ROUTES] = { "accept-routes", "RouteAll", CLI_FLAG_BOOL, NULL, "false",
				     "accept the subnet routes other nodes advertise" },
	[CLI_PREF_ACCEPT_DNS] = { "accept-dns", "CorpDNS", CLI_FLAG_BOOL, NULL, "true",
				  "use the tailnet's DNS settings (MagicDNS)" },
	[CLI_PREF_SHIELDS_UP] = { "shields-up", "ShieldsUp", CLI_FLAG_BOOL, NULL, "false",
				  "refuse every incoming connection from the tailnet" },
	[CLI_PREF_SSH] = { "ssh", "RunSSH", CLI_FLAG_BOOL, NULL, "false",
			   "run weft's SSH server (stored; the server comes with its own issue)" },
	[CLI_PREF_HOSTNAME] = { "hostname", "Hostname", CLI_FLAG_STRING, "NAME", "the OS host name",
				"the name this node asks for in the tailnet (a DNS label)" },
	[CLI_PREF_ADVERTISE_TAGS] = { "advertise-tags", "AdvertiseTags", CLI_FLAG_STRING, "TAGS",
				      NULL,
				      "comma-separated tags for this node (tag:NAME; `tag:' may be "
				      "left out), as the policy's tagOwners allow" },
	[CLI_PREF_ADVERTISE_ROUTES] = { "advertise-routes", "AdvertiseRoutes", CLI_FLAG_STRING,
					"PREFIXES", NULL,
					"comma-separated subnet routes to offer, e.g. "
					"10.0.0.0/24,fd00::/64" },
	[CLI_PREF_OPERATOR] = { "operator", "OperatorUser", CLI_FLAG_STRING, "USER", NULL,
				"a local user who may change weft's settings without root" },
	[CLI_PREF_NICKNAME] = { "nickname", "ProfileName", CLI_FLAG_STRING, "NAME", NULL,
				"a name for this profile, for weft switch" },
};

void cli_prefargs_init(struct cli_prefargs *a)
{
	memset(a, 0, sizeof(*a));
	a->b[CLI_PREF_ACCEPT_DNS] = true;
}

void cli_prefargs_flags(struct cli_prefargs *a, unsigned mask, struct cli_flag *flags, size_t *n,
			size_t cap)
{
	for (int p = 0; p < CLI_PREF_COUNT; p++) {
		const struct cli_pref_def *d = &cli_pref_defs[p];
		struct cli_flag *f;

		if (!(mask & CLI_PREF_BIT(p)) || *n >= cap)
			continue;
		f = &flags[(*n)++];
		memset(f, 0, sizeof(*f));
		f->name = d->flag;
		f->kind = d->kind;
		f->value = d->kind == CLI_FLAG_BOOL ? (void *)&a->b[p] : (void *)&a->s[p];
		f->arg = d->arg;
		f->def = d->def;
		f->help = d->help;
		a->flag[p] = f;
	}
}

bool cli_prefargs_mentioned(const struct cli_prefargs *a, enum cli_pref p)
{
	return a->flag[p] != NULL && a->flag[p]->set;
}

unsigned cli_prefargs_mentioned_mask(const struct cli_prefargs *a, unsigned mask)
{
	unsigned m = 0;

	for (int p = 0; p < CLI_PREF_COUNT; p++)
		if ((mask & CLI_PREF_BIT(p)) && cli_prefargs_mentioned(a, p))
			m |= CLI_PREF_BIT(p);
	return m;
}

const char *cli_pref_field(enum cli_pref p)
{
	return cli_pref_defs[p].field;
}

/* Splits a comma-separated list into a JSON array, each word through `one`. */
static json_t *cli_list(const char *s, enum cli_pref p, size_t max,
			int (*one)(const char *word, json_t *out, char *err, size_t errlen),
			char *err, size_t errlen)
{
	json_t *a = json_array();
	const char *w = s;

	if (a == NULL)
		return NULL;
	while (*w != '\0') {
		const char *end = strchr(w, ',');
		size_t len = end != NULL ? (size_t)(end - w) : strlen(w);
		char word[128];

		while (len > 0 && (*w == ' ' || *w == '\t')) {
			w++;
			len--;
		}
		while (len > 0 && (w[len - 1] == ' ' || w[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= sizeof(word)) {
			snprintf(err, errlen, "invalid --%s `%.80s': %s", cli_pref_defs[p].flag, s,
				 len == 0 ? "an empty item in the list" : "an item is too long");
			goto fail;
		}
		memcpy(word, w, len);
		word[len] = '\0';
		if (json_array_size(a) >= max) {
			snprintf(err, errlen, "invalid --%s: more than %zu items",
				 cli_pref_defs[p].flag, max);
			goto fail;
		}
		if (one(word, a, err, errlen) < 0)
			goto fail;
		if (end == NULL)
			break;
		w = end + 1;
		if (*w == '\0') {
			snprintf(err, errlen, "invalid --%s `%.80s': an empty item in the list",
				 cli_pref_defs[p].flag, s);
			goto fail;
		}
	}
	return a;
fail:
	json_decref(a);
	return NULL;
}

static int cli_one_tag(const char *word, json_t *out, char *err, size_t errlen)
{
	char tag[160], why[256];

	snprintf(tag, sizeof(tag), "%s%s", strncmp(word, "tag:", 4) == 0 ? "" : "tag:", word);
	if (!ipn_valid_tag(tag, why, sizeof(why))) {
		snprintf(err, errlen, "invalid --advertise-tags: %s", why);
		return -EINVAL;
	}
	return json_array_append_new(out, json_string(tag)) < 0 ? -ENOMEM : 0;
}

static int cli_one_route(const char *word, json_t *out, char *err, size_t errlen)
{
	struct netprefix pfx;
	char buf[NETPREFIX_STRLEN];
	/* a prefix needs its length: a bare address is refused, as Tailscale does */
	int r = strchr(word, '/') != NULL ? netprefix_parse(word, &pfx) : -EINVAL;

	if (r == -EDOM) {
		struct netprefix loose;
		if (netprefix_parse_loose(word, &loose) == 0)
			snprintf(err, errlen,
				 "invalid --advertise-routes `%s': host bits are set (%s?)", word,
				 netprefix_format(&loose, buf, sizeof(buf)));
		else
			snprintf(err, errlen, "invalid --advertise-routes `%s': host bits are set",
				 word);
		return -EINVAL;
	}
	if (r == -ERANGE) {
		snprintf(err, errlen, "invalid --advertise-routes `%s': prefix length must be %s",
			 word, strchr(word, ':') != NULL ? "0-128" : "0-32");
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(err, errlen,
			 "invalid --advertise-routes `%s': want a prefix such as 10.0.0.0/24",
			 word);
		return -EINVAL;
	}
	return json_array_append_new(out, json_string(netprefix_format(&pfx, buf, sizeof(buf)))) <
			       0 ?
		       -ENOMEM :
		       0;
}

static bool cli_valid_operator(const char *s, char *err, size_t errlen)
{
	if (s[0] == '\0')
		return true; /* clears it */
	for (const char *c = s; *c != '\0'; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.') ||
		    c - s >= IPN_USER_MAX) {
			snprintf(err, errlen, "invalid --operator `%.64s': not a user name", s);
			return false;
		}
	}
	if (getpwnam(s) == NULL) {
		snprintf(err, errlen, "invalid --operator `%.64s': no such user on this machine",
			 s);
		return false;
	}
	return true;
}

json_t *cli_pref_value(const struct cli_prefargs *a, enum cli_pref p, char *err, size_t errlen)
{
	const char *s = a->s[p] != NULL ? a->s[p] : "";
	char why[512];

	switch (p) {
	case CLI_PREF_ACCEPT_ROUTES:
	case CLI_PREF_ACCEPT_DNS:
	case CLI_PREF_SHIELDS_UP:
	case CLI_PREF_SSH:
		return json_boolean(a->b[p]);
	case CLI_PREF_LOGIN_SERVER:
		if (!ipn_valid_control_url(s, why, sizeof(why))) {
			snprintf(err, errlen, "invalid --login-server: %s", why);
			return NULL;
		}
		return json_string(s);
	case CLI_PREF_HOSTNAME:
		if (!ipn_valid_hostname(s, why, sizeof(why))) {
			snprintf(err, errlen, "invalid --hostname: %s", why);
			return NULL;
		}
		return json_string(s);
	case CLI_PREF_ADVERTISE_TAGS:
		return cli_list(s, p, IPN_TAGS_MAX, cli_one_tag, err, errlen);
	case CLI_PREF_ADVERTISE_ROUTES:
		return cli_list(s, p, IPN_ROUTES_MAX, cli_one_route, err, errlen);
	case CLI_PREF_OPERATOR:
		if (!cli_valid_operator(s, err, errlen))
			return NULL;
		return json_string(s);
	case CLI_PREF_NICKNAME:
		if (strlen(s) > IPN_PROFILE_NAME_MAX) {
			snprintf(err, errlen, "invalid --nickname: at most %d characters",
				 IPN_PROFILE_NAME_MAX);
			return NULL;
		}
		for (const char *c = s; *c != '\0'; c++) {
			if ((unsigned char)*c < 0x20 || *c == 0x7f) {
				snprintf(err, errlen, "invalid --nickname: no control characters");
				return NULL;
			}
		}
		return json_string(s);
	case CLI_PREF_COUNT:
		break;
	}
	snprintf(err, errlen, "unknown preference");
	return NULL;
}

json_t *cli_prefargs_masked(const struct cli_prefargs *a, unsigned mask, char *err, size_t errlen)
{
	json_t *m = json_object();
	char set[64];

	if (m == NULL)
		return NULL;
	for (int p = 0; p < CLI_PREF_COUNT; p++) {
		json_t *v;
		if (!(mask & CLI_PREF_BIT(p)) || !cli_prefargs_mentioned(a, p))
			continue;
		v = cli_pref_value(a, p, err, errlen);
		if (v == NULL) {
			json_decref(m);
			return NULL;
		}
		snprintf(set, sizeof(set), "%sSet", cli_pref_defs[p].field);
		json_object_set_new(m, cli_pref_defs[p].field, v);
		json_object_set_new(m, set, json_true());
	}
	return m;
}

static json_t *cli_default_prefs(void)
{
	struct ipn_prefs d;
	json_t *j;

	ipn_prefs_init(&d);
	j = ipn_prefs_to_json(&d);
	ipn_prefs_free(&d);
	return j;
}

json_t *cli_up_prefs(const json_t *cur, const struct cli_prefargs *a, unsigned mask, bool reset,
		     char *err, size_t errlen)
{
	unsigned m = cli_prefargs_mentioned_mask(a, mask);
	const json_t *pn;
	json_t *want;

	if (m == 0 && !reset && json_is_object(cur)) {
		want = json_deep_copy(cur); /* a bare `up`: bring it up as it is */
	} else {
		want = cli_default_prefs();
		for (int p = 0; want != NULL && p < CLI_PREF_COUNT; p++) {
			json_t *v;
			if (!(m & CLI_PREF_BIT(p)))
				continue;
			v = cli_pref_value(a, p, err, errlen);
			if (v == NULL) {
				json_decref(want);
				return NULL;
			}
			json_object_set_new(want, cli_pref_defs[p].field, v);
		}
		pn = json_object_get(cur, "ProfileName");
		if (want != NULL && json_is_string(pn) && !(m & CLI_PREF_BIT(CLI_PREF_NICKNAME)))
			json_object_set(want, "ProfileName", (json_t *)pn);
	}
	if (want == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_object_set_new(want, "WantRunning", json_true());
	json_object_set_new(want, "LoggedOut", json_false());
	return want;
}

/* Shell-quotes s if it needs it, onto buf. */
static void cli_shell_word(const char *s, char *buf, size_t len)
{
	size_t n = strlen(buf);
	bool plain = true; /* "--hostname=" needs no quotes to be empty */

	for (const char *c = s; *c != '\0'; c++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@,+=-",
			   *c) == NULL)
			plain = false;
	if (plain) {
		snprintf(buf + n, len - n, "%s", s);
		return;
	}
	if (n + 1 < len)
		buf[n++] = '\'';
	for (const char *c = s; *c != '\0' && n + 5 < len; c++) {
		if (*c == '\'') {
			memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else {
			buf[n++] = *c;
		}
	}
	if (n + 1 < len)
		buf[n++] = '\'';
	buf[n < len ? n : len - 1] = '\0';
}

void cli_pref_flag_text(enum cli_pref p, const json_t *v, char *buf, size_t len)
{
	const struct cli_pref_def *d = &cli_pref_defs[p];
	char val[1024] = "";
	const json_t *e;
	size_t i;

	if (d->kind == CLI_FLAG_BOOL) {
		snprintf(buf, len, "--%s%s", d->flag, json_is_true(v) ? "" : "=false");
		return;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			size_t n = strlen(val);
			snprintf(val + n, sizeof(val) - n, "%s%s", i > 0 ? "," : "",
				 json_is_string(e) ? json_string_value(e) : "");
		}
	} else {
		snprintf(val, sizeof(val), "%s", json_is_string(v) ? json_string_value(v) : "");
	}
	snprintf(buf, len, "--%s=", d->flag);
	cli_shell_word(val, buf, len);
}

int cli_up_check_reverts(const json_t *cur, const json_t *want, const struct cli_prefargs *a,
			 unsigned mask, const char *cmdname, char *msg, size_t msglen)
{
	unsigned m = cli_prefargs_mentioned_mask(a, mask), missing = 0;
	json_t *d;
	char names[512] = "", cmd[2048], word[1100];

	msg[0] = '\0';
	if (m == 0)
		return 0; /* a bare `up` changes nothing */
	d = cli_default_prefs();
	if (d == NULL)
		return -ENOMEM;
	for (int p = 0; p < CLI_PREF_COUNT; p++) {
		const char *f = cli_pref_defs[p].field;
		const json_t *cv = json_object_get(cur, f);
		if (!(mask & CLI_PREF_BIT(p)) || (m & CLI_PREF_BIT(p)) || cv == NULL)
			continue;
		if (!json_equal(cv, json_object_get(d, f)))
			missing |= CLI_PREF_BIT(p);
	}
	json_decref(d);
	if (missing == 0)
		return 0;
	snprintf(cmd, sizeof(cmd), "weft %s", cmdname);
	for (int p = 0; p < CLI_PREF_COUNT; p++) {
		const char *f = cli_pref_defs[p].field;
		size_t n;
		if (m & CLI_PREF_BIT(p)) {
			cli_pref_flag_text(p, json_object_get(want, f), word, sizeof(word));
		} else if (missing & CLI_PREF_BIT(p)) {
			cli_pref_flag_text(p, json_object_get(cur, f), word, sizeof(word));
			n = strlen(names);
			snprintf(names + n, sizeof(names) - n, "%s--%s", n > 0 ? ", " : "",
				 cli_pref_defs[p].flag);
		} else {
			continue;
		}
		n = strlen(cmd);
		snprintf(cmd + n, sizeof(cmd) - n, " %s", word);
	}
	snprintf(msg, msglen,
		 "`weft %s' would reset settings you did not mention: %s.\n"
		 "Mention them, or pass --reset to go back to the defaults:\n\n\t%s\n",
		 cmdname, names, cmd);
	return -EEXIST;
}

bool cli_up_just_edit(const char *state, const json_t *cur, const json_t *want, bool force_reauth,
		      bool authkey)
{
	return strcmp(state, "Running") == 0 && !force_reauth && !authkey &&
	       json_equal(json_object_get(cur, "ControlURL"),
			  json_object_get(want, "ControlURL")) &&
	       json_equal(json_object_get(cur, "AdvertiseTags"),
			  json_object_get(want, "AdvertiseTags"));
}

json_t *cli_prefs_mask_all(const json_t *prefs)
{
	json_t *m = json_object(), *v;
	const char *k;
	char set[80];

	json_object_foreach((json_t *)prefs, k, v) {
		if (m == NULL || strlen(k) + 4 > sizeof(set))
			continue;
		snprintf(set, sizeof(set), "%sSet", k);
		json_object_set(m, k, v);
		json_object_set_new(m, set, json_true());
	}
	return m;
}
