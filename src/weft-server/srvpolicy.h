/* SPDX-License-Identifier: ISC */
/*
 * srvpolicy: the access policy of a running weft-server. Holds the policy in
 * force (from policy.path in file mode, re-read when the file changes, or
 * from the store in database mode), refuses a policy that does not parse or
 * whose tests fail against the live tailnet (the previous one stays), and
 * keeps the policy compiled against the state: users, nodes, tags,
 * addresses and routes become a policy_topology, recompiled when one of them
 * changes, and the mapper asks it for each node's packet filter and peers.
 * Without a policy everything is allowed and every node sees every other
 * (Tailscale's default); once one is set, what it does not allow is denied.
 */
#ifndef WEFT_SERVER_SRVPOLICY_H
#define WEFT_SERVER_SRVPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srv_config;
struct srv_state;
struct srv_policy;
struct srv_compiled;

#define SRV_POLICY_ERR_LEN 640

struct srv_policy_stats {
	uint64_t compiles;
	uint64_t compile_ns_last; /* topology + compile + comparison, the last time */
	uint64_t compile_ns_max;
	uint64_t reloads;	/* policies taken (set or file reload) */
	uint64_t refused;	/* policies refused (parse, tests, store) */
	uint64_t affected_last; /* nodes whose filter or peers changed, the last time */
};

/*
 * Loads the policy in force at start-up. An unreadable or invalid policy
 * file, or an invalid stored policy, stops start-up with the reason.
 */
int srv_policy_new(struct srv_state *st, const struct srv_config *cfg, struct srv_policy **out,
		   char *err, size_t errlen) __attribute__((warn_unused_result));
void srv_policy_free(struct srv_policy *p);

/* Whether a policy is in force (else everything is allowed). */
bool srv_policy_active(const struct srv_policy *p);
/* The text in force ("" when none) and when it was set (unix seconds, 0 unknown). */
const char *srv_policy_text(const struct srv_policy *p, int64_t *updated);
bool srv_policy_is_file_mode(const struct srv_policy *p);

/*
 * Parses `text` and runs its tests and sshTests against the current
 * tailnet. 0, or -EINVAL with err "LINE:COL: PATH: problem" (or the failing
 * assertion). *ntests and *nssh (may be NULL) get the assertion counts.
 */
int srv_policy_check(struct srv_policy *p, const char *text, size_t len, size_t *ntests,
		     size_t *nssh, char *err, size_t errlen) __attribute__((warn_unused_result));
/*
 * Checks `text` as srv_policy_check does and puts it in force: stored
 * first in database mode, -EPERM in file mode (edit the file instead).
 */
int srv_policy_set(struct srv_policy *p, const char *text, size_t len, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* File mode: re-reads policy.path when it changed (called once a second). */
void srv_policy_tick(struct srv_policy *p);

/* The state changed in a way the policy depends on (nodes, tags, users, routes). */
void srv_policy_mark_dirty(struct srv_policy *p);
bool srv_policy_is_dirty(const struct srv_policy *p);
/*
 * Brings the compilation up to date. When it changed, *prev gets the
 * previous one (NULL when there was none: everything was allowed) and the
 * caller frees it with srv_compiled_free once the nodes were told; returns
 * 1 then, 0 when nothing changed, or a negative errno (the old compilation
 * stays).
 */
int srv_policy_sync(struct srv_policy *p, struct srv_compiled **prev)
	__attribute__((warn_unused_result));
/* The compilation in force (NULL without a policy). */
struct srv_compiled *srv_policy_compiled(const struct srv_policy *p);
void srv_compiled_free(struct srv_compiled *c);

/* Node `id`'s index in c, or SIZE_MAX (not in it: a new or gone node). */
size_t srv_compiled_index(const struct srv_compiled *c, uint64_t id);
size_t srv_compiled_count(const struct srv_compiled *c);
uint64_t srv_compiled_id(const struct srv_compiled *c, size_t i);
bool srv_compiled_can_see(const struct srv_compiled *c, size_t i, size_t j);
/* Node i's PacketFilter as JSON text (cached; NULL on ENOMEM). */
const char *srv_compiled_filter(struct srv_compiled *c, size_t i, size_t *len);
/* Whether node i's filter, SSH rules or peers differ from the compilation before (or it is new). */
bool srv_compiled_changed(const struct srv_compiled *c, size_t i);

/*
 * Whether `tags` may be applied: by an administrator (`login` NULL), each
 * must be defined in the policy's tagOwners (anything goes without a
 * policy); advertised by a node of the user with `login`, that user must own
 * each, directly or through a group (nothing can be owned without a
 * policy). 0, or -EPERM with err naming the first tag refused and why.
 */
int srv_policy_tags_allowed(const struct srv_policy *p, char *const *tags, size_t n,
			    const char *login, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* The same for a node that already carries `owner_tags` (a tag may own other tags). */
int srv_policy_tags_allowed_by(const struct srv_policy *p, char *const *tags, size_t n,
			       const char *login, char *const *owner_tags, size_t n_owner,
			       char *err, size_t errlen) __attribute__((warn_unused_result));
/* The login a policy names a user by: its email, else its name ("ops@" for "ops"). */
void srv_policy_user_login(const char *name, const char *email, char *out, size_t len);

const struct srv_policy_stats *srv_policy_get_stats(const struct srv_policy *p);

#endif
