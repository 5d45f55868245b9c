/* SPDX-License-Identifier: ISC */
/* flags: Go-style flag parsing for weft's command lines (see flags.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/numparse.h"
#include "cli/flags.h"

#define CLI_FLAG_NAME_MAX 64

const char *cli_flag_dashes(const char *name)
{
	return strlen(name) == 1 ? "-" : "--";
}

static struct cli_flag *cli_flag_find(struct cli_flag *flags, size_t n, const char *name,
				      size_t len)
{
	for (size_t i = 0; i < n; i++) {
		const char *a = flags[i].alias;
		if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
			return &flags[i];
		if (a != NULL && strlen(a) == len && strncmp(a, name, len) == 0)
			return &flags[i];
	}
	return NULL;
}

/* Stores `v` into f; on failure writes why into err. */
static int cli_flag_store(struct cli_flag *f, const char *v, char *err, size_t errlen)
{
	const char *d = cli_flag_dashes(f->name);
	uint64_t ns;
	int64_t i;
	bool b;

	switch (f->kind) {
	case CLI_FLAG_BOOL:
		if (numparse_bool(v, &b) < 0) {
			snprintf(err, errlen, "invalid %s%s `%.40s': want true or false", d,
				 f->name, v);
			return -EINVAL;
		}
		*(bool *)f->value = b;
		return 0;
	case CLI_FLAG_STRING:
		*(const char **)f->value = v;
		return 0;
	case CLI_FLAG_INT:
		if (numparse_i64(v, f->min, f->max, &i) < 0) {
			snprintf(err, errlen,
				 "invalid %s%s `%.40s': want a whole number from %lld to %lld", d,
				 f->name, v, (long long)f->min, (long long)f->max);
			return -EINVAL;
		}
		*(int64_t *)f->value = i;
		return 0;
	case CLI_FLAG_DURATION:
		if (numparse_duration_ns(v, &ns) < 0) {
			snprintf(err, errlen,
				 "invalid %s%s `%.40s': want a duration such as 30s, 2m or 1h30m",
				 d, f->name, v);
			return -EINVAL;
		}
		*(uint64_t *)f->value = ns;
		return 0;
	}
	return -EINVAL;
}

static int cli_flags_run(struct cli_flag *flags, size_t nflags, int argc, char **argv, bool head,
			 size_t *npos, char *err, size_t errlen)
{
	size_t w = 0;
	int i;

	err[0] = '\0';
	for (size_t k = 0; k < nflags; k++)
		flags[k].set = false;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *name, *eq;
		struct cli_flag *f;
		size_t len;

		if (a[0] != '-' || a[1] == '\0') {
			if (head)
				break;	     /* the command word: its flags are its own */
			argv[w++] = argv[i]; /* positional ("-" alone is one too) */
			continue;
		}
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		name = a + 1 + (a[1] == '-');
		eq = strchr(name, '=');
		len = eq != NULL ? (size_t)(eq - name) : strlen(name);
		if (len == 0 || name[0] == '-' || len > CLI_FLAG_NAME_MAX) {
			snprintf(err, errlen, "bad flag syntax: %.60s", a);
			return CLI_FLAGS_ERROR;
		}
		f = cli_flag_find(flags, nflags, name, len);
		if (f == NULL) {
			if ((len == 1 && name[0] == 'h') ||
			    (len == 4 && strncmp(name, "help", 4) == 0))
				return CLI_FLAGS_HELP;
			snprintf(err, errlen, "unknown flag %.*s", (int)(name - a + len), a);
			return CLI_FLAGS_ERROR;
		}
		if (f->set) {
			snprintf(err, errlen, "flag %s%s given more than once",
				 cli_flag_dashes(f->name), f->name);
			return CLI_FLAGS_ERROR;
		}
		if (eq != NULL) {
			if (cli_flag_store(f, eq + 1, err, errlen) < 0)
				return CLI_FLAGS_ERROR;
		} else if (f->kind == CLI_FLAG_BOOL) {
			/* Go reads `--x false` as --x and a word "false": say how to write it. */
			if (i + 1 < argc && (strcmp(argv[i + 1], "false") == 0 ||
					     strcmp(argv[i + 1], "true") == 0)) {
				snprintf(err, errlen,
					 "write %s%s=%s: a boolean flag takes its value after `='",
					 cli_flag_dashes(f->name), f->name, argv[i + 1]);
				return CLI_FLAGS_ERROR;
			}
			*(bool *)f->value = true;
		} else {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "flag %s%s needs a value (%s%s=%s)",
					 cli_flag_dashes(f->name), f->name,
					 cli_flag_dashes(f->name), f->name,
					 f->arg != NULL ? f->arg : "VALUE");
				return CLI_FLAGS_ERROR;
			}
			if (cli_flag_store(f, argv[++i], err, errlen) < 0)
				return CLI_FLAGS_ERROR;
		}
		f->set = true;
	}
	if (head) {
		*npos = (size_t)i; /* words consumed */
		return CLI_FLAGS_OK;
	}
	for (; i < argc; i++)
		argv[w++] = argv[i];
	*npos = w;
	return CLI_FLAGS_OK;
}

int cli_flags_parse(struct cli_flag *flags, size_t nflags, int argc, char **argv, size_t *npos,
		    char *err, size_t errlen)
{
	return cli_flags_run(flags, nflags, argc, argv, false, npos, err, errlen);
}

int cli_flags_parse_head(struct cli_flag *flags, size_t nflags, int argc, char **argv, size_t *used,
			 char *err, size_t errlen)
{
	return cli_flags_run(flags, nflags, argc, argv, true, used, err, errlen);
}

void cli_flags_usage(FILE *fp, const struct cli_flag *flags, size_t nflags)
{
	if (nflags == 0)
		return;
	fprintf(fp, "\nFLAGS\n");
	for (size_t i = 0; i < nflags; i++) {
		const struct cli_flag *f = &flags[i];
		const char *d = cli_flag_dashes(f->name);

		if (f->kind == CLI_FLAG_BOOL)
			fprintf(fp, "  %s%s, %s%s=false\n", d, f->name, d, f->name);
		else
			fprintf(fp, "  %s%s %s\n", d, f->name, f->arg != NULL ? f->arg : "VALUE");
		fprintf(fp, "        %s", f->help);
		if (f->def != NULL)
			fprintf(fp, " (default %s)", f->def);
		if (f->alias != NULL)
			fprintf(fp, " (also %s%s)", cli_flag_dashes(f->alias), f->alias);
		fputc('\n', fp);
	}
}
