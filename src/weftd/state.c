/* SPDX-License-Identifier: ISC */
/* state: the state file's JSON, load and save (see state.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/atomicfile.h"
#include "core/mem.h"
#include "weftd/state.h"

#define STATE_VERSION 1

/* Private keys are written as "privkey:<hex>", Tailscale's text form for them. */
static json_t *state_privkey_json(const uint8_t k[static KEY_LEN])
{
	char hex[KEY_HEX_LEN], buf[8 + KEY_HEX_LEN];
	json_t *j;

	keys_hex_encode(hex, k);
	snprintf(buf, sizeof(buf), "privkey:%s", hex);
	j = json_string(buf);
	mem_wipe(hex, sizeof(hex));
	mem_wipe(buf, sizeof(buf));
	return j;
}

static int state_privkey_parse(const json_t *j, uint8_t k[static KEY_LEN])
{
	const char *s = json_string_value(j);

	if (s == NULL || strncmp(s, "privkey:", 8) != 0)
		return -EINVAL;
	return keys_hex_decode(k, s + 8);
}

static void state_profile_init(struct state_profile *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	uint8_t r[2];
	keys_random(r, sizeof(r));
	snprintf(p->id, sizeof(p->id), "%02x%02x", r[0], r[1]);
	snprintf(p->name, sizeof(p->name), "%s", name);
	keys_generate(p->node_key.b);
	ipn_prefs_init(&p->prefs);
}

static void state_profile_wipe(struct state_profile *p)
{
	ipn_prefs_free(&p->prefs);
	mem_wipe(p, sizeof(*p));
}

/* ---- to JSON -------------------------------------------------------------------------- */

static json_t *state_profile_json(const struct state_profile *p)
{
	json_t *o = json_object();
	char mkey[KEY_PREFIXED_MAX];
	int bad = o == NULL;

	bad |= json_object_set_new(o, "Name", json_string(p->name));
	bad |= json_object_set_new(o, "NodeKey", state_privkey_json(p->node_key.b));
	if (p->has_old_node_key)
		bad |= json_object_set_new(o, "OldNodeKey", state_privkey_json(p->old_node_key.b));
	bad |= json_object_set_new(o, "Prefs", ipn_prefs_to_json(&p->prefs));
	if (p->has_server_key)
		bad |= json_object_set_new(o, "ServerKey",
					   json_string(machine_public_format(&p->server_key, mkey,
									     sizeof(mkey))));
	bad |= json_object_set_new(o, "NodeID", json_integer((json_int_t)p->node_id));
	bad |= json_object_set_new(o, "UserID", json_integer((json_int_t)p->user_id));
	bad |= json_object_set_new(o, "UserLogin", json_string(p->user_login));
	bad |= json_object_set_new(o, "NodeName", json_string(p->node_name));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int state_save(const struct state *s)
{
	json_t *root = json_object(), *profiles = json_object();
	char *text = NULL;
	int r = -ENOMEM, bad = root == NULL || profiles == NULL;

	bad |= json_object_set_new(root, "Version", json_integer(STATE_VERSION));
	bad |= json_object_set_new(root, "MachineKey", state_privkey_json(s->machine_key.b));
	bad |= json_object_set_new(root, "CurrentProfile",
				   json_string(s->profiles[s->current].id));
	for (size_t i = 0; !bad && i < s->nprofiles; i++)
		bad |= json_object_set_new(profiles, s->profiles[i].id,
					   state_profile_json(&s->profiles[i]));
	bad |= json_object_set(root, "Profiles", profiles);
	if (!bad)
		text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text != NULL) {
		size_t len = strlen(text);
		r = atomicfile_write(s->path, text, len, 0600);
		mem_wipe(text, len);
		free(text);
	}
	json_decref(profiles);
	json_decref(root);
	return r;
}

/* ---- from JSON ------------------------------------------------------------------------ */

static int state_str(const json_t *o, const char *key, char *dst, size_t cap, bool required)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	if (v == NULL && !required)
		return 0;
	if (s == NULL || strlen(s) >= cap)
		return -EINVAL;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int state_u64(const json_t *o, const char *key, uint64_t *dst)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -EINVAL;
	*dst = (uint64_t)json_integer_value(v);
	return 0;
}

static int state_profile_parse(struct state_profile *p, const char *id, const json_t *o,
			       char *err, size_t errlen)
{
	json_t *v;
	char buf[KEY_PREFIXED_MAX];

	memset(p, 0, sizeof(*p));
	ipn_prefs_init(&p->prefs);
	if (strlen(id) != STATE_PROFILE_ID_LEN - 1 || !json_is_object(o)) {
		snprintf(err, errlen, "profile `%.16s': malformed", id);
		return -EINVAL;
	}
	memcpy(p->id, id, STATE_PROFILE_ID_LEN);
	if (state_str(o, "Name", p->name, sizeof(p->name), true) < 0 ||
	    state_privkey_parse(json_object_get(o, "NodeKey"), p->node_key.b) < 0 ||
	    state_u64(o, "NodeID", &p->node_id) < 0 || state_u64(o, "UserID", &p->user_id) < 0 ||
	    state_str(o, "UserLogin", p->user_login, sizeof(p->user_login), false) < 0 ||
	    state_str(o, "NodeName", p->node_name, sizeof(p->node_name), false) < 0) {
		snprintf(err, errlen, "profile %s: missing or malformed field", id);
		return -EINVAL;
	}
	if ((v = json_object_get(o, "OldNodeKey")) != NULL) {
		if (state_privkey_parse(v, p->old_node_key.b) < 0) {
			snprintf(err, errlen, "profile %s: malformed OldNodeKey", id);
			return -EINVAL;
		}
		p->has_old_node_key = true;
	}
	if ((v = json_object_get(o, "ServerKey")) != NULL) {
		if (state_str(o, "ServerKey", buf, sizeof(buf), true) < 0 ||
		    machine_public_parse(&p->server_key, buf) < 0) {
			snprintf(err, errlen, "profile %s: malformed ServerKey", id);
			return -EINVAL;
		}
		p->has_server_key = true;
	}
	if ((v = json_object_get(o, "Prefs")) != NULL) {
		char perr[200];
		if (ipn_prefs_from_json(&p->prefs, v, perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "profile %s: %s", id, perr);
			return -EINVAL;
		}
	}
	return 0;
}

static int state_parse(struct state *s, const json_t *root, char *err, size_t errlen)
{
	json_t *profiles = json_object_get(root, "Profiles"), *v;
	const char *cur = json_string_value(json_object_get(root, "CurrentProfile")), *id;
	size_t n = json_object_size(profiles), i = 0;

	if (!json_is_object(root) || json_integer_value(json_object_get(root, "Version")) !=
					     STATE_VERSION) {
		snprintf(err, errlen, "not a weftd state file (version %d expected)", STATE_VERSION);
		return -EINVAL;
	}
	if (state_privkey_parse(json_object_get(root, "MachineKey"), s->machine_key.b) < 0) {
		snprintf(err, errlen, "missing or malformed MachineKey");
		return -EINVAL;
	}
	if (!json_is_object(profiles) || n == 0 || n > STATE_PROFILES_MAX || cur == NULL) {
		snprintf(err, errlen, "missing or malformed Profiles or CurrentProfile");
		return -EINVAL;
	}
	s->profiles = calloc(n, sizeof(*s->profiles));
	if (s->profiles == NULL)
		return -ENOMEM;
	json_object_foreach(profiles, id, v) {
		int r = state_profile_parse(&s->profiles[i], id, v, err, errlen);
		s->nprofiles = ++i;
		if (r < 0)
			return r;
		if (strcmp(id, cur) == 0)
			s->current = i - 1;
	}
	if (strcmp(s->profiles[s->current].id, cur) != 0) {
		snprintf(err, errlen, "CurrentProfile %.16s does not exist", cur);
		return -EINVAL;
	}
	return 0;
}

int state_load(const char *path, struct state **out, char *err, size_t errlen)
{
	struct state *s;
	uint8_t *data = NULL;
	size_t len = 0;
	json_error_t je;
	json_t *root;
	int r;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	if (strlen(path) >= sizeof(s->path)) {
		free(s);
		return -ENAMETOOLONG;
	}
	strcpy(s->path, path);
	r = atomicfile_read(path, STATE_FILE_MAX, &data, &len);
	if (r == -ENOENT) {
		keys_generate(s->machine_key.b);
		s->profiles = calloc(1, sizeof(*s->profiles));
		if (s->profiles == NULL) {
			free(s);
			return -ENOMEM;
		}
		state_profile_init(&s->profiles[0], "default");
		s->nprofiles = 1;
		*out = s;
		return 0;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-r));
		free(s);
		return r;
	}
	root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
	mem_wipe(data, len);
	free(data);
	if (root == NULL) {
		snprintf(err, errlen, "%s: line %d: %s", path, je.line, je.text);
		state_free(s);
		return -EINVAL;
	}
	r = state_parse(s, root, err, errlen);
	json_decref(root);
	if (r < 0) {
		state_free(s);
		return r;
	}
	*out = s;
	return 0;
}

void state_free(struct state *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nprofiles; i++)
		state_profile_wipe(&s->profiles[i]);
	free(s->profiles);
	mem_wipe(s, sizeof(*s));
	free(s);
}

struct state_profile *state_current(struct state *s)
{
	return &s->profiles[s->current];
}

struct state_profile *state_find(struct state *s, const char *id_or_name)
{
	for (size_t i = 0; i < s->nprofiles; i++)
		if (strcmp(s->profiles[i].id, id_or_name) == 0)
			return &s->profiles[i];
	for (size_t i = 0; i < s->nprofiles; i++)
		if (strcmp(s->profiles[i].name, id_or_name) == 0)
			return &s->profiles[i];
	return NULL;
}

int state_profile_add(struct state *s, const char *name, struct state_profile **out)
{
	struct state_profile *np;

	*out = NULL;
	if (s->nprofiles >= STATE_PROFILES_MAX)
		return -E2BIG;
	if (strlen(name) > STATE_NAME_MAX)
		return -ENAMETOOLONG;
	np = realloc(s->profiles, (s->nprofiles + 1) * sizeof(*np));
	if (np == NULL)
		return -ENOMEM;
	s->profiles = np;
	/* state_find looks only at the first nprofiles: the new one is not among them yet. */
	do
		state_profile_init(&s->profiles[s->nprofiles], name);
	while (state_find(s, s->profiles[s->nprofiles].id) != NULL);
	*out = &s->profiles[s->nprofiles++];
	return 0;
}

int state_profile_switch(struct state *s, const struct state_profile *p)
{
	size_t i = (size_t)(p - s->profiles);

	if (i >= s->nprofiles)
		return -ENOENT;
	s->current = i;
	return 0;
}

int state_profile_remove(struct state *s, const struct state_profile *p)
{
	size_t i = (size_t)(p - s->profiles);

	if (i >= s->nprofiles)
		return -ENOENT;
	if (i == s->current)
		return -EBUSY;
	state_profile_wipe(&s->profiles[i]);
	memmove(&s->profiles[i], &s->profiles[i + 1], (s->nprofiles - i - 1) * sizeof(*p));
	s->nprofiles--;
	if (s->current > i)
		s->current--;
	return 0;
}

void state_profile_forget_login(struct state_profile *p)
{
	keys_generate(p->node_key.b);
	mem_wipe(&p->old_node_key, sizeof(p->old_node_key));
	p->has_old_node_key = false;
	p->node_id = 0;
	p->user_id = 0;
	p->user_login[0] = '\0';
	p->node_name[0] = '\0';
}
