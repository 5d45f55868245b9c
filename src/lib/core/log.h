/* SPDX-License-Identifier: ISC */
/*
 * log: one format-checked logger for every weft program. Lines go to stderr as
 * logfmt (`ts=... level=... prog=... msg="..."`); anything reachable from the
 * network logs through the *_rl variants, rate-limited per call site.
 */
#ifndef WEFT_CORE_LOG_H
#define WEFT_CORE_LOG_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

/* Sets the program name and the most verbose level printed (default INFO). */
void log_init(const char *prog, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug" (Headscale's names; "trace" maps to debug). */
int log_level_parse(const char *s, enum log_level *out);

/* One JSON object per line instead of logfmt (log.format: json). */
void log_set_json(bool on);
/* Redirect output (tests); NULL restores stderr. */
void log_set_stream(FILE *fp);

void log_msg(enum log_level level, int errnum, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
_Noreturn void log_fatal(int errnum, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_warn(...) log_msg(LOG_LEVEL_WARN, errno, NULL, __VA_ARGS__)
#define log_warnx(...) log_msg(LOG_LEVEL_WARN, 0, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, 0, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, 0, NULL, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() >= LOG_LEVEL_DEBUG)                                            \
			log_msg(LOG_LEVEL_DEBUG, 0, NULL, __VA_ARGS__);                            \
	} while (0)
#define log_warn_f(...) log_msg(LOG_LEVEL_WARN, errno, __func__, __VA_ARGS__)
#define log_warnx_f(...) log_msg(LOG_LEVEL_WARN, 0, __func__, __VA_ARGS__)
#define fatal(...) log_fatal(errno, __func__, __VA_ARGS__)
#define fatalx(...) log_fatal(0, __func__, __VA_ARGS__)

/*
 * Per-call-site rate limit: at most LOG_RL_BURST lines per LOG_RL_INTERVAL_NS,
 * then one "suppressed N" line when the window reopens.
 */
struct log_ratelimit {
	_Atomic uint64_t window_start;
	_Atomic uint32_t count;
	_Atomic uint32_t suppressed;
};
#define LOG_RL_BURST 5
#define LOG_RL_INTERVAL_NS (5ULL * 1000000000ULL)
bool log_ratelimit_ok(struct log_ratelimit *rl);

#define log_rl(level, ...)                                                                         \
	do {                                                                                       \
		static struct log_ratelimit log_rl_site_;                                          \
		if (log_get_level() >= (level) && log_ratelimit_ok(&log_rl_site_))                 \
			log_msg((level), 0, NULL, __VA_ARGS__);                                    \
	} while (0)
#define log_warnx_rl(...) log_rl(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info_rl(...) log_rl(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug_rl(...) log_rl(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
