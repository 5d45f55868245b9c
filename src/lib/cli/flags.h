/* SPDX-License-Identifier: ISC */
/*
 * flags: the command-line flag parser of weft and weft-server, Go's flag package
 * as Tailscale uses it:
 * `-x` and `--x` alike, `--x=V` or `--x V`, booleans `--x` and `--x=false`,
 * each flag at most once, `--` ends the flags. It parses user input, so a
 * bad word fails with one message naming the flag and the fix.
 */
#ifndef WEFT_CLI_FLAGS_H
#define WEFT_CLI_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cli_flag_kind {
	CLI_FLAG_BOOL,	   /* value: bool * */
	CLI_FLAG_STRING,   /* value: const char ** (points into argv) */
	CLI_FLAG_INT,	   /* value: int64_t *, within [min, max] */
	CLI_FLAG_DURATION, /* value: uint64_t * nanoseconds ("5s", "1m30s", "0") */
};

struct cli_flag {
	const char *name;  /* without dashes: "login-server", "c" */
	const char *alias; /* a second accepted name ("authkey" for "auth-key"), or NULL */
	enum cli_flag_kind kind;
	void *value;
	int64_t min, max; /* CLI_FLAG_INT only */
	const char *arg;  /* placeholder in the help: "URL" */
	const char *def;  /* default shown in the help, or NULL */
	const char *help;
	bool set; /* out: given on the command line */
};

enum cli_flags_result {
	CLI_FLAGS_ERROR = -1,
	CLI_FLAGS_OK = 0,
	CLI_FLAGS_HELP = 1, /* -h, -help or --help: print the usage */
};

#define CLI_FLAGS_ERR_MAX 256

/*
 * Parses the words after a command's name. Flags may come before, between
 * or after positional words (until `--`, after which every word is
 * positional); the positional words are moved, in order, to the front of
 * argv and their count stored in *npos. On CLI_FLAGS_ERROR, err holds one
 * line without a trailing newline ("unknown flag --foo").
 */
int cli_flags_parse(struct cli_flag *flags, size_t nflags, int argc, char **argv, size_t *npos,
		    char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Global flags before a subcommand: parses until the first positional word
 * (or `--`) and stores in *used how many words were consumed; argv is not
 * reordered.
 */
int cli_flags_parse_head(struct cli_flag *flags, size_t nflags, int argc, char **argv, size_t *used,
			 char *err, size_t errlen) __attribute__((warn_unused_result));

/* The FLAGS section of a command's help, in table order. */
void cli_flags_usage(FILE *fp, const struct cli_flag *flags, size_t nflags);

/* How a flag is written in messages: "--name", or "-c" for one-letter names. */
const char *cli_flag_dashes(const char *name);

#endif
