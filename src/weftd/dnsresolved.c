/* SPDX-License-Identifier: ISC */
/* dnsresolved: systemd-resolved's link settings carried out with resolvectl (see dnsresolved.h). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "weftd/dnsresolved.h"

#define DNSRESOLVED_ERR_MAX 256
#define DNSRESOLVED_OUT_MAX 512 /* of a failing command's output, for the error */

struct dnsresolved {
	char prog[256];
	unsigned timeout_ms;
	struct dnsresolved_runner runner;
	char ifname[RESOLVED_IFNAME_MAX];
	struct resolved_link cur; /* in force while in_force */
	bool in_force;
	bool dirty; /* something of ours may be on the link */
	bool failed;
	struct resolved_script script; /* scratch, large */
	char settings[sizeof(((struct resolved_script *)0)->strings) + 1024];
	char err[DNSRESOLVED_ERR_MAX];
	char said[DNSRESOLVED_ERR_MAX]; /* the failure last logged */
};

/* ---- the real runner: fork + exec, output captured, bounded by a deadline ------------- */

/* The first line of a command's output, trimmed, for an error message. */
static void dnsresolved_first_line(char *s)
{
	size_t n = strcspn(s, "\n");

	s[n] = '\0';
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Reads the child's output until EOF or the deadline; true on EOF. */
static bool dnsresolved_drain(int fd, uint64_t deadline, char *out, size_t cap)
{
	size_t n = 0;

	for (;;) {
		uint64_t now = clock_mono_ns();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char sink[256];
		ssize_t k;
		int pr;

		if (now >= deadline)
			return false;
		pr = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return false; /* the deadline, or poll failing: the caller kills the child
				       */
		k = read(fd, n + 1 < cap ? out + n : sink,
			 n + 1 < cap ? cap - 1 - n : sizeof(sink));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return true;
		if (n + 1 < cap)
			n += (size_t)k;
		out[n] = '\0';
	}
}

static int dnsresolved_exec(void *arg, const char *const *argv, char *err, size_t errlen)
{
	/* A fixed environment: nothing of weftd's own reaches the child, and no pager or colours.
	 */
	static char e_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin", e_lc[] = "LC_ALL=C",
		    e_col[] = "SYSTEMD_COLORS=0", e_pager[] = "SYSTEMD_PAGER=";
	static char *const envp[] = { e_path, e_lc, e_col, e_pager, NULL };
	const struct dnsresolved *r = arg;
	posix_spawn_file_actions_t fa;
	char out[DNSRESOLVED_OUT_MAX] = "";
	int pfd[2] = { -1, -1 }, status = 0, rc;
	pid_t pid = -1;
	bool eof;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot run %s: pipe: %s", argv[0], strerror(-rc));
		return rc;
	}
	rc = posix_spawn_file_actions_init(&fa);
	if (rc == 0 &&
	    (rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, pfd[1], 1)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, pfd[1], 2)) == 0)
		rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(rc));
		close(pfd[0]);
		return -rc;
	}
	eof = dnsresolved_drain(pfd[0], clock_mono_ns() + (uint64_t)r->timeout_ms * 1000000, out,
				sizeof(out));
	close(pfd[0]);
	if (!eof)
		kill(pid, SIGKILL); /* our own child, by its pid */
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			rc = -errno;
			snprintf(err, errlen, "%s %s: cannot wait for it: %s", argv[0], argv[2],
				 strerror(-rc));
			return rc;
		}
	}
	dnsresolved_first_line(out);
	if (!eof) {
		snprintf(err, errlen, "%s %s: no answer within %u ms (is systemd-resolved stuck?)",
			 argv[0], argv[2], r->timeout_ms);
		return -ETIMEDOUT;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(err, errlen, "%s %s failed (exit %d): %s", argv[0], argv[2],
			 WEXITSTATUS(status), out[0] != '\0' ? out : "no output");
	else
		snprintf(err, errlen, "%s %s killed by signal %d", argv[0], argv[2],
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -EIO;
}

/* ---- the link --------------------------------------------------------------------------- */

int dnsresolved_new(const struct dnsresolved_config *c, struct dnsresolved **out)
{
	const char *prog = c != NULL && c->prog != NULL ? c->prog : DNSRESOLVED_PROG;
	struct dnsresolved *r;

	*out = NULL;
	if (prog[0] != '/' || strlen(prog) >= sizeof(r->prog))
		return -EINVAL; /* an absolute path: no PATH search as root */
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	memcpy(r->prog, prog, strlen(prog) + 1);
	r->timeout_ms = c != NULL && c->timeout_ms > 0 ? c->timeout_ms : DNSRESOLVED_TIMEOUT_MS;
	if (c != NULL && c->runner != NULL)
		r->runner = *c->runner;
	else
		r->runner = (struct dnsresolved_runner){ dnsresolved_exec, r };
	*out = r;
	return 0;
}

void dnsresolved_free(struct dnsresolved *r)
{
	free(r);
}

/* Records a failure; logs it unless it is the one logged last. */
static int dnsresolved_fail(struct dnsresolved *r, int rc)
{
	r->failed = true;
	if (strcmp(r->err, r->said) != 0) {
		log_warnx("dns: systemd-resolved: %s", r->err);
		memcpy(r->said, r->err, sizeof(r->said));
	}
	return rc;
}

static void dnsresolved_ok(struct dnsresolved *r)
{
	r->failed = false;
	r->err[0] = '\0';
	r->said[0] = '\0';
}

/* Runs the script's commands in order, stopping at the first failure. */
static int dnsresolved_run(struct dnsresolved *r)
{
	for (size_t i = 0; i < r->script.n; i++) {
		int rc;

		r->err[0] = '\0';
		rc = r->runner.run(r->runner.arg, r->script.argv[i], r->err, sizeof(r->err));
		if (rc < 0) {
			if (r->err[0] == '\0')
				snprintf(r->err, sizeof(r->err), "%s %s: %s", r->script.argv[i][0],
					 r->script.argv[i][2], strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int dnsresolved_set(struct dnsresolved *r, const struct resolved_link *l)
{
	int rc;

	if (r->in_force && resolved_link_equal(&r->cur, l))
		return 0;
	if ((rc = resolved_script_build(l, r->prog, &r->script)) < 0) {
		snprintf(r->err, sizeof(r->err), "cannot spell the settings for %s: %s", l->ifname,
			 strerror(-rc));
		return dnsresolved_fail(r, rc);
	}
	r->in_force = false;
	r->dirty = true; /* from the first command on, the link may carry something of ours */
	r->settings[0] = '\0';
	if ((rc = dnsresolved_run(r)) < 0)
		return dnsresolved_fail(r, rc);
	if ((rc = resolved_script_text(&r->script, r->settings, sizeof(r->settings))) < 0)
		r->settings[0] = '\0';
	r->cur = *l;
	r->in_force = true;
	dnsresolved_ok(r);
	log_info("dns: systemd-resolved: %s set: %zu servers, %zu domains, default route %s%s",
		 l->ifname, l->n_dns, l->n_domains, l->default_route ? "yes" : "no",
		 l->skipped > 0 ?
			 " (some domains left out: not hostname-shaped or over the limit)" :
			 "");
	return 0;
}

int dnsresolved_revert(struct dnsresolved *r)
{
	struct resolved_link l = { .action = RESOLVED_REVERT };
	int rc;

	if (!r->dirty)
		return 0;
	if (if_nametoindex(r->ifname) == 0) {
		/* The link is gone, and resolved dropped its settings with it. */
		r->dirty = r->in_force = false;
		r->settings[0] = '\0';
		dnsresolved_ok(r);
		return 0;
	}
	memcpy(l.ifname, r->ifname, sizeof(l.ifname));
	if ((rc = resolved_script_build(&l, r->prog, &r->script)) < 0 ||
	    (rc = dnsresolved_run(r)) < 0)
		return dnsresolved_fail(r, rc);
	r->dirty = r->in_force = false;
	r->settings[0] = '\0';
	dnsresolved_ok(r);
	log_info("dns: systemd-resolved: %s reverted", r->ifname);
	return 0;
}

int dnsresolved_apply(struct dnsresolved *r, const struct resolved_link *l)
{
	if (r->dirty && strcmp(r->ifname, l->ifname) != 0) {
		int rc = dnsresolved_revert(r); /* another interface: give the old one back first */
		if (rc < 0)
			return rc;
	}
	memcpy(r->ifname, l->ifname, sizeof(r->ifname));
	if (l->action == RESOLVED_REVERT)
		return dnsresolved_revert(r);
	return dnsresolved_set(r, l);
}

bool dnsresolved_in_force(const struct dnsresolved *r)
{
	return r->in_force;
}

bool dnsresolved_failed(const struct dnsresolved *r)
{
	return r->failed;
}

const char *dnsresolved_ifname(const struct dnsresolved *r)
{
	return r->ifname;
}

const char *dnsresolved_settings(const struct dnsresolved *r)
{
	return r->settings;
}

const char *dnsresolved_error(const struct dnsresolved *r)
{
	return r->err;
}
