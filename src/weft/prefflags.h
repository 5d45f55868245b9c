/* SPDX-License-Identifier: ISC */
/*
 * prefflags: the flags of `weft up`, `login` and `set` that are preferences
 * (Tailscale's names: --login-server is ControlURL, --accept-dns CorpDNS,
 * ...): their definitions, validation with messages naming the flag, the
 * JSON they become (full prefs for up, masked prefs for set), and up's
 * refusal to silently reset settings the user did not mention.
 */
#ifndef WEFT_CLI_PREFFLAGS_H
#define WEFT_CLI_PREFFLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cli/flags.h"

enum cli_pref {
	CLI_PREF_LOGIN_SERVER,
	CLI_PREF_ACCEPT_ROUTES,
	CLI_PREF_ACCEPT_DNS,
	CLI_PREF_SHIELDS_UP,
	CLI_PREF_SSH,
	CLI_PREF_HOSTNAME,
	CLI_PREF_ADVERTISE_TAGS,
	CLI_PREF_ADVERTISE_ROUTES,
	CLI_PREF_OPERATOR,
	CLI_PREF_NICKNAME,
	CLI_PREF_COUNT,
};

#define CLI_PREF_BIT(p) (1U << (p))
/* The prefs `weft up` owns: all but the nickname (which is login's and set's). */
#define CLI_PREFS_UP ((CLI_PREF_BIT(CLI_PREF_COUNT) - 1) & ~CLI_PREF_BIT(CLI_PREF_NICKNAME))
#define CLI_PREFS_LOGIN (CLI_PREFS_UP | CLI_PREF_BIT(CLI_PREF_NICKNAME))
#define CLI_PREFS_SET (CLI_PREFS_LOGIN & ~CLI_PREF_BIT(CLI_PREF_LOGIN_SERVER))

#define CLI_PREF_ERR_MAX 2048

struct cli_prefargs {
	bool b[CLI_PREF_COUNT];
	const char *s[CLI_PREF_COUNT];
	struct cli_flag *flag[CLI_PREF_COUNT]; /* where each one's definition went */
};

/* Sets defaults (as the flags' help shows them). */
void cli_prefargs_init(struct cli_prefargs *a);

/* Appends the definitions of the prefs in `mask` to flags[*n..cap). */
void cli_prefargs_flags(struct cli_prefargs *a, unsigned mask, struct cli_flag *flags, size_t *n,
			size_t cap);

/* Whether the user gave pref p on the command line. */
bool cli_prefargs_mentioned(const struct cli_prefargs *a, enum cli_pref p);
/* The prefs of `mask` the user gave, as a bit mask. */
unsigned cli_prefargs_mentioned_mask(const struct cli_prefargs *a, unsigned mask);

/*
 * The JSON field (Prefs name) of pref p and its value from the flags,
 * validated: hostnames DNS labels, tags tag:NAME (the prefix may be left
 * out), routes prefixes without host bits, the server an http(s) URL, the
 * operator an existing user. On error returns NULL with a message naming
 * the flag (``invalid --hostname `a_b': ...``).
 */
const char *cli_pref_field(enum cli_pref p);
json_t *cli_pref_value(const struct cli_prefargs *a, enum cli_pref p, char *err, size_t errlen);

/* Masked prefs ({"X": v, "XSet": true}) for every mentioned pref of `mask`; NULL on error. */
json_t *cli_prefargs_masked(const struct cli_prefargs *a, unsigned mask, char *err, size_t errlen);

/*
 * `weft up`'s prefs: the defaults with every mentioned pref of `mask` set
 * (a bare `up`, mentioning none and without `reset`, keeps `cur` instead);
 * WantRunning true, LoggedOut false, and the pref no up flag owns
 * (ProfileName) carried over from cur. NULL on a bad flag value (message
 * in err).
 */
json_t *cli_up_prefs(const json_t *cur, const struct cli_prefargs *a, unsigned mask, bool reset,
		     char *err, size_t errlen);

/*
 * Tailscale's check: an `up` that mentions some prefs must mention every
 * pref of `mask` whose current value is not the default, or it would reset
 * it silently. Returns 0 if fine; otherwise -EEXIST and msg names the flags
 * to restate and the complete command that keeps them:
 *
 *   `weft up' would reset settings you did not mention: --login-server, --hostname.
 *   Mention them, or pass --reset to go back to the defaults:
 *
 *   	weft up --hostname=spark --login-server=http://ctl:8080 --accept-routes
 */
int cli_up_check_reverts(const json_t *cur, const json_t *want, const struct cli_prefargs *a,
			 unsigned mask, const char *cmdname, char *msg, size_t msglen);

/*
 * Whether `up` need only edit prefs (Tailscale's "just edit"): the node is
 * Running, no re-authentication or auth key is asked for, and neither the
 * server nor the tags change, which are what registration depends on.
 */
bool cli_up_just_edit(const char *state, const json_t *cur, const json_t *want, bool force_reauth,
		      bool authkey);
/* Masked prefs that set every field of `prefs` ({"X": v, "XSet": true} for each X). */
json_t *cli_prefs_mask_all(const json_t *prefs);

/* One pref as the flag that sets it ("--accept-dns=false", "--advertise-tags=tag:a,tag:b"). */
void cli_pref_flag_text(enum cli_pref p, const json_t *v, char *buf, size_t len);

#endif
