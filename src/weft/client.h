/* SPDX-License-Identifier: ISC */
/*
 * client: the weft CLI's side of weftd's local API (docs/LOCALAPI.md):
 * HTTP/1.1 + JSON on a unix socket through libcurl, one blocking request at
 * a time, and the watch-ipn-bus stream read one notification at a time with
 * a deadline. Every failure comes back as one line that says what to do.
 */
#ifndef WEFT_CLI_CLIENT_H
#define WEFT_CLI_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CLI_CLIENT_ERR_MAX 512
/* Caps on what weftd may send: one answer, one watch notification. */
#define CLI_CLIENT_BODY_MAX (64U << 20)
#define CLI_CLIENT_LINE_MAX (16U << 20)
#define CLI_CLIENT_TIMEOUT_MS 30000

struct cli_client;
struct cli_watch;

/* Once per process, before any client (libcurl's global state). */
int cli_client_global_init(void) __attribute__((warn_unused_result));
void cli_client_global_cleanup(void);

int cli_client_new(const char *socket_path, struct cli_client **out)
	__attribute__((warn_unused_result));
void cli_client_free(struct cli_client *c);
/* Lowers the caps above (tests). */
void cli_client_set_limits(struct cli_client *c, size_t body_max, size_t line_max);

/*
 * One request: METHOD path (with its query), an optional JSON body text,
 * answered within timeout_ms (0: CLI_CLIENT_TIMEOUT_MS). On a 2xx answer
 * returns 0 and *out is its JSON (NULL when empty). Otherwise a negative
 * errno and err says why: the daemon's own message for 4xx/5xx (-EACCES for
 * 403, -ENOENT for 404, -EINVAL for 400, -EIO else), or how to reach weftd
 * (-ECONNREFUSED: not running, -EACCES: socket not accessible, -ETIMEDOUT).
 */
int cli_client_call_text(struct cli_client *c, const char *method, const char *path,
			 const char *body, uint64_t timeout_ms, json_t **out, char *err,
			 size_t errlen) __attribute__((warn_unused_result));
/* The same with a JSON body (may be NULL). */
int cli_client_call(struct cli_client *c, const char *method, const char *path, const json_t *body,
		    uint64_t timeout_ms, json_t **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Opens GET watch-ipn-bus; failures show up in the first cli_watch_next. */
int cli_watch_open(struct cli_client *c, struct cli_watch **out)
	__attribute__((warn_unused_result));
/*
 * The next notification (a JSON object), waiting until deadline_ns on the
 * monotonic clock (0: no deadline). -ETIMEDOUT at the deadline, -EPIPE when
 * weftd ended the stream, other errors as cli_client_call's.
 */
int cli_watch_next(struct cli_watch *w, uint64_t deadline_ns, json_t **out, char *err,
		   size_t errlen) __attribute__((warn_unused_result));
void cli_watch_free(struct cli_watch *w);

/*
 * The stream's framing, separate for tests and fuzzing: the length of the
 * first complete line in buf (without its '\n'), or -1 if there is none yet.
 */
long cli_line_find(const char *buf, size_t len);

#endif
