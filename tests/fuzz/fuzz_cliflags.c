/* SPDX-License-Identifier: ISC */
/*
 * fuzz_cliflags: arbitrary command lines (words separated by NUL bytes) through the CLI's
 * flag parser with every kind of flag and every preference flag, then through the
 * preference validation and up's reset check: never a crash, positional words always
 * a subset of the input in order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/flags.h"
#include "weft/prefflags.h"

#define MAX_WORDS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *argv[MAX_WORDS], *orig[MAX_WORDS], err[CLI_PREF_ERR_MAX];
	struct cli_flag flags[CLI_PREF_COUNT + 4];
	struct cli_prefargs pa;
	const char *s = NULL;
	bool b = false;
	int64_t c = 0;
	uint64_t d = 0;
	size_t n = 0, npos, used, w = 0;
	int argc = 0;
	json_t *cur, *want, *m;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t i = 0; i <= size && argc < MAX_WORDS; i++) {
		if (i == size || copy[i] == '\0') {
			copy[i] = '\0';
			argv[argc] = orig[argc] = copy + w;
			argc++;
			w = i + 1;
		}
	}
	cli_prefargs_init(&pa);
	cli_prefargs_flags(&pa, CLI_PREFS_LOGIN, flags, &n, CLI_PREF_COUNT);
	flags[n++] = (struct cli_flag){ .name = "b", .kind = CLI_FLAG_BOOL, .value = &b };
	flags[n++] = (struct cli_flag){
		.name = "s", .alias = "str", .kind = CLI_FLAG_STRING, .value = &s
	};
	flags[n++] = (struct cli_flag){
		.name = "c", .kind = CLI_FLAG_INT, .value = &c, .min = -5, .max = 1000
	};
	flags[n++] = (struct cli_flag){ .name = "timeout", .kind = CLI_FLAG_DURATION, .value = &d };

	if (cli_flags_parse_head(flags, n, argc, argv, &used, err, sizeof(err)) == CLI_FLAGS_OK &&
	    used > (size_t)argc)
		abort();
	if (cli_flags_parse(flags, n, argc, argv, &npos, err, sizeof(err)) == CLI_FLAGS_OK) {
		size_t j = 0;
		if (npos > (size_t)argc || c < -5 || c > 1000)
			abort();
		for (size_t i = 0; i < npos; i++) { /* positional words keep their order */
			while (j < (size_t)argc && orig[j] != argv[i])
				j++;
			if (j++ == (size_t)argc)
				abort();
		}
		m = cli_prefargs_masked(&pa, CLI_PREFS_LOGIN, err, sizeof(err));
		cur = json_pack("{s:s, s:b, s:s, s:[s]}", "ControlURL", "http://ctl", "CorpDNS", 0,
				"Hostname", "spark", "AdvertiseTags", "tag:a");
		want = cli_up_prefs(cur, &pa, CLI_PREFS_UP, false, err, sizeof(err));
		if (want != NULL)
			(void)cli_up_check_reverts(cur, want, &pa, CLI_PREFS_UP, "up", err,
						   sizeof(err));
		json_decref(want);
		json_decref(cur);
		json_decref(m);
	}
	free(copy);
	return 0;
}
