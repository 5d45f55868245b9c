/* SPDX-License-Identifier: ISC */
/*
 * log: logfmt lines on stderr, one write(2) per line so concurrent threads do
 * not interleave, with per-call-site rate limiting for network-reachable paths.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

static const char *log_prog = "weft";
static _Atomic int log_level_cur = LOG_LEVEL_INFO;
static FILE *log_stream;

static const char *const log_level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_init(const char *prog, enum log_level level)
{
	if (prog != NULL) {
		const char *slash = strrchr(prog, '/');
		log_prog = slash != NULL ? slash + 1 : prog;
	}
	log_level_cur = level;
}

void log_set_level(enum log_level level)
{
	log_level_cur = level;
}

enum log_level log_get_level(void)
{
	return (enum log_level)log_level_cur;
}

void log_set_stream(FILE *fp)
{
	log_stream = fp;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (strcmp(s, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "trace") == 0) {
		*out = LOG_LEVEL_DEBUG;
		return 0;
	}
	if (strcmp(s, "fatal") == 0 || strcmp(s, "panic") == 0) {
		*out = LOG_LEVEL_ERROR;
		return 0;
	}
	return -EINVAL;
}

/* Appends s to buf as the inside of a logfmt quoted value. */
static size_t log_quote(char *buf, size_t cap, size_t off, const char *s)
{
	for (; *s != '\0' && off + 3 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			buf[off++] = '\\';
			buf[off++] = (char)ch;
		} else if (ch == '\n') {
			buf[off++] = '\\';
			buf[off++] = 'n';
		} else if (ch < 0x20 || ch == 0x7f) {
			buf[off++] = '?';
		} else {
			buf[off++] = (char)ch;
		}
	}
	return off;
}

/* Appends s to buf as the inside of a JSON string (RFC 8259 escapes). */
static size_t log_quote_json(char *buf, size_t cap, size_t off, const char *s)
{
	for (; *s != '\0' && off + 7 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			buf[off++] = '\\';
			buf[off++] = (char)ch;
		} else if (ch == '\n') {
			buf[off++] = '\\';
			buf[off++] = 'n';
		} else if (ch < 0x20 || ch == 0x7f) {
			off += (size_t)snprintf(buf + off, cap - off, "\\u%04x", ch);
		} else {
			buf[off++] = (char)ch;
		}
	}
	return off;
}

static bool log_json;

void log_set_json(bool on)
{
	log_json = on;
}

static void log_vemit(enum log_level level, int errnum, const char *func, const char *fmt,
		      va_list ap) __attribute__((format(printf, 4, 0)));

static void log_vemit(enum log_level level, int errnum, const char *func, const char *fmt,
		      va_list ap)
{
	char msg[1024], line[2300];
	struct timespec ts;
	struct tm tm;
	size_t off;
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (log_json) {
		n = snprintf(line, sizeof(line),
			     "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\","
			     "\"prog\":\"%s\",\"message\":\"",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, ts.tv_nsec / 1000000, log_level_names[level], log_prog);
		off = n > 0 ? (size_t)n : 0;
		off = log_quote_json(line, sizeof(line), off, msg);
		if (func != NULL && off + 16 < sizeof(line))
			off += (size_t)snprintf(line + off, sizeof(line) - off, "\",\"func\":\"%s", func);
		if (errnum != 0 && off + 16 < sizeof(line)) {
			off += (size_t)snprintf(line + off, sizeof(line) - off, "\",\"error\":\"");
			off = log_quote_json(line, sizeof(line), off, strerror(errnum));
		}
		if (off > sizeof(line) - 4)
			off = sizeof(line) - 4;
		memcpy(line + off, "\"}", 2);
		off += 2;
		goto emit;
	}
	n = snprintf(line, sizeof(line),
		     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s prog=%s msg=\"",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, ts.tv_nsec / 1000000, log_level_names[level], log_prog);
	off = n > 0 ? (size_t)n : 0;
	off = log_quote(line, sizeof(line), off, msg);
	n = snprintf(line + off, sizeof(line) - off, "\"");
	off += n > 0 ? (size_t)n : 0;
	if (func != NULL && off < sizeof(line)) {
		n = snprintf(line + off, sizeof(line) - off, " func=%s", func);
		off += n > 0 ? (size_t)n : 0;
	}
	if (errnum != 0 && off < sizeof(line)) {
		n = snprintf(line + off, sizeof(line) - off, " error=\"%s\"", strerror(errnum));
		off += n > 0 ? (size_t)n : 0;
	}
	if (off >= sizeof(line) - 1)
		off = sizeof(line) - 2;
emit:
	line[off++] = '\n';
	if (log_stream != NULL) {
		fwrite(line, 1, off, log_stream);
		fflush(log_stream);
	} else {
		/* One write per line; a short write to stderr is not worth retrying. */
		ssize_t w = write(STDERR_FILENO, line, off);
		(void)w;
	}
}

void log_msg(enum log_level level, int errnum, const char *func, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if ((int)level > log_level_cur)
		return;
	va_start(ap, fmt);
	log_vemit(level, errnum, func, fmt, ap);
	va_end(ap);
	errno = saved;
}

void log_fatal(int errnum, const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, errnum, func, fmt, ap);
	va_end(ap);
	exit(1);
}

bool log_ratelimit_ok(struct log_ratelimit *rl)
{
	uint64_t now = clock_mono_ns();
	uint64_t start = atomic_load(&rl->window_start);

	if (start == 0 || now - start >= LOG_RL_INTERVAL_NS) {
		if (atomic_compare_exchange_strong(&rl->window_start, &start, now)) {
			uint32_t sup = atomic_exchange(&rl->suppressed, 0);
			atomic_store(&rl->count, 0);
			if (sup > 0)
				log_msg(LOG_LEVEL_WARN, 0, NULL,
					"rate limit: %u similar messages suppressed", sup);
		}
	}
	if (atomic_fetch_add(&rl->count, 1) < LOG_RL_BURST)
		return true;
	atomic_fetch_add(&rl->suppressed, 1);
	return false;
}
