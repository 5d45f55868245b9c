/* SPDX-License-Identifier: ISC */
/*
 * state: weftd's persistent state in one JSON file (default
 * /var/lib/weft/state.json, 0600, written atomically so kill -9 at any point
 * leaves the old or the new file): the machine key, and per profile the
 * control URL, node keys, preferences and what the server told us about
 * ourselves. Private keys are held in memory only as long as the state is
 * and wiped when it is freed.
 */
#ifndef WEFT_WEFTD_STATE_H
#define WEFT_WEFTD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"
#include "ipn/prefs.h"

#define STATE_PROFILE_ID_LEN 5 /* 4 hex characters and a NUL, as Tailscale's */
#define STATE_NAME_MAX 64
#define STATE_FILE_MAX (4 << 20)
#define STATE_PROFILES_MAX 64

struct state_profile {
	char id[STATE_PROFILE_ID_LEN];
	char name[STATE_NAME_MAX + 1];
	struct node_private node_key;
	struct node_private old_node_key; /* set while a rotation is unconfirmed */
	bool has_old_node_key;
	struct ipn_prefs prefs;
	struct machine_public server_key; /* pinned after the first contact */
	bool has_server_key;
	uint64_t node_id;
	uint64_t user_id;
	char user_login[STATE_NAME_MAX * 2 + 1];
	char node_name[256]; /* our MagicDNS name */
};

struct state {
	char path[4096];
	struct machine_private machine_key;
	struct state_profile *profiles;
	size_t nprofiles;
	size_t current;
};

/*
 * Loads `path`, or starts a fresh state (new machine key, one empty profile
 * named "default") if it does not exist. A file that exists but cannot be
 * read or parsed is an error naming the file: weftd refuses to run on it
 * rather than silently making a new identity.
 */
int state_load(const char *path, struct state **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int state_save(const struct state *s) __attribute__((warn_unused_result));
void state_free(struct state *s);

struct state_profile *state_current(struct state *s);
/* Finds by ID or name; NULL if none. */
struct state_profile *state_find(struct state *s, const char *id_or_name);
/* A new profile (fresh node key, default prefs); it does not become current. */
int state_profile_add(struct state *s, const char *name, struct state_profile **out)
	__attribute__((warn_unused_result));
int state_profile_switch(struct state *s, const struct state_profile *p)
	__attribute__((warn_unused_result));
/* Removes a profile that is not current (-EBUSY if it is). */
int state_profile_remove(struct state *s, const struct state_profile *p)
	__attribute__((warn_unused_result));
/* Forgets the login (keeps prefs): new node key, no node ID or user. */
void state_profile_forget_login(struct state_profile *p);

#endif
